"""``brickauth sandbox up`` as a user runs it: a subprocess, its env file, a real query, Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from brickauth.cli.sandbox import env_file_text

CLIENT_ENV = {
    "DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
}
CLIENT = textwrap.dedent("""
    import os, msal
    from databricks import sql

    app = msal.ConfidentialClientApplication(
        os.environ["AZURE_CLIENT_ID"], client_credential=os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"] + "/" + os.environ["AZURE_TENANT_ID"],
        instance_discovery=False)
    token = app.acquire_token_for_client(["2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"])["access_token"]

    class Provider:
        def auth_type(self):
            return "sandbox-test"
        def __call__(self, *args):
            return lambda: {"Authorization": "Bearer " + token}

    host = os.environ["DATABRICKS_HOST"].removeprefix("https://")
    # No CA option: SSL_CERT_FILE from the env file is all the connector needs.
    with sql.connect(server_hostname=host, http_path=os.environ["DATABRICKS_HTTP_PATH"],
                     credentials_provider=Provider(), enable_telemetry=False,
                     _retry_stop_after_attempts_count=1) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user()")
        print("CURRENT_USER=" + cur.fetchone()[0])
""")


def _reader(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)
    lines.put("")


def _wait_for_line(lines: queue.Queue[str], prefix: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if line == "":
            raise AssertionError(f"process ended before {prefix!r}: {''.join(seen)}")
        seen.append(line)
        if line.startswith(prefix):
            return seen


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sandbox_up_env_file_query_and_clean_stop(tmp_path: Path, sig: signal.Signals) -> None:
    env_file = tmp_path / "sandbox.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "brickauth.cli.main", "sandbox", "up", "--write-env", str(env_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    try:
        # How fast it comes up is measured by the benchmark (`nox -s bench`: sandbox_startup_seconds).
        output = _wait_for_line(lines, "brickauth sandbox is up", timeout=30)
        output += _wait_for_line(lines, "Wrote ", timeout=10)
        text = "".join(output)
        assert "SANDBOX-ONLY" in text
        assert "DATABRICKS_CLIENT_SECRET=dose" in text  # printed on purpose, labelled sandbox-only
        up_seconds = float(output[0].split("(")[1].split(" s")[0])
        assert up_seconds > 0, output[0]  # the start-up time is reported

        assert env_file.stat().st_mode & 0o077 == 0
        client = tmp_path / "client.py"
        client.write_text(CLIENT)
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "AZURE_"))}
        clean_env.pop("REQUESTS_CA_BUNDLE", None)
        clean_env.pop("SSL_CERT_FILE", None)
        run = subprocess.run(
            ["bash", "-c", f'set -a; . "{env_file}"; set +a; exec "{sys.executable}" "{client}"'],
            capture_output=True, text=True, timeout=60, env=clean_env,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
                      and not line.startswith("#"))
        assert values.keys() >= CLIENT_ENV  # the env file is complete
        assert f"CURRENT_USER={values['AZURE_CLIENT_ID']}" in run.stdout

        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        _, stderr = proc.communicate(timeout=5)
        assert "Traceback" not in stderr
        assert "brickauth sandbox stopped." in "".join(_drain(lines))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def _drain(lines: queue.Queue[str]) -> list[str]:
    out = []
    while True:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            return out
        if line == "":
            return out
        out.append(line)


def test_env_file_lines_survive_the_shell(tmp_path: Path) -> None:
    env = {"A": "plain", "B": "with space", "C": "~ab8Q~x'y\"z$HOME", "D": "https://127.1.2.3"}
    path = tmp_path / "e.env"
    path.write_text(env_file_text(env))
    out = subprocess.run(
        ["bash", "-c", f'set -a; . "{path}"; set +a; for k in A B C D; do printf "%s\\n" "${{!k}}"; done'],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout
    assert out.splitlines() == list(env.values())


def test_sandbox_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    from brickauth.cli.main import main

    assert main(["sandbox"]) == 2
    assert "up" in capsys.readouterr().out
