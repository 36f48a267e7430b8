"""N cold processes on one machine, each with its own provider, make one token request between them
(and, for Entra tokens, one exchange), through the real SQL connector, counted in the sandbox's
request log. A second batch runs 58 minutes "later" (the children's provider gets a clock that runs
TEST_CLOCK_OFFSET seconds ahead; nobody waits):
one more request for the new token.

Eight processes are fresh interpreters. Sixty-four interpreters each importing the connector take
minutes of CPU on a small shared machine, so the 64 are forked by one launcher process after it imported
brickauth and the connector (and before any provider, token or lock exists): still 64 processes, each
with its own provider, racing for the same store. Marked slow, bounded by timeouts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("databricks.sql")
pytest.importorskip("brickauth_sandbox.core")

from brickauth_sandbox.core import Sandbox

pytestmark = [pytest.mark.slow]

TOKEN_REQUEST = {
    "databricks-m2m": {"service": "workspace", "grant_type": "client_credentials", "path": "/oidc/v1/token"},
    "azure-m2m": {"service": "entra", "grant_type": "client_credentials",
                  "path_contains": "/oauth2/v2.0/token"},
}
EXCHANGE = {"service": "workspace", "path": "/oidc/v1/token",
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange"}
LATER = 3480.0  # 58 min into a one-hour token: stale for the cache (in its mandatory window), still valid

CHILD = textwrap.dedent("""
    import os, sys
    from urllib.parse import urlsplit
    import time
    import brickauth
    from databricks import sql
    import databricks.sql.client  # sql.connect imports it (and pandas) lazily: once, before any fork

    class ShiftedClock:  # this child's wall clock runs TEST_CLOCK_OFFSET seconds ahead
        offset = float(os.environ.get("TEST_CLOCK_OFFSET") or 0)

        def now(self) -> float:
            return time.time() + self.offset

        def monotonic(self) -> float:
            return time.monotonic()

    def query() -> str:
        provider = brickauth.credentials_provider(sys.argv[1], clock=ShiftedClock())
        host = urlsplit(os.environ["DATABRICKS_HOST"]).hostname
        with sql.connect(server_hostname=host, http_path=os.environ["DATABRICKS_HTTP_PATH"],
                         credentials_provider=provider, _tls_trusted_ca_file=os.environ["REQUESTS_CA_BUNDLE"],
                         enable_telemetry=False, _retry_stop_after_attempts_count=1,
                         _socket_timeout=120) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_user()")
            return "CURRENT_USER=" + cur.fetchone()[0]

    forks = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if not forks:
        print(query())
    else:  # the launcher: fork the processes, collect one line from each
        read, write = os.pipe()
        pids = []
        for _ in range(forks):
            pid = os.fork()
            if pid == 0:
                os.close(read)
                try:
                    line = query()
                except BaseException as exc:
                    line = f"FAILED {type(exc).__name__}: {str(exc)[:300]}"
                os.write(write, (line.replace(chr(10), " ") + chr(10)).encode())
                os._exit(0)
            pids.append(pid)
        os.close(write)
        with os.fdopen(read) as lines:
            for line in lines:
                print(line, end="")
        for pid in pids:
            os.waitpid(pid, 0)
""")


def run_batch(flow: str, env: dict[str, str], n: int) -> list[str]:
    if n > 8:
        done = subprocess.run([sys.executable, "-c", CHILD, flow, str(n)], env=env, text=True,
                              capture_output=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return [line + "\n" for line in done.stdout.splitlines()]
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, flow], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=400))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0] * n, [err[-1500:] for _, err in outs if err][:2]
    return [out for out, _ in outs]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("n", [8, 64])
@pytest.mark.parametrize("flow", ["databricks-m2m", "azure-m2m"])
def test_cold_processes_make_one_token_request(sandbox: Sandbox, tmp_path: Path, flow: str, n: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRICKAUTH_", "DATABRICKS_", "AZURE_"))}
    env |= sandbox.env()
    env |= {"BRICKAUTH_STATE_DIR": str(tmp_path / "state"), "BRICKAUTH_TOKEN_STORE": "file"}
    expected = sandbox.ids.databricks_sp_client_id if flow == "databricks-m2m" else sandbox.ids.m2m_client_id
    log = sandbox.request_log

    outs = run_batch(flow, env, n)
    assert outs == [f"CURRENT_USER={expected}\n"] * n  # every statement ran
    assert log.count(**TOKEN_REQUEST[flow]) == 1
    assert log.count(**EXCHANGE) == (1 if flow == "azure-m2m" else 0)

    if n > 8:
        return  # the aged batch once per flow is enough on a small machine
    outs = run_batch(flow, {**env, "TEST_CLOCK_OFFSET": str(LATER)}, n)
    assert outs == [f"CURRENT_USER={expected}\n"] * n
    assert log.count(**TOKEN_REQUEST[flow]) == 2
    assert log.count(**EXCHANGE) == (2 if flow == "azure-m2m" else 0)
