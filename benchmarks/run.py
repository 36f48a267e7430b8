"""brickauth benchmarks: one JSON report.

1. ``header_factory``: per-call time of our header factory on a fresh token, next to databricks-sdk's
   own token path for the same work (``Refreshable.token()`` with async refresh, then the header dict).
2. ``import``: ``python -X importtime -c "import brickauth"``; msal, keyring, the SQL connector,
   databricks-sdk and dbt must not be imported.
   ``cli_help``: the modules ``brickauth --help`` loads (from ``sys.modules``: importtime does not see
   the subcommand modules, which are loaded with ``importlib``); none of those may be among them either.
3. ``sandbox_startup_seconds``: ``Sandbox().start()`` in this process, and ``brickauth sandbox up
   --write-env FILE`` in a child process, from its start to the env file written; both against the
   2 s target.
4. ``doctor_corpus``: ``brickauth doctor explain`` on the whole field corpus in one process (with the
   knowledge base load), against the 2 s target.
5. ``first_query``: from process start to the first query result with M2M on the sandbox (a child
   process per auth type; the sandbox runs in this process), with the token requests it caused.
6. ``compare``: brickauth next to databricks-sdk, azure-identity, the SQL connector and dbt-databricks'
   own OAuth on one sandbox (``benchmarks/compare.py``): header path, import cost, token requests per
   lifetime (8 threads, 8 and 64 processes), the connector's exchange, cold process to first query
   with the machine-wide cache, ``dbt debug``. ``ratios`` sums them up (anchor / brickauth).

Usage: ``python benchmarks/run.py --out bench.json [--calls N] [--skip-sandbox]``. Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
import timeit
from datetime import datetime, timedelta, timezone
from typing import Any

FORBIDDEN_ON_IMPORT = ("msal", "keyring", "databricks", "dbt", "requests", "duckdb", "cryptography")
SANDBOX_STARTUP_TARGET_S = 2.0


def bench_header_factory(calls: int, repeats: int = 5) -> dict[str, Any]:
    from brickauth.config import Settings
    from brickauth.provider import CredentialsProvider
    from brickauth.token import AccessToken

    class StaticSource:
        def describe(self) -> str:
            return "static benchmark source"

        def fetch(self) -> AccessToken:
            return AccessToken(token="x" * 1200, expires_at=time.time() + 3600)

    provider = CredentialsProvider(Settings(auth_type="databricks-m2m"), StaticSource())
    ours = provider()
    ours()  # cold fetch outside the timing

    result: dict[str, Any] = {"calls_per_repeat": calls, "repeats": repeats}
    result["brickauth_ns_per_call"] = _per_call_ns(ours, calls, repeats)
    try:
        from databricks.sdk.oauth import Refreshable, Token
    except ImportError:
        result["databricks_sdk"] = "not installed"
        return result

    class SdkStatic(Refreshable):  # type: ignore[misc]
        def refresh(self) -> Token:
            return Token(
                access_token="x" * 1200,
                token_type="Bearer",
                expiry=datetime.now(timezone.utc) + timedelta(hours=1),
            )

    source = SdkStatic(disable_async=False)

    def sdk_header_factory() -> dict[str, str]:  # what databricks-sdk's oauth-m2m header factory does
        token = source.token()
        return {"Authorization": f"{token.token_type} {token.access_token}"}

    sdk_header_factory()
    import databricks.sdk

    result["databricks_sdk_version"] = databricks.sdk.version.__version__
    result["databricks_sdk_ns_per_call"] = _per_call_ns(sdk_header_factory, calls, repeats)
    result["speedup"] = round(result["databricks_sdk_ns_per_call"] / result["brickauth_ns_per_call"], 2)
    return result


def _per_call_ns(func: Any, calls: int, repeats: int) -> float:
    times = timeit.repeat(func, number=calls, repeat=repeats)
    return round(min(times) / calls * 1e9, 1)


def bench_import() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import brickauth"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    wall = time.perf_counter() - started
    modules: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line[len("import time:") :].split("|")]
        if parts[0].isdigit():
            modules[parts[2].strip()] = int(parts[1])
    forbidden = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN_ON_IMPORT)
    return {
        "returncode": proc.returncode,
        "brickauth_cumulative_us": modules.get("brickauth"),
        "process_wall_s": round(wall, 3),
        "modules_imported": len(modules),
        "forbidden_imported": forbidden,
        "ok": proc.returncode == 0 and not forbidden and "brickauth" in modules,
    }


_CLI_HELP = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from brickauth.cli.main import main
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(["--help"])
    print(json.dumps(sorted(sys.modules)))
    """
)


