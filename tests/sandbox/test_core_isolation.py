"""A test's sandbox state never leaks into the next test (these run in file order)."""

from __future__ import annotations

import requests

from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.lifetimes import TokenLifetimes

_seen: dict[str, object] = {}


def test_1_changes_everything(sandbox: Sandbox) -> None:
    _seen["session"] = id(sandbox)
    sandbox.add_user("leaky@contoso.onmicrosoft.com")
    sandbox.revoke_can_use(sandbox.ids.m2m_client_id)
    sandbox.stop_warehouse()
    sandbox.set_token_lifetime(3)
    sandbox.expire_client_secrets()
    sandbox.faults["entra"].fail_next(10)
    sandbox.faults["workspace"].hang()
    requests.get(f"{sandbox.admin_url}/admin", verify=str(sandbox.ca_bundle), timeout=10)
    assert len(sandbox.request_log) == 1


def test_2_sees_the_baseline(sandbox: Sandbox) -> None:
    assert _seen.get("session") in (None, id(sandbox))  # the same running sandbox, reset
    assert "leaky@contoso.onmicrosoft.com" not in sandbox.tenant.users
    assert "leaky@contoso.onmicrosoft.com" not in sandbox.workspace.principals
    assert sandbox.ids.m2m_client_id in sandbox.warehouse().can_use
    assert sandbox.warehouse().state == "RUNNING"
    assert sandbox.lifetimes == TokenLifetimes()
    m2m = sandbox.tenant.apps[sandbox.ids.m2m_client_id]
    assert all(s.expires_at > sandbox.clock.now() for s in m2m.secrets)
    assert all(f.rules() == [] for f in sandbox.faults.values())
    assert len(sandbox.request_log) == 0
    # And the services answer normally (no leftover hang or failure).
    r = requests.get(f"{sandbox.workspace_url}/.well-known/databricks-config", verify=str(sandbox.ca_bundle),
                     timeout=10)
    assert r.status_code == 200
