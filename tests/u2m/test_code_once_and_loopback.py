"""Issue 10: the authorization code is never sent twice (no retry of a redemption after a read timeout),
and the loopback listener answers malformed requests with 400, never printing a traceback."""

from __future__ import annotations

import io
import socket
import sys
import textwrap
from pathlib import Path

import pytest
from keyrings_for_tests import FileKeyring
from u2m_harness import HERE, PasteAfterSignIn, brickauth, browser_pages, free_port, landing_text, user_env

from brickauth.config import resolve_settings
from brickauth.errors import NetworkError
from brickauth.flows.databricks_u2m import DatabricksU2MSource
from brickauth.oauth.loopback import LoopbackServer
from brickauth.store.keyring_store import KeyringStore
from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.faults import TOKEN_PATHS


def test_databricks_code_redemption_is_not_retried_after_a_read_timeout(
    sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path
) -> None:
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_TIMEOUT="2")
    settings = resolve_settings({"auth_type": "databricks-u2m", "interactive": True}, env)
    sandbox.faults["workspace"].hang(path_prefix=TOKEN_PATHS["workspace"], count=1, method="POST")
    out = io.StringIO()
    source = DatabricksU2MSource(
        settings, store=KeyringStore(FileKeyring(tmp_path / "k.json"), lock_dir=tmp_path / "locks"),
        no_browser=True, out=out, stdin=PasteAfterSignIn(out, env))  # fmt: skip
    with pytest.raises(NetworkError) as err:
        source.login()
    assert err.value.code == "BA504" and "does not send it again" in err.value.message
    assert sandbox.faults["workspace"].hung == 1
    sandbox.faults["workspace"].release()
    assert sandbox.request_log.wait_for(1, timeout=30, service="workspace", grant_type="authorization_code")
    assert sandbox.request_log.count(service="workspace", grant_type="authorization_code") == 1


@pytest.mark.browser
@pytest.mark.slow
def test_entra_code_redemption_is_sent_once_and_the_page_says_why(sandbox: Sandbox,
                                                                   u2m_env: dict[str, str]) -> None:
    env = user_env(sandbox, u2m_env, "azure-u2m", BRICKAUTH_TIMEOUT="3")
    sandbox.faults["entra"].hang(path_prefix=TOKEN_PATHS["entra"], count=1, method="POST")
    done = brickauth("login", "--auth-type", "azure-u2m", env=env)
    assert done.returncode == 1 and "[BA504]" in done.stderr and "Traceback" not in done.stderr
    assert browser_pages(env, wait_for=1)[0][-1] == "landing"
    assert "BA504" in landing_text(env)
    sandbox.faults["entra"].release()
    assert sandbox.request_log.wait_for(1, timeout=30, service="entra", grant_type="authorization_code")
    assert sandbox.request_log.count(service="entra", grant_type="authorization_code") == 1


MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999\r\n\r\n",
    b"GET /?state=%ff%fe%00&code=\xff\xfe HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
]


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_requests_get_400_and_no_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(port=0) as server:
        server.expect("the-state")
        for data in MALFORMED:
            answer = raw(server.port, data)
            assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", (data, answer[:200])
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /?state=x HTTP/1.1\r\n")  # then hang up mid-request
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out


BAD_BROWSER = textwrap.dedent("""
    import socket, subprocess, sys
    from urllib.parse import parse_qs, urlsplit
    url = sys.argv[1]
    redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    port = urlsplit(redirect).port
    for data in %r:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            assert b" 400 " in s.recv(65536).split(b"\\r\\n", 1)[0] + b" "
    sys.exit(subprocess.call([sys.executable, sys.argv[2], url]))
""") % (MALFORMED,)


@pytest.mark.browser
@pytest.mark.slow
def test_login_survives_malformed_requests_to_its_listener(
    sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    sandbox.workspace.oauth_apps["databricks-cli"].redirect_urls.append(f"http://localhost:{port}")
    script = tmp_path / "bad_browser.py"
    script.write_text(BAD_BROWSER)
    env = user_env(sandbox, u2m_env, "databricks-u2m", BRICKAUTH_REDIRECT_PORT=str(port),
                   BRICKAUTH_BROWSER=f"{sys.executable} {script} %s {HERE / 'drive_browser.py'}")  # fmt: skip
    done = brickauth("login", "--auth-type", "databricks-u2m", env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Signed in as" in done.stdout
    assert browser_pages(env, wait_for=1) == [["databricks-sign-in", "landing"]]
