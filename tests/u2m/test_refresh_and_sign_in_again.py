"""The U2M lifecycle in one process with an injected clock (no waiting): cached token reused, refresh
with the refresh token, and a revoked grant -> LoginRequiredError when non-interactive, a new browser
sign-in when interactive. The browser is the real headless Chromium, opened by a test-side opener."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from keyrings_for_tests import FileKeyring
from u2m_harness import HERE, browser_pages, count, free_port, user_env

from brickauth.clock import FakeClock
from brickauth.config import resolve_settings
from brickauth.errors import LoginRequiredError
from brickauth.flows.azure_u2m import AzureU2MSource
from brickauth.flows.databricks_u2m import DatabricksU2MSource
from brickauth.store.keyring_store import KeyringStore
from brickauth_sandbox.core import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def world(sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    procs: list[subprocess.Popen[bytes]] = []

    def opener_for(env: dict[str, str]) -> Callable[[str], object]:
        def open_url(url: str) -> None:
            procs.append(subprocess.Popen([sys.executable, str(HERE / "drive_browser.py"), url], env=env))
        return open_url

    store = KeyringStore(FileKeyring(tmp_path / "keyring.json"), lock_dir=tmp_path / "locks")
    yield {"opener_for": opener_for, "store": store, "clock": FakeClock(start=time.time())}
    for p in procs:
        p.wait(timeout=60)


def make(cls: Any, env: dict[str, str], world: dict[str, Any], *, interactive: bool, **explicit: Any) -> Any:
    settings = resolve_settings({"auth_type": cls.flow, "interactive": interactive, **explicit}, env)
    return cls(settings, store=world["store"], opener=world["opener_for"](env), clock=world["clock"],
               login_timeout=90)


def test_azure_u2m_reuses_refreshes_and_signs_in_again_after_revocation(
    sandbox: Sandbox, u2m_env: dict[str, str], world: dict[str, Any]
) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m")
    clock: FakeClock = world["clock"]
    source = make(AzureU2MSource, env, world, interactive=True)
    first = source.fetch()
    assert browser_pages(env, wait_for=1) == [["entra-sign-in", "landing"]]
    assert count(sandbox, service="entra", grant_type="authorization_code") == 1

    before = len(sandbox.request_log)
    assert source.fetch().token == first.token  # fresh: no network
    assert len(sandbox.request_log) == before

    clock.advance(3480)  # 2 minutes left of the one-hour token: inside the shared refresh window
    second = source.fetch()
    assert second.expires_at > first.expires_at
    assert count(sandbox, service="entra", grant_type="refresh_token", status=200) == 1

    user = sandbox.tenant.users[env["BRICKAUTH_TEST_BROWSER_USER"].lower()]
    sandbox.entra.revoke_sign_in_sessions(user)  # e.g. a password reset: AADSTS50173
    clock.advance(3500)
    batch = make(AzureU2MSource, env, world, interactive=False)
    with pytest.raises(LoginRequiredError) as err:
        batch.fetch()
    assert err.value.code == "BA602"
    assert f"brickauth login --host {sandbox.workspace_url} --auth-type azure-u2m" in str(err.value)
    assert "50173" in str(err.value)
    assert len(browser_pages(env)) == 1

    third = source.fetch()  # interactive: signs in again in the browser
    assert third.expires_at > second.expires_at
    assert len(browser_pages(env, wait_for=2)) == 2
    assert count(sandbox, service="entra", grant_type="authorization_code", status=200) == 2


def test_databricks_u2m_refresh_and_invalid_grant(
    sandbox: Sandbox, u2m_env: dict[str, str], world: dict[str, Any]
) -> None:
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    env = user_env(sandbox, u2m_env, "databricks-u2m")
    clock: FakeClock = world["clock"]
    source = make(DatabricksU2MSource, env, world, interactive=True, redirect_port=port)
    first = source.fetch()
    assert browser_pages(env, wait_for=1) == [["databricks-sign-in", "landing"]]
    clock.advance(3480)
    second = source.fetch()
    assert second.expires_at > first.expires_at
    assert count(sandbox, service="workspace", grant_type="refresh_token", status=200) == 1

    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    sandbox.set_active(user.lower(), False)
    clock.advance(3500)
    batch = make(DatabricksU2MSource, env, world, interactive=False, redirect_port=port)
    with pytest.raises(LoginRequiredError) as err:
        batch.fetch()
    assert "invalid_grant" in str(err.value) or "no longer be refreshed" in str(err.value)
    assert f"--host {sandbox.workspace_url} --auth-type databricks-u2m" in str(err.value)

    sandbox.set_active(user.lower(), True)  # the refresh token works again: no browser needed
    third = source.fetch()
    assert third.expires_at > second.expires_at
    assert count(sandbox, service="workspace", grant_type="refresh_token", status=200) == 2

    store = world["store"]  # a refresh token the server no longer knows (expired, revoked)
    doc = store.load(source.key)
    store.save(source.key, {**doc, "refresh_token": "no-longer-valid"})
    clock.advance(3500)
    fourth = source.fetch()
    assert fourth.expires_at > third.expires_at
    assert len(browser_pages(env, wait_for=2)) == 2
    assert count(sandbox, service="workspace", grant_type="authorization_code", status=200) == 2
