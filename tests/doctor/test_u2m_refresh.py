"""`brickauth doctor` refreshing a cached U2M sign-in, against the real sandbox.

The store is primed with a real sign-in: databricks-u2m without a browser (the pasted-redirect path,
its workspace sign-in form driven by requests: tests/u2m/u2m_harness.py), azure-u2m with Entra's
sign-in driven by the headless Chromium helper (tests/u2m/drive_browser.py). Doctor then runs as a
user would, in a child process on a keyring backend of tests/store persisted in a file, with
``BRICKAUTH_TEST_CLOCK_OFFSET`` making the cached access token expired without anyone waiting.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from brickauth_sandbox.core import Sandbox

U2M_TESTS = Path(__file__).parent.parent / "u2m"
STORE_TESTS = Path(__file__).parent.parent / "store"
# Past the sandbox's one-hour access tokens: the cached one is expired for doctor's process.
EXPIRED = "3700"
# Doctor's per-step and whole-run bounds for these runs: they test the refresh, not the bounds, and a
# loaded CI box can spend the default 5 s / 20 s on a child process's imports alone.
BOUNDS = ("--timeout", "60", "--deadline", "240")


@pytest.fixture(scope="module")
def helpers() -> Any:
    """tests/u2m's harness and sign-in helpers, imported when a test runs, not at collection: the
    test keyrings they import register with keyring's backend discovery for the rest of the process."""
    for folder in (U2M_TESTS, STORE_TESTS):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    import keyrings_for_tests
    import u2m_harness

    class Helpers:
        FileKeyring = keyrings_for_tests.FileKeyring
        PasteAfterSignIn = u2m_harness.PasteAfterSignIn
        harness = u2m_harness

    return Helpers


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """For brickauth processes: a file-backed test keyring shared with this process, private state dir
    and home (no ~/.databrickscfg), and the test browser hook's output folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRICKAUTH_", "DATABRICKS_", "AZURE_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(STORE_TESTS), os.environ.get("PYTHONPATH", "")]),
        # The test keyring is a healthy file: on a loaded machine its calls may take seconds, and the
        # default 3 s bound would swap it for the memory fallback (a test of the bound sets its own).
        BRICKAUTH_KEYRING_TIMEOUT="60",
        PYTHON_KEYRING_BACKEND="keyrings_for_tests.FileKeyring",
        BRICKAUTH_TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
        BRICKAUTH_STATE_DIR=str(tmp_path / "state"),
        BRICKAUTH_TEST_BROWSER_OUT=str(tmp_path / "browser"),
        HOME=str(tmp_path / "home"),
    )
    env.pop("CI", None)
    return env


class Signed:
    """A primed sign-in: the flow's source over the same keyring file doctor's process reads."""

    def __init__(self, source: Any, env: dict[str, str]) -> None:
        self.source, self.env = source, env

    def doc(self) -> dict[str, Any]:
        doc = self.source.store.load(self.source.key)
        assert doc is not None
        return dict(doc)

    def secrets(self) -> list[str]:
        """Every token in the stored sign-in (an msal cache holds access, refresh and id tokens)."""
        doc = self.doc()
        found = [str(doc[k]) for k in ("access_token", "refresh_token") if doc.get(k)]
        if doc.get("msal_cache"):
            cache = json.loads(doc["msal_cache"])
            for kind in ("AccessToken", "RefreshToken", "IdToken"):
                found += [str(e["secret"]) for e in cache.get(kind, {}).values()]
        return found

    def refresh_token(self) -> str:
        doc = self.doc()
        if doc.get("msal_cache"):
            [entry] = json.loads(doc["msal_cache"])["RefreshToken"].values()
            return str(entry["secret"])
        return str(doc["refresh_token"])


@pytest.fixture
def sign_in(sandbox: Sandbox, base_env: dict[str, str], helpers: Any) -> Iterator[Callable[[str], Signed]]:
    from brickauth.config import resolve_settings
    from brickauth.flows.azure_u2m import AzureU2MSource
    from brickauth.flows.databricks_u2m import DatabricksU2MSource
    from brickauth.store.keyring_store import KeyringStore

    browsers: list[subprocess.Popen[bytes]] = []

    def prime(flow: str) -> Signed:
        env = helpers.harness.user_env(sandbox, base_env, flow)
        settings = resolve_settings({"auth_type": flow, "interactive": True}, env)
        store = KeyringStore(
            helpers.FileKeyring(env["BRICKAUTH_TEST_KEYRING_FILE"]),
            lock_dir=Path(env["BRICKAUTH_STATE_DIR"]) / "locks",
        )
        if flow == "databricks-u2m":  # no browser: the link is "opened elsewhere", the address pasted back
            out = io.StringIO()
            source: Any = DatabricksU2MSource(
                settings, store=store, no_browser=True, out=out, stdin=helpers.PasteAfterSignIn(out, env)
            )
        else:  # Entra's sign-in pages, in the real headless Chromium

            def open_url(url: str) -> None:
                driver = [sys.executable, str(U2M_TESTS / "drive_browser.py"), url]
                browsers.append(subprocess.Popen(driver, env=env))

            source = AzureU2MSource(
                settings, store=store, opener=open_url, out=io.StringIO(), login_timeout=90
            )
        result = source.login()
        assert result.account == env["BRICKAUTH_TEST_BROWSER_USER"]
        return Signed(source, env)

    yield prime
    for browser in browsers:
        browser.wait(timeout=60)


def doctor(
    signed: Signed, *args: str, offset: str | None = EXPIRED
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``brickauth doctor --json`` in a child process "``offset`` seconds later"; its token check."""
    from u2m_harness import brickauth

    env = dict(signed.env)
    if offset is not None:
        env["BRICKAUTH_TEST_CLOCK_OFFSET"] = offset
    done = brickauth("doctor", "--auth-type", signed.source.flow, "--json", *BOUNDS, *args, env=env,
                     timeout=300)
    report = json.loads(done.stdout)
    [token] = [c for c in report["checks"] if c["check"] == "token.acquire"]
    return done, token


