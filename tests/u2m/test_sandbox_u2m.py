"""U2M end to end: a real headless Chromium signs in at the sandbox's Entra ID and workspace OIDC
pages, tokens land in a real keyring backend shared by processes, and later processes connect through
``sql.connect`` with no browser."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from u2m_harness import (
    brickauth,
    browser_pages,
    connect,
    count,
    free_port,
    keyring_entries,
    landing_text,
    user_env,
)

from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def allow_redirect_port(sb: Sandbox) -> int:
    """A free port, registered on the workspace's databricks-cli OAuth app (tests may run in parallel
    with other sign-ins on 8020)."""
    port = free_port()
    sb.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    return port


def test_databricks_u2m_login_in_chromium_then_a_second_process_connects_without_browser(
    sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path
) -> None:
    port = allow_redirect_port(sandbox)
    env = user_env(sandbox, u2m_env, "databricks-u2m")
    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    login = brickauth("login", "--auth-type", "databricks-u2m", "--redirect-port", str(port), env=env)
    assert login.returncode == 0, login.stderr
    assert f"Signed in as {user}" in login.stdout
    assert browser_pages(env, wait_for=1) == [["databricks-sign-in", "landing"]]
    page = landing_text(env)
    assert "Signed in" in page and user in page and sandbox.workspace_url in page
    assert "You can close this tab" in page
    assert (tmp_path / "browser" / "landing-1.png").stat().st_size > 5000
    assert any(k.startswith("brickauth\x00brickauth-") for k in keyring_entries(env))
    assert not (tmp_path / "state" / "tokens").exists()  # nothing in plaintext files
    assert count(sandbox, service="workspace", grant_type="authorization_code", status=200) == 1

    headless = {**env, "BRICKAUTH_INTERACTIVE": "0"}
    headless.pop("BRICKAUTH_BROWSER")
    second = connect("databricks-u2m", headless)
    assert second.returncode == 0, second.stderr
    assert f"CURRENT_USER={user}" in second.stdout
    assert len(browser_pages(env)) == 1  # no second browser
    assert count(sandbox, service="workspace", grant_type="authorization_code") == 1


def test_azure_u2m_sign_in_and_consent_in_chromium_then_sql_connect(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m")
    client_id = env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
    sandbox.tenant.admin_consent.pop((client_id, AZURE_DATABRICKS_RESOURCE_ID), None)  # ask the user
    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    login = brickauth("login", "--auth-type", "azure-u2m", env=env)
    assert login.returncode == 0, login.stderr
    assert f"Signed in as {user}" in login.stdout
    assert browser_pages(env, wait_for=1) == [["entra-sign-in", "entra-consent", "landing"]]
    page = landing_text(env)
    assert "Signed in" in page and user in page and "Microsoft Entra ID" in page

    headless = {**env, "BRICKAUTH_INTERACTIVE": "0"}
    headless.pop("BRICKAUTH_BROWSER")
    second = connect("azure-u2m", headless)
    assert second.returncode == 0, second.stderr
    assert f"CURRENT_USER={user}" in second.stdout
    assert len(browser_pages(env)) == 1


def test_declined_consent_shows_the_failure_page(sandbox: Sandbox, u2m_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m", BRICKAUTH_TEST_BROWSER_CONSENT="cancel")
    app = env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
    sandbox.tenant.admin_consent.pop((app, AZURE_DATABRICKS_RESOURCE_ID), None)
    login = brickauth("login", "--auth-type", "azure-u2m", env=env)
    assert login.returncode == 1
    last = login.stderr.strip().splitlines()[-1]
    assert last.startswith("brickauth: [BA613]") and "declined" in last
    assert "Traceback" not in login.stderr and "Warning" not in login.stderr
    assert browser_pages(env, wait_for=1) == [["entra-sign-in", "entra-consent", "landing"]]
    page = landing_text(env)
    assert "Sign-in failed" in page and "consent prompt was declined" in page
    assert "How to fix it: sign in again and accept the permissions prompt" in page
    assert (tmp_path / "browser" / "landing-1.png").exists()
    assert keyring_entries(env) == {}


def test_non_interactive_run_without_a_session_fails_at_once_naming_the_command(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_INTERACTIVE="0")
    start = time.monotonic()
    result = brickauth("token", "--auth-type", "databricks-u2m", env=env)
    assert result.returncode == 1
    assert time.monotonic() - start < 20
    line = result.stderr.strip()
    assert "\n" not in line and "[BA602]" in line
    assert f"brickauth login --host {sandbox.workspace_url} --auth-type databricks-u2m" in line
    assert browser_pages(env) == []
    assert count(sandbox, service="workspace", path="/oidc/v1/authorize") == 0
