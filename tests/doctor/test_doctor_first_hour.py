"""`brickauth doctor` as a new user meets it (issue 10), through the CLI against the sandbox: broken
dbt profiles are one-line usage errors; what dbt or the library would refuse is flagged, never
"Healthy"; a PAT is tested and said to be ignored by brickauth; a machine without a keyring is the top
finding; no false AADSTS700025; `| head` ends quietly; fixes name the ids doctor knows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from brickauth.cli.main import main
from brickauth_sandbox.core import Sandbox

pytestmark = pytest.mark.slow

NO_CFG = "/nonexistent/.databrickscfg"
PAT = "dapi" + "0123456789abcdef" * 2


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    sandbox.wait_until_ready()
    return sandbox


@pytest.fixture
def env_of(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Set exactly ``env`` (plus a private state dir and home) in os.environ for the CLI."""
    import os

    def apply(env: dict[str, str]) -> None:
        for name in list(os.environ):
            if name.startswith(("DATABRICKS_", "AZURE_", "BRICKAUTH_", "ARM_", "DBT_")):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("BRICKAUTH_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.setenv("HOME", str(tmp_path / "home"))

    return apply


def doctor_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["doctor", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out), out


def by_check(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for check in report["checks"]:
        found.setdefault(check["check"], []).append(check)
    return found


# -- broken dbt profiles: one line, exit 2 -----------------------------------------------------------

CI = "sandbox:\n  target: ci\n  outputs:\n    ci:\n      type: brickauth\n"
BROKEN_PROFILES = {
    "yaml error": (CI + "     host: [x\n", "BA186"),
    "profile is a string": ("sandbox: just-a-string\n", "BA189"),
    "outputs is a list": ("sandbox:\n  target: ci\n  outputs:\n    - ci\n", "BA189"),
    "target is a string": ("sandbox:\n  target: ci\n  outputs:\n    ci: brickauth\n", "BA189"),
    "jinja syntax error": (
        CI + "      host: \"{{ env_var('DATABRICKS_HOST' }}\"\n",
        "BA193",
    ),
    "jinja unknown function": (
        CI + "      host: \"{{ nope('DATABRICKS_HOST') }}\"\n",
        "BA193",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_PROFILES))
def test_a_broken_profiles_yml_is_a_one_line_usage_error(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], env_of: Any, sandbox_env: dict[str, str]
) -> None:
    text, code = BROKEN_PROFILES[case]
    env_of(sandbox_env)
    (tmp_path / "profiles.yml").write_text(text)
    args = ["doctor", "--dbt-target", "ci", "--profiles-dir", str(tmp_path), "--project-dir", str(tmp_path)]
    assert main(args) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"brickauth doctor: [{code}] ") and "Fix: " in line, line
    assert "Traceback" not in captured.err and captured.out == ""


# -- what dbt or the library would refuse is flagged --------------------------------------------------

PROFILE = """sandbox:
  target: ci
  outputs:
    ci:
      type: brickauth
      auth_type: azure-m2m
      host: "{{ env_var('DATABRICKS_HOST') }}"
@@HTTP_PATH@@      client_id: "{{ env_var('AZURE_CLIENT_ID') }}"
      client_secret: "{{ env_var('AZURE_CLIENT_SECRET') }}"
      tenant_id: "{{ env_var('AZURE_TENANT_ID') }}"
      schema: analytics
@@EXTRA@@"""


def _dbt_doctor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *, http_path: bool = True, extra: str = ""
) -> tuple[int, dict[str, Any], str]:
    path_line = "      http_path: \"{{ env_var('DATABRICKS_HTTP_PATH') }}\"\n" if http_path else ""
    text = PROFILE.replace("@@HTTP_PATH@@", path_line).replace("@@EXTRA@@", extra)
    (tmp_path / "profiles.yml").write_text(text)
    return doctor_json(
        capsys, "--dbt-target", "ci", "--profiles-dir", str(tmp_path), "--project-dir", str(tmp_path)
    )


