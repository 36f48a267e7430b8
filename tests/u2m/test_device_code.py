"""azure-u2m without a browser: Entra's device code flow against the sandbox's ``/devicecode`` and
``/devicelogin`` pages, with the person played by a real headless Chromium on "another device"."""

from __future__ import annotations

import io
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from keyrings_for_tests import FileKeyring
from u2m_harness import HERE, browser_pages, connect, count, keyring_entries, user_env

from brickauth.clock import FakeClock
from brickauth.config import resolve_settings
from brickauth.errors import LoginError
from brickauth.flows.azure_u2m import AzureU2MSource
from brickauth.store.keyring_store import KeyringStore
from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PROMPT = re.compile(r"open (https://\S+) in a browser on any device and enter the code (\S+) ")


def enter_code_in_chromium(env: dict[str, str], page: str, code: str) -> None:
    """The person opens the device login page elsewhere and signs in (or declines the consent)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "drive_browser.py"), page, code], env=env, timeout=120, check=False
    )
    assert done.returncode == 0


def lines_of(stream: Any) -> queue.Queue[str]:
    """A child's stderr, line by line, readable with a timeout."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


@pytest.mark.browser
@pytest.mark.slow
def test_device_code_login_in_chromium_then_a_second_process_connects(
    sandbox: Sandbox, u2m_env: dict[str, str]
) -> None:
    sandbox.set_lifetimes(device_code_interval_seconds=1)  # the login process polls in real time
    env = user_env(sandbox, u2m_env, "azure-u2m")
    env.pop("BRICKAUTH_BROWSER")  # nothing opens a browser on this machine
    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    login = subprocess.Popen(
        [sys.executable, "-m", "brickauth.cli.main", "login", "--auth-type", "azure-u2m", "--no-browser"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        stderr = lines_of(login.stderr)
        app = stderr.get(timeout=60)  # which app signs in, and why (issue 10)
        public = env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
        assert app.startswith(f"brickauth: signing in with the OAuth app {public} ")
        said = stderr.get(timeout=60)
        prompt = PROMPT.search(said)
        assert prompt is not None, said
        page, code = prompt.groups()
        assert page == f"{sandbox.entra_url}/devicelogin"
        assert [r.user_code for r in sandbox.entra.grants.device_codes.values()] == [code]
        assert said.startswith(f"brickauth: no browser here. To sign in to {sandbox.workspace_url}, ")

        enter_code_in_chromium(env, page, code)
        out, _ = login.communicate(timeout=60)
    finally:
        login.kill()
    assert login.returncode == 0, list(stderr.queue)
    assert f"Signed in as {user} for {sandbox.workspace_url} (azure-u2m)" in out
    assert browser_pages(env) == [["entra-device-code", "entra-sign-in", "device-done"]]
    assert count(sandbox, service="entra", grant_type="devicecode") == 1
    assert count(sandbox, service="entra", grant_type=DEVICE_GRANT, status=200) == 1
    assert any(k.startswith("brickauth\x00brickauth-") for k in keyring_entries(env))  # in the keyring

    headless = {**env, "BRICKAUTH_INTERACTIVE": "0"}
    second = connect("azure-u2m", headless)
    assert second.returncode == 0, second.stderr
    assert f"CURRENT_USER={user}" in second.stdout
    assert count(sandbox, service="entra", grant_type="devicecode") == 1  # no second sign-in
    assert count(sandbox, service="entra", grant_type=DEVICE_GRANT, status=200) == 1
    assert count(sandbox, service="entra", grant_type="authorization_code") == 0
    assert len(browser_pages(env)) == 1


def device_source(sandbox: Sandbox, env: dict[str, str], tmp_path: Path, **kwargs: Any) -> AzureU2MSource:
    settings = resolve_settings({"auth_type": "azure-u2m", "interactive": True, "no_browser": True}, env)
    store = KeyringStore(FileKeyring(tmp_path / "keyring.json"), lock_dir=tmp_path / "locks")
    return AzureU2MSource(settings, store=store, **kwargs)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Attempted too soon")  # the test's poll comes before msal's interval
def test_device_code_declined_in_chromium(sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path) -> None:
    sandbox.set_lifetimes(device_code_interval_seconds=2)
    env = user_env(sandbox, u2m_env, "azure-u2m", BRICKAUTH_TEST_BROWSER_CONSENT="cancel")
    app = env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
    sandbox.tenant.admin_consent.pop((app, AZURE_DATABRICKS_RESOURCE_ID), None)
    out = io.StringIO()

    def person_declines_while_we_wait(seconds: float) -> None:
        prompt = PROMPT.search(out.getvalue())
        assert prompt is not None and seconds == 2  # the server's interval
        enter_code_in_chromium(env, *prompt.groups())

    source = device_source(sandbox, env, tmp_path, out=out, sleep=person_declines_while_we_wait)
    with pytest.raises(LoginError) as err:
        source.login()
    assert err.value.code == "BA613"
    assert str(err.value).startswith(
        f"[BA613] The device code sign-in at {sandbox.entra_url}/devicelogin was "
        "declined (authorization_declined)."
    )
    assert "accept the sign-in and permissions prompt" in err.value.fix
    assert browser_pages(env) == [["entra-device-code", "entra-sign-in", "entra-consent", "device-declined"]]
    assert count(sandbox, service="entra", grant_type=DEVICE_GRANT) == 2
    assert source.store.load(source.key) is None


@pytest.mark.filterwarnings("ignore:Attempted too soon")  # the fake clock runs ahead of msal's
def test_device_code_nobody_signs_in_times_out(
    sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path
) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m")
    clock = FakeClock()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    out = io.StringIO()
    source = device_source(sandbox, env, tmp_path, clock=clock, sleep=wait, login_timeout=2.4, out=out)
    with pytest.raises(LoginError) as err:
        source.login()
    assert err.value.code == "BA612"
    assert f"No one entered the device code at {sandbox.entra_url}/devicelogin within 12 s" in str(err.value)
    assert "BRICKAUTH_LOGIN_TIMEOUT" in err.value.fix
    assert waits == [5.0, 5.0, 2.0]  # the server's interval, then what is left
    assert count(sandbox, service="entra", grant_type=DEVICE_GRANT) == 4
    assert "enter the code" in out.getvalue() and "(within 12 s)." in out.getvalue()
    assert source.store.load(source.key) is None


@pytest.mark.filterwarnings("ignore:Attempted too soon")  # the fake clock runs ahead of msal's
def test_device_code_polls_at_the_interval_the_sandbox_sets(
    sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.set_lifetimes(device_code_interval_seconds=3)
    env = user_env(sandbox, u2m_env, "azure-u2m")
    clock = FakeClock()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    source = device_source(
        sandbox, env, tmp_path, clock=clock, sleep=wait, login_timeout=1.2, out=io.StringIO()
    )
    with pytest.raises(LoginError) as err:
        source.login()
    assert err.value.code == "BA612"
    assert waits == [3.0, 3.0]  # 6 s to wait in all, polled every 3 s
    assert count(sandbox, service="entra", grant_type=DEVICE_GRANT) == 3


def test_device_code_expired_at_the_server(sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path) -> None:
    sandbox.set_lifetimes(device_code_seconds=0)  # Entra says expired_token (AADSTS70019) at the first poll
    env = user_env(sandbox, u2m_env, "azure-u2m")
    source = device_source(sandbox, env, tmp_path, out=io.StringIO(), sleep=pytest.fail)
    with pytest.raises(LoginError) as err:
        source.login()
    assert err.value.code == "BA612"
    assert "The device code expired before the sign-in" in str(err.value) and "(expired_token)" in str(
        err.value
    )
    assert count(sandbox, service="entra", grant_type=DEVICE_GRANT) == 1


def test_device_code_needs_public_client_flows(
    sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path
) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m")
    sandbox.tenant.apps[env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]].allow_public_client_flows = False
    source = device_source(sandbox, env, tmp_path, out=io.StringIO(), sleep=pytest.fail)
    with pytest.raises(LoginError) as err:
        source.login()
    assert err.value.code == "BA617"
    app = env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
    assert f"app registration {app} does not allow public client flows" in str(err.value)
    assert "set 'Allow public client flows' to Yes" in err.value.fix
