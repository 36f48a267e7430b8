"""Issue 10: when the identity provider answers the sign-in with an error page, `brickauth login` says at
once what the browser shows and the fix (no silent countdown), and a confidential-app redemption
(AADSTS7000218) gets the doctor's fix (Mobile and desktop platform), not "set AZURE_CLIENT_SECRET"."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import sync_playwright
from u2m_harness import brickauth, browser_pages, free_port, landing_text, user_env

from brickauth_sandbox.core import Sandbox, new_guid
from brickauth_sandbox.entra.model import RedirectUri

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]  # fmt: skip
LONG = "600"  # the login timeout: the tests' subprocess timeout (120 s) is far shorter, so a countdown fails


def login(env: dict[str, str], *args: str) -> tuple[int, str]:
    done = brickauth("login", "--timeout", LONG, *args, env=env, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr


def chromium_text(url: str) -> str:
    """What a real browser shows for the sign-in link brickauth printed."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     headless=True, args=FLAGS)  # fmt: skip
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.goto(url, timeout=30_000)
            return page.inner_text("body")
        finally:
            browser.close()


def printed_link(stderr: str) -> str:
    found = re.search(r"to see the page yourself, open:\s+(\S+) \)", stderr)
    assert found is not None, stderr
    return found.group(1)


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("brickauth: [BA")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.browser
@pytest.mark.slow
def test_entra_unknown_app_is_reported_at_once_as_the_browser_shows_it(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    stranger = new_guid()
    env = user_env(sandbox, u2m_env, "azure-u2m", BRICKAUTH_AZURE_U2M_CLIENT_ID=stranger)
    code, stderr = login(env, "--auth-type", "azure-u2m")
    assert code == 1
    line = error_line(stderr)
    assert "sign-in page" in line and "shows an error instead of the sign-in form: AADSTS700016" in line
    assert "Fix: set BRICKAUTH_AZURE_U2M_CLIENT_ID (or --client-id)" in line
    assert browser_pages(env) == []  # never opened
    shown = chromium_text(printed_link(stderr))
    said = re.search(r"AADSTS700016: [^.]+\.", shown)
    assert said is not None and said.group(0) in line  # the same words as the browser shows


@pytest.mark.browser
@pytest.mark.slow
def test_entra_redirect_uri_not_registered(sandbox: Sandbox, u2m_env: dict[str, str]) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m")
    sandbox.tenant.apps[env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]].redirect_uris = [
        RedirectUri("https://app.example.com/callback", "web")]  # fmt: skip
    code, stderr = login(env, "--auth-type", "azure-u2m")
    assert code == 1
    line = error_line(stderr)
    assert "AADSTS50011" in line and '"Mobile and desktop applications"' in line, line
    assert "http://localhost" in line and "AZURE_CLIENT_SECRET" not in line
    assert "AADSTS50011" in chromium_text(printed_link(stderr))
    assert browser_pages(env) == []


def test_databricks_unknown_app_and_unregistered_redirect(sandbox: Sandbox, u2m_env: dict[str, str]) -> None:
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_DATABRICKS_U2M_CLIENT_ID="no-such-app")
    code, stderr = login(env, "--auth-type", "databricks-u2m", "--redirect-port", str(free_port()))
    assert code == 1
    line = error_line(stderr)
    assert "OAuth application with client_id: 'no-such-app' not available" in line
    assert "Use `databricks-cli` (the default) or the client ID of a custom app connection" in line

    port = str(free_port())  # not one of databricks-cli's redirect URLs
    env = user_env(sandbox, u2m_env, "databricks-u2m")
    code, stderr = login(env, "--auth-type", "databricks-u2m", "--redirect-port", port)
    assert code == 1
    line = error_line(stderr)
    assert f"redirect_uri 'http://localhost:{port}' not registered" in line
    assert "Use the registered port (`redirect_port: 8020` for client `databricks-cli`)" in line
    assert browser_pages(env) == []


def test_an_error_the_server_redirects_back_is_reported_at_once(sandbox: Sandbox,
                                                                u2m_env: dict[str, str]) -> None:
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_SCOPES="all-apis no-such-scope")
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    code, stderr = login(env, "--auth-type", "databricks-u2m", "--redirect-port", str(port))
    assert code == 1
    line = error_line(stderr)
    assert "refused the sign-in request (invalid_scope): Invalid scope: no-such-scope" in line
    assert "[BA614]" in line and "BRICKAUTH_SCOPES" in line
    assert browser_pages(env) == []


@pytest.mark.browser
@pytest.mark.slow
def test_confidential_app_redemption_gets_the_doctor_fix_in_terminal_and_landing_page(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    web = sandbox.add_entra_app("web-platform-app", secret=True, redirect_uris=[("http://localhost", "web")])
    env = user_env(sandbox, u2m_env, "azure-u2m", BRICKAUTH_AZURE_U2M_CLIENT_ID=web.app_id)
    code, stderr = login(env, "--auth-type", "azure-u2m")
    assert code == 1
    line = error_line(stderr)
    assert line.startswith("brickauth: [BA213] Entra ID refused to redeem the sign-in code (AADSTS7000218)")
    assert f"App registrations > the app {web.app_id} > Authentication" in line
    assert '"Mobile and desktop applications"' in line and "AZURE_CLIENT_SECRET" not in line
    assert browser_pages(env, wait_for=1)[0][-1] == "landing"
    page = landing_text(env)
    assert "Sign-in failed" in page and "Mobile and desktop applications" in page
    assert "AZURE_CLIENT_SECRET" not in page and "BA213" in page
