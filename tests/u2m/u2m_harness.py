"""Running brickauth in child processes against the sandbox, as a user would."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import requests

from brickauth_sandbox.core import Sandbox

HERE = Path(__file__).parent
STORE_TESTS = HERE.parent / "store"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

CONNECT = textwrap.dedent("""
    import os, sys
    from urllib.parse import urlsplit
    from databricks import sql
    import brickauth
    provider = brickauth.credentials_provider(auth_type=sys.argv[1])
    host = urlsplit(os.environ["DATABRICKS_HOST"]).hostname
    with sql.connect(server_hostname=host, http_path=os.environ["DATABRICKS_HTTP_PATH"],
                     credentials_provider=provider, _tls_trusted_ca_file=os.environ["REQUESTS_CA_BUNDLE"],
                     enable_telemetry=False, _retry_stop_after_attempts_count=1,
                     _socket_timeout=60) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user()")
        print("CURRENT_USER=" + cur.fetchone()[0])
""")


def user_env(sb: Sandbox, base: dict[str, str], flow: str, **extra: str) -> dict[str, str]:
    """The sandbox's client environment for a person signing in: no service principal secrets."""
    sandbox_env = sb.env()
    env = dict(base)
    for name in ("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
                 "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID"):
        env[name] = sandbox_env[name]
    if flow == "azure-u2m":
        env["BRICKAUTH_AZURE_U2M_CLIENT_ID"] = sandbox_env["BRICKAUTH_AZURE_U2M_CLIENT_ID"]
    env["BRICKAUTH_TEST_BROWSER_USER"] = sandbox_env["BRICKAUTH_SANDBOX_USER"]
    env["BRICKAUTH_TEST_BROWSER_PASSWORD"] = sandbox_env["BRICKAUTH_SANDBOX_PASSWORD"]
    env.update(extra)
    return env


def brickauth(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "brickauth.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def connect(flow: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CONNECT, flow], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def start_connect(flow: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CONNECT, flow], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def keyring_entries(env: dict[str, str]) -> dict[str, str]:
    path = Path(env["BRICKAUTH_TEST_KEYRING_FILE"])
    return json.loads(path.read_text()) if path.exists() else {}


def browser_pages(env: dict[str, str], *, wait_for: int = 0, timeout: float = 60) -> list[list[str]]:
    """What each browser run saw. ``wait_for=n`` waits until n runs have finished (the driver ends a
    moment after brickauth got its answer)."""
    out = Path(env["BRICKAUTH_TEST_BROWSER_OUT"])
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(out.glob("pages-*.json")) if out.exists() else []
        if len(files) >= wait_for or time.monotonic() > deadline:
            return [json.loads(p.read_text()) for p in files]
        time.sleep(0.1)  # polling the driver's output files


def landing_text(env: dict[str, str], n: int = 1) -> str:
    return (Path(env["BRICKAUTH_TEST_BROWSER_OUT"]) / f"landing-{n}.txt").read_text()


def count(sb: Sandbox, **criteria: Any) -> int:
    return sb.request_log.count(**criteria)


# -- databricks-u2m without a browser: the printed link is opened "elsewhere" ----------------------


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
