"""Settings doctor reads (flags, env, ~/.databrickscfg, dbt targets) and the problems it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from brickauth.doctor.plan import Plan, build_plan
from brickauth.doctor.sources import gather
from brickauth.errors import ConfigurationError

GUID = "0a1b2c3d-1111-2222-3333-444455556666"
TENANT = "a1b2c3d4-0000-1111-2222-333344445555"
HOST = "adb-1234567890123456.7.azuredatabricks.net"
BASE = {
    "DATABRICKS_HOST": HOST,
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/1234567890abcdef",
    "AZURE_TENANT_ID": TENANT,
    "AZURE_CLIENT_ID": GUID,
    "AZURE_CLIENT_SECRET": "Abc8Q~abcdefghijklmnopqrstuvwxyz0123456",
}
NO_CFG = Path("/nonexistent/.databrickscfg")


def plan_for(env: dict[str, str], **explicit: str) -> Plan:
    return build_plan(gather(explicit, env=env, config_file=NO_CFG))


def causes(plan: Plan) -> list[str]:
    return [p.cause_id for p in plan.host_problems + plan.path_problems + plan.auth_problems]


def test_a_good_azure_m2m_configuration_has_no_problem() -> None:
    plan = plan_for(BASE)
    assert causes(plan) == []
    assert (plan.auth_type, plan.cloud, plan.warehouse_id) == ("azure-m2m", "azure", "1234567890abcdef")
    assert plan.authority_host == "https://login.microsoftonline.com"
    assert (
        plan.source("client_secret") == "not set"
        and plan.source("azure_client_secret") == "env:AZURE_CLIENT_SECRET"
    )


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        (
            {"AZURE_CLIENT_SECRET": "6f1c2e3d-4b5a-4c6d-9e8f-7a6b5c4d3e2f"},
            "config.secret_id_instead_of_value",
        ),
        (
            {"AZURE_CLIENT_SECRET": "dose0123456789abcdef0123456789abcdef"},
            "config.databricks_secret_sent_to_entra",
        ),
        ({"DATABRICKS_HOST": "accounts.azuredatabricks.net"}, "config.account_console_host"),
        ({"DATABRICKS_HOST": f'"{HOST}"'}, "config.quoted_value"),
        ({"DATABRICKS_HOST": f"https://{HOST}/?o=123"}, "config.host_malformed"),
        ({"DATABRICKS_HTTP_PATH": "/sql/1.0/warehouse/xyz"}, "config.http_path_malformed"),
        (
            {"DATABRICKS_HTTP_PATH": f"https://{HOST}/sql/1.0/warehouses/1234567890abcdef"},
            "config.http_path_malformed",
        ),
        ({"AZURE_TENANT_ID": "not a tenant!"}, "entra.tenant_malformed"),
        ({"AZURE_TENANT_ID": "common"}, "entra.no_tenant_in_request"),
        ({"AZURE_CLIENT_ID": "my-app"}, "entra.app_not_found"),
        ({"DATABRICKS_TOKEN": "dapi0123456789abcdef0123456789abcdef"}, "config.multiple_auth_methods"),
        ({"DATABRICKS_HOST": "adb-1.2.databricks.azure.cn"}, "entra.wrong_cloud"),
        ({"DATABRICKS_HOST": ""}, "config.missing_setting"),
    ],
)
def test_each_bad_setting_is_named(change: dict[str, str], cause: str) -> None:
    env = {**BASE, **change}
    if cause == "entra.wrong_cloud":
        env["AZURE_AUTHORITY_HOST"] = "https://login.microsoftonline.com"
    assert cause in causes(plan_for(env))


def test_entra_secret_sent_to_databricks() -> None:
    env = {
        "DATABRICKS_HOST": HOST,
        "DATABRICKS_CLIENT_ID": GUID,
        "DATABRICKS_CLIENT_SECRET": "Abc8Q~abcdefghijklmnopqrstuvwxyz0123456",
    }
    plan = plan_for(env)
    assert plan.auth_type == "databricks-m2m"
    assert causes(plan) == [
        "config.missing_setting",
        "config.entra_secret_sent_to_databricks",
    ]  # no http_path


def test_sovereign_cloud_picks_its_authority() -> None:
    plan = plan_for({**BASE, "DATABRICKS_HOST": "adb-1.2.databricks.azure.us"})
    assert (plan.cloud, plan.authority_host) == ("azure-usgov", "https://login.microsoftonline.us")


def test_databrickscfg_profile(tmp_path: Path) -> None:
    cfg = tmp_path / ".databrickscfg"
    cfg.write_text(
        f"[ci]\nhost = {HOST}\nclient_id = {GUID}\nclient_secret = dose0123456789abcdef\n"
        "warehouse_id = 1234567890abcdef\n"
    )
    raw = gather({}, env={}, config_file=cfg, config_profile="ci")
    plan = build_plan(raw)
    assert (plan.auth_type, plan.http_path) == ("databricks-m2m", "/sql/1.0/warehouses/1234567890abcdef")
    assert raw.sources["databricks_client_secret"] == "config:.databrickscfg[ci].client_secret"
    with pytest.raises(ConfigurationError, match=r"(?i)profile 'nope' .*is not in"):
        gather({}, env={}, config_file=cfg, config_profile="nope")


PROFILES = """
analytics:
  target: dev
  outputs:
    dev:
      type: brickauth
      auth_type: azure-m2m
      host: "{{ env_var('DBT_HOST') }}"
      http_path: /sql/1.0/warehouses/1234567890abcdef
      tenant_id: "{{ env_var('AZURE_TENANT_ID') }}"
      client_id: "{{ env_var('AZURE_CLIENT_ID') }}"
      client_secret: "{{ env_var('AZURE_CLIENT_SECRET') }}"
      catalog: main
      schema: "{{ env_var('DBT_SCHEMA', 'analytics') }}"
    legacy:
      type: databricks
      auth_type: oauth
      host: @@HOST@@
      http_path: /sql/1.0/warehouses/1234567890abcdef
      client_id: "{{ env_var('DATABRICKS_CLIENT_ID') }}"
      client_secret: "{{ env_var('DATABRICKS_CLIENT_SECRET') }}"
      schema: analytics
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "profiles.yml").write_text(PROFILES.replace("@@HOST@@", HOST))
    (tmp_path / "dbt_project.yml").write_text("name: demo\nprofile: analytics\n")
    return tmp_path