def test_the_good_dbt_target_is_healthy(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of(sb.env())
    code, report, _ = _dbt_doctor(tmp_path, capsys)
    assert code == 0, report["top_finding"]


def test_a_dbt_target_without_http_path_is_refused_as_dbt_refuses_it(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of(sb.env())
    code, report, _ = _dbt_doctor(tmp_path, capsys, http_path=False)
    assert code == 1 and report["healthy"] is False
    [path] = by_check(report)["settings.http_path"]
    assert path["status"] == "fail" and "[BA173]" in path["summary"] and "http_path" in path["summary"]


def test_an_unknown_dbt_profile_key_is_flagged_with_the_key_it_meant(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of(sb.env())
    code, report, _ = _dbt_doctor(tmp_path, capsys, extra="      client_secet: typo\n")
    assert code == 1
    [bad] = [c for c in by_check(report)["settings.auth"] if c["status"] == "fail"]
    assert "[BA175]" in bad["summary"] and "client_secet" in bad["summary"]
    assert "write `client_secret`" in bad["summary"]


def test_a_missing_config_file_is_flagged(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of({**sb.env(), "DATABRICKS_CONFIG_FILE": str(tmp_path / "missing.cfg")})
    code, report, _ = doctor_json(capsys, "--auth-type", "azure-m2m")
    assert code == 1
    assert any("[BA152]" in c["summary"] and c["status"] == "fail" for c in report["checks"]), report


@pytest.mark.parametrize(
    ("name", "value", "check", "code"),
    [
        ("BRICKAUTH_TOKEN_STORE", "vault", "settings.auth", "BA163"),
        ("BRICKAUTH_KEYRING_TIMEOUT", "soon", "store.keyring", "BA198"),
    ],
)
def test_a_bad_store_setting_is_flagged(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any, name: str, value: str, check: str, code: str
) -> None:
    env_of({**sb.env(), name: value})
    exit_code, report, out = doctor_json(capsys, "--auth-type", "azure-m2m", "--config-file", NO_CFG)
    assert exit_code == 1 and "Healthy" not in out
    assert any(c["status"] == "fail" and f"[{code}]" in c["summary"] for c in by_check(report)[check]), report


# -- a PAT alone: tested, and said to be ignored by brickauth -----------------------------------------


def test_a_pat_alone_is_tested_and_said_to_be_ignored_by_brickauth(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    full = sb.env()
    names = ("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
    pat = sb.add_personal_access_token(sb.ids.user_upn)
    env_of({k: full[k] for k in names} | {"DATABRICKS_TOKEN": pat})
    code, report, out = doctor_json(capsys, "--config-file", NO_CFG)
    checks = by_check(report)
    assert report["settings"]["auth_type"] == "pat"
    [auth] = checks["settings.auth"]
    assert auth["status"] == "warn" and "brickauth ignores PATs" in auth["summary"]
    [token] = checks["token.acquire"]
    assert token["status"] == "ok" and "ignores PATs" in token["summary"]
    for tested in ("network.tls", "workspace.membership", "warehouse.state", "sql.probe"):
        assert checks[tested][0]["status"] == "ok", checks[tested]  # the PAT, end to end
    assert sb.ids.user_upn in checks["sql.probe"][0]["summary"]
    assert code == 1 and report["top_finding"]["check"] == "settings.auth"  # the warning: not brickauth's
    assert pat not in out


def test_a_pat_the_workspace_refuses_is_named(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    full = sb.env()
    names = ("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
    env_of({k: full[k] for k in names} | {"DATABRICKS_TOKEN": PAT})
    code, report, out = doctor_json(capsys, "--config-file", NO_CFG)
    [member] = by_check(report)["workspace.membership"]
    assert member["status"] == "fail"  # the PAT was sent to the workspace, which does not know it
    assert code == 1 and PAT not in out


# -- a headless machine without a keyring -------------------------------------------------------------


def test_without_a_keyring_the_top_finding_is_the_keyring_not_a_login(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    import keyring
    import keyring.backends.fail

    env_of({k: v for k, v in sb.env().items() if "SECRET" not in k and "CLIENT_ID" not in k})
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        code, report, _ = doctor_json(capsys, "--auth-type", "databricks-u2m", "--config-file", NO_CFG)
    finally:
        keyring.set_keyring(before)
    top = report["top_finding"]
    assert code == 1
    assert (top["check"], top["cause_id"]) == ("token.acquire", "store.no_keyring_backend"), top
    assert "no keyring backend" in top["summary"]


# -- no false AADSTS700025 ----------------------------------------------------------------------------


def test_a_secret_in_the_environment_is_no_warning_for_a_browser_sign_in(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of({**sb.env(), "AZURE_CLIENT_ID": sb.ids.public_client_id})  # AZURE_CLIENT_SECRET stays set
    _, report, out = doctor_json(capsys, "--auth-type", "azure-u2m", "--config-file", NO_CFG)
    auth = by_check(report)["settings.auth"]
    assert [c["status"] for c in auth] == ["ok"], auth
    assert "700025" not in out
    assert all(c["cause_id"] != "entra.public_client_with_secret" for c in report["checks"])


# -- piped into head ----------------------------------------------------------------------------------


def test_piped_into_head_it_ends_without_a_broken_pipe(sb: Sandbox, tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "AZURE_", "BRICKAUTH_"))}
    env |= sb.env() | {"BRICKAUTH_STATE_DIR": str(tmp_path / "state")}
    command = [sys.executable, "-m", "brickauth.cli.main", "doctor", "--auth-type", "databricks-m2m",
               "--config-file", NO_CFG]  # fmt: skip
    done = subprocess.run(
        ["bash", "-c", " ".join(command) + " | head -n 1"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stdout.startswith("brickauth doctor:") and len(done.stdout.splitlines()) == 1
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == ""


# -- fixes name the ids doctor knows; SQL in them runs as written -------------------------------------


def test_the_can_use_fix_names_the_warehouse_and_the_client(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of(sb.env())
    sb.revoke_can_use(sb.ids.m2m_client_id)
    _, report, _ = doctor_json(capsys, "--auth-type", "azure-m2m", "--config-file", NO_CFG)
    top = report["top_finding"]
    assert top["cause_id"] == "databricks.no_can_use_warehouse"
    warehouse = sb.http_path.rsplit("/", 1)[-1]
    command = top["fix"].splitlines()[1].strip()  # the line after "For this setup ...:"
    assert command.startswith(f"databricks warehouses update-permissions {warehouse} --json '")
    acl = json.loads(command.split("--json ", 1)[1].strip("'"))
    assert acl["access_control_list"] == [
        {"service_principal_name": sb.ids.m2m_client_id, "permission_level": "CAN_USE"}
    ]


def test_the_membership_fix_names_the_client_id(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of(sb.env())
    sb.remove_from_workspace(sb.ids.m2m_client_id)
    _, report, _ = doctor_json(capsys, "--auth-type", "azure-m2m", "--config-file", NO_CFG)
    top = report["top_finding"]
    assert top["cause_id"] == "databricks.principal_not_in_workspace"
    assert f"--application-id {sb.ids.m2m_client_id}" in top["fix"]
    assert "Service principals" in top["fix"]  # the knowledge base's own fix follows


def test_the_table_owner_fix_is_sql_that_runs_as_written(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of(sb.env())
    other = sb.ids.databricks_sp_client_id
    sb.engine.execute_as(other, "CREATE SCHEMA IF NOT EXISTS main.analytics")
    sb.engine.execute_as(other, "CREATE TABLE main.analytics.my_first_dbt_model AS SELECT 1 AS id")
    (tmp_path / "profiles.yml").write_text(
        PROFILE.replace("@@HTTP_PATH@@", "      http_path: \"{{ env_var('DATABRICKS_HTTP_PATH') }}\"\n")
        .replace("@@EXTRA@@", "      catalog: main\n")
    )
    args = ("--dbt-target", "ci", "--profiles-dir", str(tmp_path), "--project-dir", str(tmp_path))
    _, report, _ = doctor_json(capsys, *args)
    top = report["top_finding"]
    assert top["cause_id"] == "databricks.table_not_owner"
    lead, sql = (line.strip() for line in top["fix"].splitlines()[:2])  # this setup's, before the general fix
    assert lead.startswith("For this setup")
    assert sql == f"ALTER TABLE `main`.`analytics`.`my_first_dbt_model` OWNER TO `{sb.ids.m2m_client_id}`;"
    sb.engine.execute_as(other, sql)  # the table's owner pastes it
    code, report, _ = doctor_json(capsys, *args)
    assert code == 0, report["top_finding"]


def test_the_stopped_warehouse_and_entitlement_fixes_name_their_ids(
    sb: Sandbox, capsys: pytest.CaptureFixture[str], env_of: Any
) -> None:
    env_of(sb.env())
    warehouse = sb.http_path.rsplit("/", 1)[-1]
    sb.stop_warehouse(auto_start=False)
    _, report, _ = doctor_json(capsys, "--auth-type", "azure-m2m", "--config-file", NO_CFG)
    [state] = by_check(report)["warehouse.state"]
    assert state["cause_id"] == "databricks.warehouse_stopped"
    assert state["fix"].splitlines()[1].strip() == f"databricks warehouses start {warehouse}"

    sb.start_warehouse()
    sb.set_sql_access(sb.ids.m2m_client_id, False)
    _, report, _ = doctor_json(capsys, "--auth-type", "azure-m2m", "--config-file", NO_CFG)
    top = report["top_finding"]
    assert top["cause_id"] == "databricks.missing_sql_entitlement"
    command = top["fix"].splitlines()[1].strip()
    assert command.startswith("databricks service-principals patch ") and sb.ids.m2m_client_id in top["fix"]
    patch = json.loads(command.split("--json ", 1)[1].strip("'"))
    assert patch["Operations"][0]["value"] == [{"value": "databricks-sql-access"}]
