"""Issue 10: a 401 from the workspace for a token we believed valid (revoked, sessions reset) makes the
next attempt get a new token: ``provider.invalidate()`` forgets it in memory and in the token store, and
``is_unauthorized`` recognises the refusal as the clients raise it."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from keyrings_for_tests import FileKeyring
from u2m_harness import PasteAfterSignIn, user_env

import brickauth
from brickauth.config import resolve_settings
from brickauth.flows.databricks_u2m import DatabricksU2MSource
from brickauth.provider import is_unauthorized
from brickauth.store.keyring_store import KeyringStore
from brickauth_sandbox.core import Sandbox


def connect_and_select(provider: Any, env: dict[str, str]) -> str:
    from databricks import sql

    with sql.connect(server_hostname=urlsplit(env["DATABRICKS_HOST"]).hostname,
                     http_path=env["DATABRICKS_HTTP_PATH"], credentials_provider=provider,
                     _tls_trusted_ca_file=env["REQUESTS_CA_BUNDLE"], enable_telemetry=False,
                     _retry_stop_after_attempts_count=1, _socket_timeout=60) as conn, \
            conn.cursor() as cur:  # fmt: skip
        cur.execute("SELECT current_user()")
        return str(cur.fetchone()[0])


def test_sql_connector_401_then_invalidate_gets_a_new_token(sandbox: Sandbox,
                                                            sandbox_env: dict[str, str]) -> None:
    provider = brickauth.credentials_provider("databricks-m2m")
    assert connect_and_select(provider, sandbox_env) == sandbox.ids.databricks_sp_client_id
    first = provider.token().token
    sandbox.reject_access_token(first)
    with pytest.raises(Exception) as err:  # the connector's own error type
        connect_and_select(provider, sandbox_env)
    assert is_unauthorized(err.value), repr(err.value)
    assert not is_unauthorized(ValueError("HTTP 403 forbidden"))
    provider.invalidate()
    assert connect_and_select(provider, sandbox_env) == sandbox.ids.databricks_sp_client_id
    assert provider.token().token != first
    assert sandbox.request_log.count(service="workspace", grant_type="client_credentials") == 2


SECOND_PROCESS = textwrap.dedent("""
    import os, sys
    from urllib.parse import urlsplit
    from databricks import sql
    import brickauth
    p = brickauth.credentials_provider("databricks-u2m")
    with sql.connect(server_hostname=urlsplit(os.environ["DATABRICKS_HOST"]).hostname,
                     http_path=os.environ["DATABRICKS_HTTP_PATH"], credentials_provider=p,
                     _tls_trusted_ca_file=os.environ["REQUESTS_CA_BUNDLE"], enable_telemetry=False,
                     _retry_stop_after_attempts_count=1) as c, c.cursor() as cur:
        cur.execute("SELECT current_user()")
        print("USER=" + cur.fetchone()[0])
""")


def test_u2m_invalidate_reaches_the_token_store(sandbox: Sandbox, u2m_env: dict[str, str]) -> None:
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_INTERACTIVE="0")
    keyring = Path(env["BRICKAUTH_TEST_KEYRING_FILE"])
    store = KeyringStore(FileKeyring(keyring), lock_dir=Path(env["BRICKAUTH_STATE_DIR"]) / "locks")
    settings = resolve_settings({"auth_type": "databricks-u2m", "interactive": True}, env)
    out = io.StringIO()
    signed = DatabricksU2MSource(settings, store=store, no_browser=True, out=out,
                                 stdin=PasteAfterSignIn(out, env)).login()  # fmt: skip
    sandbox.reject_access_token(signed.token.token)

    provider = brickauth.credentials_provider("databricks-u2m", env=env)
    provider.source.store = store  # type: ignore[attr-defined]  # the same test keyring, in process
    with pytest.raises(Exception) as err:
        connect_and_select(provider, env)
    assert is_unauthorized(err.value), repr(err.value)
    provider.invalidate()  # the store too: another process must not reuse the refused token

    user = env["BRICKAUTH_TEST_BROWSER_USER"]
    other = subprocess.run([sys.executable, "-c", SECOND_PROCESS], env=env, capture_output=True, text=True,
                           timeout=120, check=False)  # fmt: skip
    assert other.returncode == 0, other.stderr[-2000:]
    assert f"USER={user}" in other.stdout
    assert sandbox.request_log.count(service="workspace", grant_type="refresh_token", status=200) == 1