def plain_doctor(signed: Signed, offset: str = EXPIRED) -> subprocess.CompletedProcess[str]:
    from u2m_harness import brickauth

    env = {**signed.env, "BRICKAUTH_TEST_CLOCK_OFFSET": offset}
    return brickauth("doctor", "--auth-type", signed.source.flow, *BOUNDS, env=env, timeout=300)


def assert_no_token_in(signed: Signed, before: list[str], *outputs: str) -> None:
    for secret in {*before, *signed.secrets()}:
        for output in outputs:
            assert secret not in output


def token_service(flow: str) -> str:
    return "entra" if flow == "azure-u2m" else "workspace"


# -- a successful silent refresh ------------------------------------------------------------------


@pytest.mark.parametrize(
    "flow", ["databricks-u2m", pytest.param("azure-u2m", marks=[pytest.mark.browser, pytest.mark.slow])]
)
def test_an_expired_access_token_is_refreshed_and_the_rotated_tokens_saved(
    sandbox: Sandbox, sign_in: Callable[[str], Signed], flow: str
) -> None:
    signed = sign_in(flow)
    user = signed.env["BRICKAUTH_TEST_BROWSER_USER"]
    before_doc, before_secrets, before_rt = signed.doc(), signed.secrets(), signed.refresh_token()
    service = token_service(flow)
    assert sandbox.request_log.count(service=service, grant_type="refresh_token") == 0

    done, token = doctor(signed)

    assert token["status"] == "ok", token
    assert f"signed in as {user} ({flow}, " in token["summary"]
    assert "access token refreshed with the saved refresh token, expires in " in token["summary"]
    assert 3500 < token["details"]["expires_in"] <= 3600  # a new one-hour token, by doctor's clock
    assert token["details"]["refreshed"] is True and token["details"]["account"] == user
    assert sandbox.request_log.count(service=service, grant_type="refresh_token") == 1
    assert sandbox.request_log.count(service=service, grant_type="refresh_token", status=200) == 1
    after = signed.doc()
    assert signed.refresh_token() != before_rt  # rotated, and saved back
    assert after["expires_at"] > before_doc["expires_at"]
    assert done.returncode == 0, [
        (c["check"], c["summary"]) for c in json.loads(done.stdout)["checks"] if c["status"] != "ok"
    ]
    assert_no_token_in(signed, before_secrets, done.stdout, done.stderr)

    # The saved, rotated refresh token is the one the next run uses (a fresh token now: no refresh).
    _, token = doctor(signed, offset="0")
    assert token["status"] == "ok" and token["details"]["refreshed"] is False
    assert "access token cached" in token["summary"]
    assert sandbox.request_log.count(service=service, grant_type="refresh_token") == 1


def test_refresh_flag_refreshes_a_fresh_token(sandbox: Sandbox, sign_in: Callable[[str], Signed]) -> None:
    signed = sign_in("databricks-u2m")
    before_rt = signed.refresh_token()
    _, token = doctor(signed, offset=None)
    assert token["status"] == "ok" and token["details"]["refreshed"] is False
    assert sandbox.request_log.count(service="workspace", grant_type="refresh_token") == 0

    done, token = doctor(signed, "--refresh", offset=None)
    assert token["status"] == "ok", token
    assert "refreshed with the saved refresh token" in token["summary"]
    assert sandbox.request_log.count(service="workspace", grant_type="refresh_token", status=200) == 1
    assert signed.refresh_token() != before_rt
    assert done.returncode == 0


