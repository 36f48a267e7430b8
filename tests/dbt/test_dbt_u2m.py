"""U2M profiles: one real browser sign-in (headless Chromium through Playwright, via ``brickauth login``)
primes the keyring; then `dbt debug`, `dbt run` and `dbt test` run non-interactively in their own
processes from that store, with no browser and no new sign-in.

Reuses the U2M tests' browser driver (tests/u2m/drive_browser.py) and file-backed keyring backend
(tests/store/keyrings_for_tests.py), so every process of a test shares one real keyring.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_harness import DbtRunner, assert_no_secret, assert_ok, dbt_env, write_profile

from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID

pytestmark = [pytest.mark.dbt, pytest.mark.browser, pytest.mark.slow]

TESTS = Path(__file__).resolve().parents[1]
DRIVER = TESTS / "u2m" / "drive_browser.py"
KEYRING_DIR = TESTS / "store"
SQL_PREFIX = "/sql/1.0/warehouses/"


@pytest.fixture
def browser_ready() -> None:
    pytest.importorskip("playwright")
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    if not DRIVER.exists() or not (KEYRING_DIR / "keyrings_for_tests.py").exists():
        pytest.skip("the U2M test helpers are missing")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def user_env(sb: Sandbox, tmp: Path, flow: str) -> dict[str, str | None]:
    """A person's environment: the sandbox's addresses and CA, a real keyring, the browser hook, and
    no service principal credentials."""
    env = sb.env()
    out: dict[str, str | None] = {
        name: env[name]
        for name in ("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
                     "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID")
    }  # fmt: skip
    out.update({name: None for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "DATABRICKS_CLIENT_ID",
                                        "DATABRICKS_CLIENT_SECRET")})  # fmt: skip
    if flow == "azure-u2m":
        out["BRICKAUTH_AZURE_U2M_CLIENT_ID"] = env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
    out.update(
        PYTHONPATH=os.pathsep.join([str(KEYRING_DIR), os.environ.get("PYTHONPATH", "")]),
        # The test keyring is a healthy file: on a loaded machine its calls may take seconds, and the
        # default 3 s bound would swap it for the memory fallback (a test of the bound sets its own).
        BRICKAUTH_KEYRING_TIMEOUT="60",
        PYTHON_KEYRING_BACKEND="keyrings_for_tests.FileKeyring",
        BRICKAUTH_TEST_KEYRING_FILE=str(tmp / "keyring.json"),
        BRICKAUTH_STATE_DIR=str(tmp / "state"),
        BRICKAUTH_TEST_BROWSER_OUT=str(tmp / "browser"),
        BRICKAUTH_BROWSER=f"{sys.executable} {DRIVER} %s",
        BRICKAUTH_TEST_BROWSER_USER=env["BRICKAUTH_SANDBOX_USER"],
        BRICKAUTH_TEST_BROWSER_PASSWORD=env["BRICKAUTH_SANDBOX_PASSWORD"],
        CI=None,
    )
    return out


def login(dbt: DbtRunner, env: dict[str, str | None], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brickauth.cli.main", "login", *args],
        env=dbt_env({**env, "BRICKAUTH_INTERACTIVE": "1"}, home=dbt.home),
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def browser_pages(tmp: Path) -> list[list[str]]:
    return [json.loads(p.read_text()) for p in sorted((tmp / "browser").glob("pages-*.json"))]


def run_from_store(sb: Sandbox, dbt: DbtRunner, profile: str, env: dict[str, str | None]) -> None:
    secrets = (sb.env()["BRICKAUTH_SANDBOX_PASSWORD"],)
    debug = dbt("debug", profile=profile, env=env, global_flags=("--debug",))
    assert_ok(debug, "All checks passed!")
    run = dbt("run", profile=profile, env=env, global_flags=("--log-format", "json"))
    assert_ok(run, "PASS=2 ")
    test = dbt("test", profile=profile, env=env)
    assert_ok(test, "PASS=5 ")
    for result in (debug, run, test):
        assert_no_secret(result, *secrets)
    principals = {e.fields.get("principal") for e in sb.request_log.filter(path_prefix=SQL_PREFIX)}
    assert principals == {sb.ids.user_upn.lower()}


def test_databricks_u2m_profile_runs_from_a_browser_primed_keyring(
    browser_ready: None, sandbox: Sandbox, dbt: DbtRunner, tmp_path: Path
) -> None:
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    env = user_env(sandbox, tmp_path, "databricks-u2m")
    env["BRICKAUTH_REDIRECT_PORT"] = str(port)  # the profile reads it (default 8020)
    signed_in = login(dbt, env, "--auth-type", "databricks-u2m", "--redirect-port", str(port))
    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr
    assert browser_pages(tmp_path) == [["databricks-sign-in", "landing"]]

    run_from_store(sandbox, dbt, "databricks-u2m", env)
    assert len(browser_pages(tmp_path)) == 1  # dbt never opened a browser
    assert sandbox.request_log.count(service="workspace", grant_type="authorization_code") == 1


def test_azure_u2m_profile_runs_from_a_browser_primed_keyring(
    browser_ready: None, sandbox: Sandbox, dbt: DbtRunner, tmp_path: Path
) -> None:
    env = user_env(sandbox, tmp_path, "azure-u2m")
    client_id = env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
    assert client_id is not None
    sandbox.tenant.admin_consent.pop((client_id, AZURE_DATABRICKS_RESOURCE_ID), None)  # the user consents
    signed_in = login(dbt, env, "--auth-type", "azure-u2m")
    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr
    assert browser_pages(tmp_path) == [["entra-sign-in", "entra-consent", "landing"]]

    run_from_store(sandbox, dbt, "azure-u2m", env)
    assert len(browser_pages(tmp_path)) == 1
    assert sandbox.request_log.count(service="entra", grant_type="authorization_code") == 1


def test_u2m_without_a_session_fails_at_once_naming_the_login_command(sandbox: Sandbox, dbt: DbtRunner,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    env = user_env(sandbox, tmp_path, "databricks-u2m")
    env["BRICKAUTH_BROWSER"] = None
    result = dbt("debug", profile="databricks-u2m", env=env, timeout=120)
    assert result.returncode != 0
    assert "brickauth login" in result.everything and "[BA6" in result.everything, result.summary()
    assert sandbox.request_log.count(service="workspace", path="/oidc/v1/authorize") == 0


def test_profile_key_and_a_refused_token_gets_a_new_one(
    browser_ready: None, sandbox: Sandbox, dbt: DbtRunner, tmp_path: Path
) -> None:
    """Issue 10: `profile:` names the ~/.databrickscfg profile `brickauth login` saved (no host or auth
    type in profiles.yml); a token the workspace refuses with 401 is replaced on the next connection."""
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    env = user_env(sandbox, tmp_path, "databricks-u2m")
    signed_in = login(dbt, env, "--auth-type", "databricks-u2m", "--redirect-port", str(port),
                      "--profile", "sbx")
    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr
    assert "Profile [sbx] saved in" in signed_in.stdout
    quiet = {**env, "DATABRICKS_HOST": None, "DATABRICKS_HTTP_PATH": None, "BRICKAUTH_INTERACTIVE": "0"}
    token = subprocess.run([sys.executable, "-m", "brickauth.cli.main", "token", "--profile", "sbx"],
                           env=dbt_env(quiet, home=dbt.home), capture_output=True, text=True, timeout=120,
                           check=False)  # fmt: skip
    assert token.returncode == 0, token.stderr
    sandbox.reject_access_token(token.stdout.strip())  # revoked at the workspace, still unexpired
    profiles = write_profile(tmp_path / "profiles", {
        "type": "brickauth", "profile": "sbx", "http_path": sandbox.http_path, "catalog": "main",
        "schema": dbt.schema, "threads": 1})  # fmt: skip
    debug = dbt("debug", profile=profiles, env=quiet, global_flags=("--debug",))
    assert_ok(debug, "All checks passed!")
    assert "the workspace refused the token (HTTP 401)" in debug.everything
    assert sandbox.request_log.count(service="workspace", grant_type="refresh_token", status=200) == 1
