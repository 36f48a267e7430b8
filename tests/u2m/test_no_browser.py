"""databricks-u2m without a browser on this machine: the link is printed, the person signs in
elsewhere and pastes back the address the browser ended on (played here with plain HTTP)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from keyrings_for_tests import FileKeyring
from u2m_harness import PasteAfterSignIn, count, user_env

from brickauth.config import resolve_settings
from brickauth.errors import LoginError
from brickauth.flows.databricks_u2m import DatabricksU2MSource
from brickauth.store.keyring_store import KeyringStore
from brickauth_sandbox.core import Sandbox


@pytest.mark.parametrize("tamper", [False, True])
def test_no_browser_sign_in_with_pasted_redirect(sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path,
                                                 tamper: bool) -> None:
    env = user_env(sandbox, u2m_env, "databricks-u2m")
    settings = resolve_settings({"auth_type": "databricks-u2m", "interactive": True}, env)
    out = io.StringIO()
    source = DatabricksU2MSource(
        settings, store=KeyringStore(FileKeyring(tmp_path / "k.json"), lock_dir=tmp_path / "locks"),
        no_browser=True, out=out, stdin=PasteAfterSignIn(out, env, tamper))
    if tamper:
        with pytest.raises(LoginError) as err:
            source.login()
        assert err.value.code == "BA611"
        assert count(sandbox, service="workspace", grant_type="authorization_code") == 0
        return
    result = source.login()
    assert result.account == env["BRICKAUTH_TEST_BROWSER_USER"]
    assert "no browser here" in out.getvalue() and "Paste the address here" in out.getvalue()
    assert count(sandbox, service="workspace", grant_type="authorization_code", status=200) == 1
    assert source.fetch().token == result.token.token  # saved: no second sign-in
