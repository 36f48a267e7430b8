"""Issue 10: a user sign-in never silently uses the M2M app of AZURE_CLIENT_ID / DATABRICKS_CLIENT_ID.

U2M has its own client id setting (``u2m_client_id``: BRICKAUTH_AZURE_U2M_CLIENT_ID,
BRICKAUTH_DATABRICKS_U2M_CLIENT_ID, BRICKAUTH_U2M_CLIENT_ID, profile key ``u2m_client_id``), the published
default apps otherwise, and says which app it used and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from u2m_harness import brickauth, browser_pages, free_port

from brickauth.config import resolve_settings
from brickauth.errors import ConfigurationError
from brickauth.flows.azure_u2m import AZURE_CLI_CLIENT_ID
from brickauth.flows.u2m_apps import default_app
from brickauth.oauth.u2m_apps import choose_app
from brickauth_sandbox.core import Sandbox

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
GUID = "0a1b2c3d-1111-2222-3333-444455556666"
M2M = "99999999-1111-2222-3333-444455556666"


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    empty = tmp_path / "empty.databrickscfg"
    empty.write_text("")
    return {"DATABRICKS_HOST": HOST, "DATABRICKS_CONFIG_FILE": str(empty), **extra}


def test_m2m_client_ids_in_the_environment_are_not_used_for_sign_in(tmp_path: Path) -> None:
    e = env(tmp_path, AZURE_CLIENT_ID=M2M, AZURE_CLIENT_SECRET="x", DATABRICKS_CLIENT_ID="sp-app",
            DATABRICKS_CLIENT_SECRET="dose" + "0" * 30)  # fmt: skip
    azure = default_app(resolve_settings({"auth_type": "azure-u2m"}, e))
    assert (azure.client_id, azure.chosen, azure.client_secret) == (AZURE_CLI_CLIENT_ID, False, None)
    assert "Azure CLI's public client app" in azure.why
    assert f"AZURE_CLIENT_ID ({M2M}) is not used" in azure.why
    assert "BRICKAUTH_AZURE_U2M_CLIENT_ID" in azure.why
    dbx = default_app(resolve_settings({"auth_type": "databricks-u2m"}, e))
    assert (dbx.client_id, dbx.chosen, dbx.client_secret) == ("databricks-cli", False, None)
    assert "dbt-databricks" in dbx.why and "DATABRICKS_CLIENT_ID (sp-app) is not used" in dbx.why


def test_the_u2m_setting_and_explicit_client_ids_are_used_and_labelled(tmp_path: Path) -> None:
    e = env(tmp_path, AZURE_CLIENT_ID=M2M, BRICKAUTH_AZURE_U2M_CLIENT_ID=GUID,
            BRICKAUTH_DATABRICKS_U2M_CLIENT_ID="dbt-databricks")  # fmt: skip
    azure = default_app(resolve_settings({"auth_type": "azure-u2m"}, e))
    assert (azure.client_id, azure.why, azure.chosen) == (GUID, "set by BRICKAUTH_AZURE_U2M_CLIENT_ID", True)
    assert default_app(resolve_settings({"auth_type": "databricks-u2m"}, e)).client_id == "dbt-databricks"
    generic_env = env(tmp_path, BRICKAUTH_U2M_CLIENT_ID=GUID)
    generic = default_app(resolve_settings({"auth_type": "azure-u2m"}, generic_env))
    assert generic.why == "set by BRICKAUTH_U2M_CLIENT_ID"
    # `--client-id` / client_id= is the user saying so: used, with its secret only if given the same way
    given = {"auth_type": "databricks-u2m", "client_id": "my-app", "client_secret": "s3cr3t-value"}
    s = resolve_settings(given, env(tmp_path, DATABRICKS_CLIENT_SECRET="dose" + "1" * 30))
    chosen = choose_app(s, "databricks-u2m", "databricks-cli", "default")
    assert (chosen.client_id, chosen.why) == ("my-app", "set by client_id=")
    assert chosen.client_secret is not None and chosen.client_secret.reveal() == "s3cr3t-value"
    from_env_secret = resolve_settings({"auth_type": "databricks-u2m", "client_id": "my-app"},
                                       env(tmp_path, DATABRICKS_CLIENT_SECRET="dose" + "1" * 30))  # fmt: skip
    assert choose_app(from_env_secret, "databricks-u2m", "databricks-cli", "d").client_secret is None
    with pytest.raises(ConfigurationError) as err:
        resolve_settings({"auth_type": "azure-u2m"}, env(tmp_path, BRICKAUTH_AZURE_U2M_CLIENT_ID="my-app"))
    assert err.value.code == "BA133" and "BRICKAUTH_AZURE_U2M_CLIENT_ID" in str(err.value)


def test_a_u2m_profile_names_its_app(tmp_path: Path) -> None:
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[me]\nhost = {HOST}\nauth_type = databricks-u2m\nclient_id = custom-app\n"
                   f"[sp]\nhost = {HOST}\nauth_type = databricks-m2m\nclient_id = sp-app\n"
                   f"[u2m]\nhost = {HOST}\nu2m_client_id = {GUID}\n")  # fmt: skip
    e = {"DATABRICKS_CONFIG_FILE": str(cfg)}
    me = default_app(resolve_settings({"profile": "me"}, e))
    assert me.client_id == "custom-app" and me.why == f"set by profile key client_id in {cfg}[me]"
    sp = default_app(resolve_settings({"profile": "sp", "auth_type": "databricks-u2m"}, e))
    assert sp.client_id == "databricks-cli"  # an M2M profile's client id is not a sign-in app
    u2m = default_app(resolve_settings({"profile": "u2m", "auth_type": "azure-u2m"}, e))
    assert u2m.client_id == GUID and u2m.why == f"set by profile key u2m_client_id in {cfg}[u2m]"


@pytest.mark.browser
@pytest.mark.slow
def test_login_from_the_sandbox_env_file_uses_the_u2m_app_and_says_why(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    """The whole env file (M2M ids and secrets included), as a user who sourced it has it."""
    full = {**u2m_env, **sandbox.env()}
    full["BRICKAUTH_TEST_BROWSER_USER"] = full["BRICKAUTH_SANDBOX_USER"]
    full["BRICKAUTH_TEST_BROWSER_PASSWORD"] = full["BRICKAUTH_SANDBOX_PASSWORD"]
    login = brickauth("login", "--auth-type", "azure-u2m", env=full)
    assert login.returncode == 0, login.stderr
    public = sandbox.ids.public_client_id
    assert (f"signing in with the OAuth app {public} (set by BRICKAUTH_AZURE_U2M_CLIENT_ID)"
            in login.stderr), login.stderr  # fmt: skip
    assert browser_pages(full, wait_for=1) == [["entra-sign-in", "landing"]]
    assert sandbox.request_log.count(service="entra", client_id=sandbox.ids.m2m_client_id) == 0

    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    dbx = brickauth("login", "--auth-type", "databricks-u2m", "--redirect-port", str(port), env=full)
    assert dbx.returncode == 0, dbx.stderr
    assert "signing in with the OAuth app databricks-cli (the default: databricks-cli" in dbx.stderr
    assert f"DATABRICKS_CLIENT_ID ({sandbox.ids.databricks_sp_client_id}) is not used" in dbx.stderr
    codes = [r for r in sandbox.request_log if r.fields.get("grant_type") == "authorization_code"
             and r.service == "workspace"]  # fmt: skip
    assert [r.fields.get("client_id") for r in codes] == ["databricks-cli"]
    assert full["DATABRICKS_CLIENT_SECRET"] not in dbx.stdout + dbx.stderr
