"""``brickauth login / status / token / logout`` as a user runs them, against the sandbox."""

from __future__ import annotations

import json

import pytest
import requests
from u2m_harness import brickauth, browser_pages, free_port, keyring_entries, user_env

from brickauth.token import decode_jwt_claims
from brickauth_sandbox.core import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_login_status_token_logout(sandbox: Sandbox, u2m_env: dict[str, str]) -> None:
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_REDIRECT_PORT=str(port))
    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    login = brickauth("login", "--auth-type", "databricks-u2m", env=env)
    assert login.returncode == 0, login.stderr
    assert "session saved in keyring (keyrings for tests FileKeyring)" in login.stdout
    assert "If no browser opened, open this link" in login.stderr and "/oidc/v1/authorize?" in login.stderr
    assert browser_pages(env, wait_for=1) == [["databricks-sign-in", "landing"]]

    headless = {**env, "BRICKAUTH_INTERACTIVE": "0"}
    headless.pop("BRICKAUTH_BROWSER")
    token = brickauth("token", "--auth-type", "databricks-u2m", "--json", env=headless)
    assert token.returncode == 0, token.stderr
    body = json.loads(token.stdout)
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 3600
    assert decode_jwt_claims(body["access_token"]).get("sub") == user
    plain = brickauth("token", "--auth-type", "databricks-u2m", env=headless)
    assert plain.stdout.strip() == body["access_token"]
    me = requests.get(f"{sandbox.workspace_url}/api/2.0/preview/scim/v2/Me", timeout=10,
                      headers={"Authorization": f"Bearer {plain.stdout.strip()}"},
                      verify=env["REQUESTS_CA_BUNDLE"])
    assert me.status_code == 200 and me.json()["userName"] == user  # what curl would do

    status = brickauth("status", env=headless)
    assert status.returncode == 0, status.stderr
    assert "Token store: keyring (keyrings for tests FileKeyring)" in status.stdout
    assert f"databricks-u2m: {user} at {sandbox.workspace_url}" in status.stdout
    assert "refreshes silently" in status.stdout and "expires in" in status.stdout
    status_json = json.loads(brickauth("status", "--json", env=headless).stdout)
    assert [s["account"] for s in status_json["sessions"]] == [user]
    secrets = [body["access_token"], *keyring_entries(env).values()]
    out = status.stdout + json.dumps(status_json)
    assert not [s for s in secrets if len(s) > 20 and s in out]  # never a token (or any stored value)

    logout = brickauth("logout", "--auth-type", "databricks-u2m", env=headless)
    assert logout.returncode == 0 and logout.stdout.startswith("Removed databricks-u2m")
    assert "No saved sign-ins" in brickauth("status", env=headless).stdout
    again = brickauth("token", "--auth-type", "databricks-u2m", env=headless)
    assert again.returncode == 1 and "[BA602]" in again.stderr


def test_logout_all_and_login_refuses_m2m_settings(sandbox: Sandbox, u2m_env: dict[str, str]) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m")
    assert brickauth("login", "--auth-type", "azure-u2m", env=env).returncode == 0
    assert browser_pages(env, wait_for=1) == [["entra-sign-in", "landing"]]
    out = brickauth("logout", "--all", env=env)
    assert out.stdout.strip() == "Removed 1 saved sign-in from keyring (keyrings for tests FileKeyring)."
    assert [k.split("\x00")[1] for k in keyring_entries(env)] == ["brickauth-index"]  # now empty
    m2m = {**env, **{k: v for k, v in sandbox.env().items() if k.startswith("AZURE_CLIENT")}}
    refused = brickauth("login", env=m2m)
    assert refused.returncode == 1
    assert "[BA199]" in refused.stderr and "--auth-type azure-u2m" in refused.stderr
