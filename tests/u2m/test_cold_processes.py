"""Eight processes starting together on an empty cache cause one sign-in, and, once the token has aged,
eight more cause one refresh: the cross-process lock + re-read of the token store at work.

The second batch runs 58 minutes "later" through ``BRICKAUTH_TEST_CLOCK_OFFSET`` (the U2M code's wall
clock in those processes), so nobody waits for the saved one-hour token to age."""

from __future__ import annotations

import pytest
from u2m_harness import browser_pages, count, free_port, start_connect, user_env

from brickauth_sandbox.core import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LATER = 3480.0  # seconds: 2 minutes left of the one-hour token, inside the shared refresh window


def run_batch(env: dict[str, str], n: int = 8) -> list[str]:
    procs = [start_connect("databricks-u2m", env) for _ in range(n)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [o[1][-2000:] for o in outs]
    return [o[0] for o in outs]


@pytest.mark.timeout(600)
def test_eight_cold_processes_one_sign_in_then_one_refresh(sandbox: Sandbox, u2m_env: dict[str, str]) -> None:
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_INTERACTIVE="1",
                   BRICKAUTH_REDIRECT_PORT=str(port))
    user = env["BRICKAUTH_TEST_BROWSER_USER"]

    outs = run_batch(env)
    assert all(f"CURRENT_USER={user}" in out for out in outs)
    assert len(browser_pages(env, wait_for=1)) == 1  # one browser, one sign-in
    assert count(sandbox, service="workspace", method="POST", path="/oidc/v1/authorize") == 1
    assert count(sandbox, service="workspace", grant_type="authorization_code") == 1
    assert count(sandbox, service="workspace", grant_type="refresh_token") == 0

    outs = run_batch({**env, "BRICKAUTH_TEST_CLOCK_OFFSET": str(LATER)})
    assert all(f"CURRENT_USER={user}" in out for out in outs)
    assert count(sandbox, service="workspace", grant_type="refresh_token") == 1
    assert count(sandbox, service="workspace", grant_type="authorization_code") == 1
    assert len(browser_pages(env)) == 1