# -- a refused refresh: the cause and the exact login command ---------------------------------------


def revoke(sandbox: Sandbox, signed: Signed) -> tuple[str, str, str]:
    """Revoke the Entra grant behind the saved refresh token with a password reset; the cause id, error
    code and IdP's words doctor should show."""
    user = sandbox.tenant.users[signed.env["BRICKAUTH_TEST_BROWSER_USER"].lower()]
    sandbox.entra.reset_password(user, "a-new-password-1!")
    return "entra.grant_revoked", "BA221", "(AADSTS50173)"


@pytest.mark.parametrize(
    "flow", ["databricks-u2m", pytest.param("azure-u2m", marks=[pytest.mark.browser, pytest.mark.slow])]
)
def test_a_refused_refresh_names_the_cause_and_the_login_command(
    sandbox: Sandbox, sign_in: Callable[[str], Signed], flow: str
) -> None:
    if flow == "databricks-u2m":  # the app's refresh token TTL has passed by the time doctor runs
        sandbox.workspace.oauth_apps["databricks-cli"].refresh_token_ttl_minutes = 0
    signed = sign_in(flow)
    if flow == "databricks-u2m":
        cause, code, said = "databricks.refresh_token_expired", "BA241", "[Refresh token is invalid]"
    else:
        cause, code, said = revoke(sandbox, signed)
    user = signed.env["BRICKAUTH_TEST_BROWSER_USER"]
    before_doc, before_secrets = signed.doc(), signed.secrets()
    login = f"brickauth login --host {sandbox.workspace_url} --auth-type {flow}"
    if flow == "azure-u2m":
        app = signed.env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
        login += f" --tenant-id {signed.env['AZURE_TENANT_ID']} --client-id {app}"

    done, token = doctor(signed)

    assert (token["status"], token["cause_id"]) == ("fail", cause), token
    assert token["summary"].startswith(f"refreshing the cached sign-in of {user} was refused: [{code}] ")
    assert said in token["summary"]
    assert token["summary"].endswith(f". Fix: run `{login}`"), token["summary"]
    assert token["details"]["login_command"] == login
    assert done.returncode == 1
    service = token_service(flow)
    assert sandbox.request_log.count(service=service, grant_type="refresh_token") == 1
    assert sandbox.request_log.count(service=service, grant_type="refresh_token", status=200) == 0
    assert signed.doc() == before_doc  # a refused refresh leaves the saved sign-in as it was
    assert_no_token_in(signed, before_secrets, done.stdout, done.stderr)

    text = plain_doctor(signed)  # what a person reads
    assert text.returncode == 1
    assert f"run `{login}`" in text.stdout and f"[{cause}]" in text.stdout
    assert_no_token_in(signed, before_secrets, text.stdout, text.stderr)


# -- in process: a clock injected into doctor is the one the flow refreshes by ----------------------


def test_an_injected_clock_is_the_flows_clock(
    sandbox: Sandbox, sign_in: Callable[[str], Signed], helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring

    from brickauth.clock import FakeClock
    from brickauth.doctor.checks.token import check_token
    from brickauth.doctor.model import Check
    from brickauth.doctor.plan import build_plan
    from brickauth.doctor.runner import run_checks
    from brickauth.doctor.sources import gather

    signed = sign_in("databricks-u2m")
    before_rt = signed.refresh_token()
    for name in ("BRICKAUTH_STATE_DIR", "BRICKAUTH_TEST_KEYRING_FILE"):  # the latter: keyring's discovery
        monkeypatch.setenv(name, signed.env[name])
    monkeypatch.delenv("BRICKAUTH_TOKEN_STORE", raising=False)
    plan = build_plan(
        gather(
            {"auth_type": "databricks-u2m"}, env=signed.env, config_file=Path("/nonexistent/.databrickscfg")
        )
    )
    later = FakeClock(start=signed.doc()["expires_at"] + 5)  # the access token expired 5 s ago
    previous = keyring.get_keyring()
    keyring.set_keyring(helpers.FileKeyring(signed.env["BRICKAUTH_TEST_KEYRING_FILE"]))
    try:
        [token] = run_checks(
            plan,
            checks=[Check("token.acquire", "Token", check_token, target="idp")],
            clock=later,
            step_timeout=60.0,  # generous: this tests the refresh on doctor's clock, not the bounds
            deadline=240.0,
        )
    finally:
        keyring.set_keyring(previous)
    assert token.status == "ok", token.summary
    assert token.details["refreshed"] is True and token.details["expires_in"] == 3600
    assert sandbox.request_log.count(service="workspace", grant_type="refresh_token", status=200) == 1
    assert signed.refresh_token() != before_rt
    assert signed.doc()["expires_at"] == later.now() + 3600  # the flow read doctor's clock