def test_dbt_target_of_type_brickauth_renders_env_var(project: Path) -> None:
    env = {
        "DBT_HOST": HOST,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": GUID,
        "AZURE_CLIENT_SECRET": "x~secret",
    }
    raw = gather({}, env=env, dbt_target="dev", profiles_dir=project, project_dir=project)
    plan = build_plan(raw)
    assert (plan.auth_type, plan.hostname, plan.catalog, plan.schema) == (
        "azure-m2m",
        HOST,
        "main",
        "analytics",
    )
    assert plan.client_secret is not None and plan.client_secret.reveal() == "x~secret"
    assert raw.sources["azure_client_secret"].endswith("analytics.dev.client_secret")
    assert "x~secret" not in repr(raw.public())


def test_dbt_target_of_type_databricks_oauth_is_databricks_m2m(project: Path) -> None:
    env = {"DATABRICKS_CLIENT_ID": GUID, "DATABRICKS_CLIENT_SECRET": "dose0123456789abcdef"}
    plan = build_plan(gather({}, env=env, dbt_target="legacy", profiles_dir=project, project_dir=project))
    assert (plan.auth_type, plan.client_id) == ("databricks-m2m", GUID)


def test_dbt_env_var_missing_is_a_finding_not_a_crash(project: Path) -> None:
    env = {"DBT_HOST": HOST, "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": GUID}
    plan = build_plan(gather({}, env=env, dbt_target="dev", profiles_dir=project, project_dir=project))
    assert "config.dbt_env_var_missing" in causes(plan)


def test_dbt_unknown_target_or_profile_is_a_usage_error(project: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not have a target named 'prod'"):
        gather({}, env={}, dbt_target="prod", profiles_dir=project, project_dir=project)
    with pytest.raises(ConfigurationError, match="Could not find profile named 'other'"):
        gather({}, env={}, dbt_target="dev", dbt_profile="other", profiles_dir=project, project_dir=project)


def test_the_dbt_key_lists_match_the_adapter_and_dbt_databricks() -> None:
    """doctor flags the keys dbt refuses without importing dbt (seconds): its lists are the adapter's
    (read from its source) and dbt-databricks' credentials fields."""
    import ast
    import importlib.util

    from brickauth.doctor import sources

    adapter = Path(__file__).parents[2] / "plugin/dbt/adapters/brickauth/credentials.py"
    tree = ast.parse(adapter.read_text())
    tables = {
        node.target.id if isinstance(node, ast.AnnAssign) else node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict)
    }
    assert {ast.literal_eval(k) for k in tables["SETTING_KEYS"].keys} == sources.BRICKAUTH_PROFILE_KEYS
    assert {ast.literal_eval(k) for k in tables["REPLACED_KEYS"].keys} == sources.BRICKAUTH_REPLACED_KEYS
    spec = importlib.util.find_spec("dbt.adapters.databricks")
    if spec is None or not spec.submodule_search_locations:
        return
    source = Path(next(iter(spec.submodule_search_locations))) / "credentials.py"
    [cls] = [
        n for n in ast.parse(source.read_text()).body
        if isinstance(n, ast.ClassDef) and n.name == "DatabricksCredentials"
    ]  # fmt: skip
    names = {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    aliases = next(
        n.value for n in cls.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "_ALIASES"
    )  # fmt: skip
    names |= set(ast.literal_eval(aliases))
    assert {n for n in names if not n.startswith("_")} <= sources.DBT_DATABRICKS_FIELDS
