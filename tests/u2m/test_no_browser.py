"""databricks-u2m without a browser on this machine: the link is printed, the person signs in
elsewhere and pastes back the address the browser ended on (played here with plain HTTP)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
from keyrings_for_tests import FileKeyring
from u2m_harness import count, user_env

from brickauth.errors import LoginError
from brickauth.flows.databricks_u2m import DatabricksU2MSource
from brickauth.sandbox.core import Sandbox
from brickauth.settings import resolve_settings
from brickauth.store.keyring_store import KeyringStore


def sign_in_elsewhere(printed: str, env: dict[str, str]) -> str:
    """Open the printed link, sign in at the workspace page; return where the browser was sent."""
    url = re.search(r"https://\S+/oidc/v1/authorize\?\S+", printed)
    assert url is not None, printed
    http = requests.Session()
    http.verify = env["REQUESTS_CA_BUNDLE"]
    http.trust_env = False  # else the machine's REQUESTS_CA_BUNDLE overrides verify
    page = http.get(url.group(0), timeout=10)
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    assert txn is not None, page.text[:300]
    done = http.post(page.url, data={"txn": txn.group(1), "username": env["BRICKAUTH_TEST_BROWSER_USER"],
                                      "password": env["BRICKAUTH_TEST_BROWSER_PASSWORD"]},
                     allow_redirects=False, timeout=10)
    assert done.status_code in (302, 303), done.text[:300]
    return str(done.headers["Location"])


class PasteAfterSignIn(io.StringIO):
    """stdin whose line is the redirect address, produced when the command asks for it."""

    def __init__(self, out: io.StringIO, env: dict[str, str], tamper: bool = False) -> None:
        super().__init__()
        self.out, self.env, self.tamper = out, env, tamper

    def readline(self, size: int | None = -1) -> str:
        address = sign_in_elsewhere(self.out.getvalue(), self.env)
        return (address.replace("state=", "state=x") if self.tamper else address) + "\n"


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