def bench_cli_help() -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _CLI_HELP], capture_output=True, text=True, timeout=60, check=False
    )
    modules = json.loads(proc.stdout) if proc.returncode == 0 else []
    forbidden = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN_ON_IMPORT)
    return {
        "returncode": proc.returncode,
        "modules_loaded": len(modules),
        "forbidden_imported": forbidden,
        "ok": proc.returncode == 0 and not forbidden and "brickauth.cli.doctor" in modules,
    }


def bench_sandbox_startup(runs: int = 3) -> dict[str, Any]:
    """The sandbox's start-up: ``Sandbox().start()`` here (the first start also imports the services),
    and ``brickauth sandbox up`` in a child until its env file is written."""
    try:
        from brickauth_sandbox.core import Sandbox
    except ImportError as exc:
        return {"skipped": f"sandbox not available ({exc.name})"}
    out: dict[str, Any] = {"target_s": SANDBOX_STARTUP_TARGET_S}
    starts: list[float] = []
    for _ in range(runs):
        sb = Sandbox()
        started = time.perf_counter()
        sb.start()
        starts.append(time.perf_counter() - started)
        sb.stop()
    out["start"] = {
        "runs_s": [round(t, 3) for t in starts],
        "first_s": round(starts[0], 3),
        "median_s": round(statistics.median(starts), 3),
        "checked": "every run, the first (cold) one included",
        "ok": max(starts) < SANDBOX_STARTUP_TARGET_S,
    }
    ups = [_sandbox_up_once() for _ in range(runs)]
    failed = [u["error"] for u in ups if "error" in u]
    if failed:
        out["sandbox_up"] = {"error": failed[0], "ok": False}
        return out
    to_env_file = [u["to_env_file_s"] for u in ups]
    out["sandbox_up"] = {
        "to_env_file_runs_s": [round(t, 3) for t in to_env_file],
        "to_env_file_median_s": round(statistics.median(to_env_file), 3),
        "reported_startup_runs_s": [u["reported_s"] for u in ups],
        "checked": "the median (a child process: interpreter start-up and imports included)",
        "ok": statistics.median(to_env_file) < SANDBOX_STARTUP_TARGET_S,
    }
    return out


