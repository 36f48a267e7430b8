"""Issue 10: `brickauth login` saves a named ~/.databrickscfg profile (or reuses `--profile`), so token,
logout, status and doctor need no repeated flags; `logout` with one session needs none at all and
revokes the refresh token where the IdP offers revocation; `status` exits 1 with nothing signed in;
`--version`; `login --json`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from u2m_harness import brickauth, browser_pages, free_port, keyring_entries, user_env

from brickauth import __version__
from brickauth.cli.databrickscfg import default_profile_name, read_profiles, save_profile
from brickauth_sandbox.core import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_save_profile_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "databrickscfg"
    cfg.write_text("; my profiles\n[DEFAULT]\nhost = https://a.example\n\n[sp]\nhost = https://b.example\n"
                   "client_id = x\nclient_secret = dose123\n")  # fmt: skip
    cfg.chmod(0o640)
    save_profile(cfg, "sp", {"host": "https://b.example", "auth_type": "databricks-cli"})
    save_profile(cfg, "new", {"host": "https://c.example", "auth_type": "azure-u2m"})
    text = cfg.read_text()
    assert text.startswith("; my profiles\n[DEFAULT]\nhost = https://a.example\n\n[sp]\n")
    assert read_profiles(cfg)["sp"] == {"host": "https://b.example", "client_id": "x",
                                        "client_secret": "dose123", "auth_type": "databricks-cli"}
    assert read_profiles(cfg)["new"] == {"host": "https://c.example", "auth_type": "azure-u2m"}
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh" / "databrickscfg"
    save_profile(fresh, "p", {"host": "https://d.example"})
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600 and not list(fresh.parent.glob(".*tmp"))


def test_default_profile_names() -> None:
    host = "https://adb-1234567890123456.7.azuredatabricks.net"
    assert default_profile_name("adb-1234567890123456.7.azuredatabricks.net", "azure-u2m", {}, host) == \
        "adb-1234567890123456"
    taken = {"adb-1": {"host": host, "auth_type": "databricks-m2m", "client_secret": "s"}}
    assert default_profile_name("adb-1.7.azuredatabricks.net", "azure-u2m", taken, host) == "adb-1-azure-u2m"
    same = {"adb-1": {"host": host, "auth_type": "databricks-cli"}}
    assert default_profile_name("adb-1.7.azuredatabricks.net", "databricks-u2m", same, host) == "adb-1"
    assert default_profile_name("127.10.0.3", "azure-u2m", {}, "https://127.10.0.3") == "127-10-0-3"


def test_version() -> None:
    done = brickauth("--version", env={})
    assert done.returncode == 0 and done.stdout.strip() == f"brickauth {__version__}"


def bare(env: dict[str, str]) -> dict[str, str]:
    """The same machine, with none of the settings in the environment: only the saved profile."""
    out = {k: v for k, v in env.items() if not k.startswith(("DATABRICKS_", "AZURE_", "BRICKAUTH_"))
           or k in ("DATABRICKS_CONFIG_FILE", "BRICKAUTH_STATE_DIR", "BRICKAUTH_TEST_KEYRING_FILE")}
    out["BRICKAUTH_INTERACTIVE"] = "0"
    return out


def test_login_saves_a_profile_that_token_status_doctor_and_logout_use(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m")
    login = brickauth("login", "--auth-type", "azure-u2m", "--json", env=env)
    assert login.returncode == 0, login.stderr
    out = json.loads(login.stdout)
    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    name = out["profile"]
    public = sandbox.ids.public_client_id
    assert (out["account"], out["flow"], out["client_id"]) == (user, "azure-u2m", public)
    assert out["client_id_reason"] == "set by BRICKAUTH_AZURE_U2M_CLIENT_ID"
    assert out["config_file"] == env["DATABRICKS_CONFIG_FILE"] and 0 < out["expires_in"] <= 3600
    assert not [v for v in keyring_entries(env).values() if len(v) > 20 and v in login.stdout]  # no token
    assert read_profiles(Path(env["DATABRICKS_CONFIG_FILE"]))[name] == {
        "host": sandbox.workspace_url, "auth_type": "azure-u2m", "u2m_client_id": public,
        "azure_tenant_id": sandbox.ids.tenant_id, "azure_authority_host": sandbox.entra_url,
    }  # fmt: skip
    assert browser_pages(env, wait_for=1) == [["entra-sign-in", "landing"]]

    quiet = bare(env)
    token = brickauth("token", "--profile", name, "--json", env=quiet)
    assert token.returncode == 0, token.stderr
    assert json.loads(token.stdout)["token_type"] == "Bearer"
    status = brickauth("status", env=quiet)
    assert status.returncode == 0 and f"azure-u2m: {user}" in status.stdout
    doctor = brickauth("doctor", "--profile", name, "--json", env=quiet, timeout=180)
    assert sandbox.ids.public_client_id in doctor.stdout and "azure-u2m" in doctor.stdout, doctor.stderr

    logout = brickauth("logout", env=quiet)  # one session: no flags needed
    assert logout.returncode == 0, logout.stderr
    assert logout.stdout.startswith(f"Removed azure-u2m {user} at ")
    assert "Entra ID offers apps no way to revoke a refresh token" in logout.stdout
    after = brickauth("status", env=quiet)
    assert after.returncode == 1 and "No saved sign-ins" in after.stdout
    assert brickauth("status", "--json", env=quiet).returncode == 1


def test_databricks_login_into_a_named_profile_and_logout_revokes(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    env = user_env(sandbox, u2m_env, "databricks-u2m")
    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    login = brickauth("login", "--auth-type", "databricks-u2m", "--profile", "mine", "--redirect-port",
                      str(port), env=env)  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert "Profile [mine] saved in" in login.stdout and "`brickauth token --profile mine`" in login.stdout
    profile = read_profiles(Path(env["DATABRICKS_CONFIG_FILE"]))["mine"]
    assert profile == {"host": sandbox.workspace_url, "auth_type": "databricks-cli",
                       "redirect_port": str(port)}
    assert sandbox.workspace_service.oidc.active_refresh_tokens(user) == 1

    quiet = bare(env)
    assert brickauth("token", "--profile", "mine", env=quiet).returncode == 0
    # a second session (another app): `logout` alone must ask which one
    sandbox.workspace.oauth_apps["dbt-databricks"].redirect_urls.append(f"http://localhost:{port}")
    other = brickauth("login", "--profile", "mine", "--client-id", "dbt-databricks", "--no-save-profile",
                      env=env)  # fmt: skip
    assert other.returncode == 0, other.stderr
    ambiguous = brickauth("logout", env=quiet)
    assert ambiguous.returncode == 1, ambiguous.stdout
    assert "[BA618]" in ambiguous.stderr and "dbt-databricks" in ambiguous.stderr

    logout = brickauth("logout", "--profile", "mine", env=quiet)
    assert logout.returncode == 0, logout.stderr
    assert f"The refresh token was revoked at {sandbox.workspace_url}." in logout.stdout
    assert sandbox.request_log.count(service="workspace", grant_type="revoke", revoked=True) == 1
    assert sandbox.workspace_service.oidc.active_refresh_tokens(user) == 1  # dbt-databricks' one is left

    sandbox.workspace_service.oidc.offers_revocation = False
    last = brickauth("logout", env=quiet)
    assert last.returncode == 0, last.stderr
    assert "offers no token revocation: the refresh token stays valid until it expires." in last.stdout