def _sandbox_up_once(timeout: float = 60.0) -> dict[str, Any]:
    """``brickauth sandbox up --write-env``: seconds from spawning it to its env file written (it prints
    its first line, flushed, right after writing the file), then Ctrl-C."""
    import signal
    import tempfile
    import threading
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="brickauth-bench-") as tmp:
        env_file = Path(tmp) / "sandbox.env"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "brickauth.cli.main", "sandbox", "up", "--write-env", str(env_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            elapsed = time.perf_counter() - started
            if "sandbox is up (" not in first:
                return {"error": f"sandbox up said {first.strip()!r} (exit code {proc.poll()})"}
            if not env_file.exists() or "DATABRICKS_HOST=" not in env_file.read_text():
                return {"error": "no complete env file when the sandbox said it was up"}
        finally:
            watchdog.cancel()
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
    return {"to_env_file_s": elapsed, "reported_s": float(first.split("(")[1].split(" s")[0])}


_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    import brickauth
    from databricks import sql
    imported = time.time()
    provider = brickauth.credentials_provider(sys.argv[1])
    provider.token()
    token = time.time()
    with sql.connect(server_hostname=os.environ["BENCH_SERVER"], http_path=os.environ["DATABRICKS_HTTP_PATH"],
                     credentials_provider=provider, _tls_trusted_ca_file=os.environ["REQUESTS_CA_BUNDLE"],
                     enable_telemetry=False) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user()")
            user = cur.fetchall()[0][0]
            done = time.time()
    print(json.dumps({"user": user, "done": done, "imported": imported, "token": token}))
    """
)


def bench_first_query(runs: int = 3) -> dict[str, Any]:
    try:
        from brickauth_sandbox.core import Sandbox
    except ImportError as exc:
        return {"skipped": f"sandbox not available ({exc.name})"}
    out: dict[str, Any] = {}
    with Sandbox() as sb:
        env = {**os.environ, **sb.env(), "BENCH_SERVER": sb.addresses["workspace"]}
        for auth_type, expected in (
            ("azure-m2m", sb.ids.m2m_client_id),
            ("databricks-m2m", sb.ids.databricks_sp_client_id),
        ):
            samples, token_requests, phases = [], [], []
            for _ in range(runs):
                sb.request_log.clear()
                started = time.time()
                proc = subprocess.run(
                    [sys.executable, "-c", _CHILD, auth_type],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=120,
                    check=False,
                )
                if proc.returncode != 0:
                    out[auth_type] = {"error": proc.stderr.strip().splitlines()[-1:]}
                    break
                answer = json.loads(proc.stdout.strip().splitlines()[-1])
                if answer["user"] != expected:
                    out[auth_type] = {"error": f"current_user() was {answer['user']!r}"}
                    break
                samples.append(answer["done"] - started)
                phases.append(
                    {
                        "imports": answer["imported"] - started,
                        "token": answer["token"] - answer["imported"],
                        "connect_and_query": answer["done"] - answer["token"],
                    }
                )
                token_requests.append(sb.request_log.count(grant_type="client_credentials"))
            else:
                out[auth_type] = {
                    "runs": runs,
                    "start_to_first_result_s": {
                        "min": round(min(samples), 3),
                        "median": round(statistics.median(samples), 3),
                    },
                    "median_phases_s": {
                        k: round(statistics.median(p[k] for p in phases), 3) for k in phases[0]
                    },
                    "idp_token_requests_per_run": token_requests,
                    "ok": all(n == 1 for n in token_requests),
                }
    return out


DOCTOR_CORPUS_TARGET_S = 2.0


def bench_doctor_corpus(repeats: int = 3) -> dict[str, Any]:
    """``brickauth doctor explain`` on every text of the field corpus (tests/doctor/corpus), one process."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tests" / "doctor" / "corpus" / "score.py"
    spec = importlib.util.spec_from_file_location("doctor_corpus_score", path)
    if spec is None or spec.loader is None or not path.exists():
        return {"skipped": "no corpus"}
    score = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = score
    spec.loader.exec_module(score)
    started = time.perf_counter()
    from brickauth.doctor.explain import explain
    from brickauth.doctor.knowledge import load

    load()
    load_seconds = time.perf_counter() - started
    texts = [entry.text for entry in score.load_corpus()]
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        for text in texts:
            explain(text)
        runs.append(time.perf_counter() - began)
    best = min(runs)
    return {
        "texts": len(texts),
        "knowledge_base_load_seconds": round(load_seconds, 3),
        "classify_all_seconds": round(best, 3),
        "ms_per_text": round(1000 * best / max(len(texts), 1), 2),
        "target_seconds": DOCTOR_CORPUS_TARGET_S,
        "ok": best + load_seconds < DOCTOR_CORPUS_TARGET_S,
    }


def _ratios(compare: dict[str, Any]) -> dict[str, Any]:
    """Every ``ratio*`` figure of the comparison, flattened (``section.key``), for the summary line."""
    found: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                name = f"{prefix}.{key}" if prefix else key
                if key.startswith(("ratio", "speedup")):
                    found[name] = value
                else:
                    walk(name, value)

    walk("", compare)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default="bench.json", help="where to write the JSON report")
    parser.add_argument("--calls", type=int, default=200_000, help="header factory calls per repeat")
    parser.add_argument(
        "--runs", type=int, default=3, help="sandbox start-ups, and first-query runs per auth type"
    )
    parser.add_argument("--skip-sandbox", action="store_true", help="skip the sandbox benchmarks")
    parser.add_argument("--procs", default="8,64", help="process counts for token requests per lifetime")
    parser.add_argument("--lifetime", type=float, default=10.0, help="sandbox token lifetime (s)")
    parser.add_argument("--span", type=float, default=30.0, help="seconds each token-count run lasts")
    parser.add_argument("--connections", type=int, default=30, help="connections per exchange run")
    parser.add_argument("--only", default="", help="comma-separated compare sections to run")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "import": bench_import(),
        "cli_help": bench_cli_help(),
        "header_factory": bench_header_factory(args.calls),
        "doctor_corpus": bench_doctor_corpus(),
    }
    skipped = {"skipped": "--skip-sandbox"}
    report["sandbox_startup_seconds"] = skipped if args.skip_sandbox else bench_sandbox_startup(args.runs)
    report["first_query"] = skipped if args.skip_sandbox else bench_first_query(args.runs)
    report["fleet"] = skipped if args.skip_sandbox else __import__("fleet").bench_fleet()  # fleet.py
    if not args.skip_sandbox:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import compare

        report["compare"] = compare.run_all(
            calls=args.calls, runs=args.runs, procs=[int(n) for n in args.procs.split(",") if n],
            lifetime=args.lifetime, span=args.span, connections=args.connections,
            sections=set(args.only.split(",")) if args.only else None,
        )
        report["ratios"] = _ratios(report["compare"])
    checks = [report["import"]["ok"], report["cli_help"]["ok"], report["doctor_corpus"].get("ok", True)]
    for section in ("sandbox_startup_seconds", "first_query"):
        checks += [v.get("ok", False) for v in report[section].values() if isinstance(v, dict)]
    report["ok"] = all(checks)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    print(json.dumps(report, indent=2))
    if "ratios" in report:
        print("ratios (anchor / brickauth): " + ", ".join(f"{k}={v}" for k, v in report["ratios"].items()))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
