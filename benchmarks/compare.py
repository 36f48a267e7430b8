"""brickauth next to its anchors, on one sandbox in one run (called by ``benchmarks/run.py``).

Every section returns a dict for the JSON report; ``ratio`` fields are anchor / brickauth (above 1:
brickauth is faster or asks less), except request counts where they are plain counts side by side.

- ``header_path``: per-call cost of the header factory on a fresh token: brickauth, databricks-sdk's
  oauth-m2m strategy (``Config.authenticate()``), azure-identity's ``ClientSecretCredential.get_token``.
- ``import_cost``: wall time of ``python -c "import X"`` (min of 3) for brickauth, databricks-sdk's
  credentials and the SQL connector.
- ``token_requests``: token requests per token lifetime with short sandbox tokens, for 8 threads
  sharing one provider / Config, and for 8 and 64 processes each with its own, brickauth vs
  databricks-sdk (databricks-m2m), counted from the sandbox's request log (the processes are forked
  by one launcher after it imported the library: what is counted is requests, not imports).
- ``connector_exchange``: connections per second and ``/oidc/v1/token`` exchange requests with an
  Entra token, brickauth's connector header shape vs the plain ``Authorization`` header (before).
- ``first_query_cache``: a cold process to its first query result, with an empty and a filled
  machine-wide token cache.
- ``dbt_debug``: ``dbt debug`` wall time and token requests, ``type: brickauth`` vs dbt-databricks'
  own ``auth_type: oauth`` (M2M).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DBX_TOKEN = {"service": "workspace", "grant_type": "client_credentials", "path": "/oidc/v1/token"}
EXCHANGE = {"service": "workspace", "path": "/oidc/v1/token",
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange"}


def _ratio(anchor: float | None, ours: float | None) -> float | None:
    return round(anchor / ours, 2) if anchor and ours else None


def _ns(func: Any, calls: int, repeats: int = 5) -> float:
    return round(min(timeit.repeat(func, number=calls, repeat=repeats)) / calls * 1e9, 1)


def _clean_env(sb: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRICKAUTH_", "DATABRICKS_", "AZURE_"))}
    return {**env, **sb.env(), **extra}


# -- header path -------------------------------------------------------------------------------------


def header_path(sb: Any, calls: int) -> dict[str, Any]:
    import brickauth

    env = sb.env()
    out: dict[str, Any] = {"calls_per_repeat": calls}
    p = brickauth.credentials_provider("databricks-m2m", sb.workspace_url, env={}, token_cache=False,
                                       ca_bundle=env["REQUESTS_CA_BUNDLE"],
                                       client_id=env["DATABRICKS_CLIENT_ID"],
                                       client_secret=env["DATABRICKS_CLIENT_SECRET"])
    ours = p()
    ours()
    out["brickauth_ns"] = _ns(ours, calls)
    try:
        from databricks.sdk.core import Config

        cfg = Config(host=sb.workspace_url, client_id=env["DATABRICKS_CLIENT_ID"],
                     client_secret=env["DATABRICKS_CLIENT_SECRET"], auth_type="oauth-m2m")
        cfg.authenticate()
        out["databricks_sdk_ns"] = _ns(cfg.authenticate, calls)
        out["ratio_databricks_sdk"] = _ratio(out["databricks_sdk_ns"], out["brickauth_ns"])
    except ImportError:
        out["databricks_sdk"] = "not installed"
    try:
        from azure.identity import ClientSecretCredential

        cred = ClientSecretCredential(env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"],
                                      env["AZURE_CLIENT_SECRET"], authority=sb.entra_url,
                                      disable_instance_discovery=True)
        scope = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"

        def azure_header() -> dict[str, str]:
            return {"Authorization": f"Bearer {cred.get_token(scope).token}"}

        azure_header()
        out["azure_identity_ns"] = _ns(azure_header, max(calls // 20, 1000))
        out["ratio_azure_identity"] = _ratio(out["azure_identity_ns"], out["brickauth_ns"])
    except ImportError:
        out["azure_identity"] = "not installed"
    return out


# -- import cost -------------------------------------------------------------------------------------


def import_cost() -> dict[str, Any]:
    def wall(stmt: str) -> float | None:
        best = None
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", stmt], capture_output=True, timeout=120, check=False)
            took = time.perf_counter() - started
            if done.returncode != 0:
                return None
            best = took if best is None else min(best, took)
        return round(best, 3) if best is not None else None

    out: dict[str, Any] = {"python_s": wall("pass")}
    out["brickauth_s"] = wall("import brickauth")
    out["brickauth_provider_s"] = wall("import brickauth.provider, brickauth.flows.databricks_m2m")
    out["databricks_sdk_s"] = wall("import databricks.sdk.core")
    out["connector_s"] = wall("import databricks.sql")
    out["ratio_databricks_sdk"] = _ratio(out["databricks_sdk_s"], out["brickauth_s"])
    out["ratio_connector"] = _ratio(out["connector_s"], out["brickauth_s"])
    return out


# -- token requests per lifetime ---------------------------------------------------------------------

_CHILD_TOKENS = textwrap.dedent("""
    # One launcher imports the library, then forks N processes (imports are not what is measured, and
    # 64 interpreters importing databricks-sdk would take minutes of CPU on a small machine). Each
    # process builds its own provider / Config and asks for headers for ``span`` seconds.
    import os, sys, time
    lib, span, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    if lib == "brickauth":
        import brickauth
    else:
        from databricks.sdk.core import Config

    def work() -> int:
        if lib == "brickauth":
            factory = brickauth.credentials_provider("databricks-m2m")()
        else:
            env = os.environ
            cfg = Config(host=env["DATABRICKS_HOST"], client_id=env["DATABRICKS_CLIENT_ID"],
                         client_secret=env["DATABRICKS_CLIENT_SECRET"], auth_type="oauth-m2m")
            factory = cfg.authenticate
        end, calls = time.time() + span, 0
        while time.time() < end:
            factory(); calls += 1
            time.sleep(0.05)  # a process doing work between requests
        return calls

    print("ready", flush=True)
    sys.stdin.readline()
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                work()
                os._exit(0)
            except BaseException as exc:
                os.write(2, f"{type(exc).__name__}\\n".encode())
                os._exit(1)
        pids.append(pid)
    failed = sum(1 for pid in pids if os.waitpid(pid, 0)[1] != 0)
    print(failed)
""")


def _threads(lib: str, sb: Any, n: int, span: float) -> None:
    env = sb.env()
    if lib == "brickauth":
        import brickauth

        factory = brickauth.credentials_provider("databricks-m2m", sb.workspace_url, env={},
                                                 token_cache=False, ca_bundle=env["REQUESTS_CA_BUNDLE"],
                                                 client_id=env["DATABRICKS_CLIENT_ID"],
                                                 client_secret=env["DATABRICKS_CLIENT_SECRET"])()
    else:
        from databricks.sdk.core import Config

        factory = Config(host=sb.workspace_url, client_id=env["DATABRICKS_CLIENT_ID"],
                         client_secret=env["DATABRICKS_CLIENT_SECRET"], auth_type="oauth-m2m").authenticate
    end = time.time() + span

    def work() -> None:
        while time.time() < end:
            factory()
            time.sleep(0.01)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _processes(lib: str, sb: Any, n: int, span: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="brickauth-bench-") as tmp:
        env = _clean_env(sb, BRICKAUTH_STATE_DIR=tmp, BRICKAUTH_TOKEN_STORE="file")
        launcher = subprocess.Popen([sys.executable, "-c", _CHILD_TOKENS, lib, str(span), str(n)], env=env,
                                    text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        assert launcher.stdout is not None and launcher.stdin is not None
        launcher.stdout.readline()  # imported
        sb.request_log.clear()
        started = time.time()
        out, err = launcher.communicate("go\n", timeout=span + 600)
        wall = time.time() - started
    failed = int(out.split()[-1]) if out.split() else n
    return {"failed": failed, "errors": err.strip().splitlines()[-2:], "wall_s": round(wall, 1)}


def token_requests(sb: Any, *, lifetime: float, span: float, procs: list[int]) -> dict[str, Any]:
    sb.set_token_lifetime(lifetime)
    out: dict[str, Any] = {"token_lifetime_s": lifetime, "span_s": span,
                           "unit": "token requests per token lifetime (requests x lifetime / span)"}
    libs = ["brickauth", "databricks_sdk"]
    for lib in libs:
        sb.request_log.clear()
        _threads(lib, sb, 8, span)
        out.setdefault("threads_8", {})[lib] = round(sb.request_log.count(**DBX_TOKEN) * lifetime / span, 2)
    for n in procs:
        for lib in libs:
            run = _processes(lib, sb, n, span)
            per = round(sb.request_log.count(**DBX_TOKEN) * lifetime / run["wall_s"], 2)
            out.setdefault(f"processes_{n}", {})[lib] = per
            if run["failed"]:
                out[f"processes_{n}"][f"{lib}_failed"] = [run["failed"], run["errors"]]
    for value in out.values():
        if isinstance(value, dict) and "brickauth" in value:
            value["ratio_databricks_sdk"] = _ratio(value.get("databricks_sdk"), value["brickauth"])
    sb.set_token_lifetime(3600)
    return out


# -- the connector's exchange ------------------------------------------------------------------------


def connector_exchange(sb: Any, connections: int) -> dict[str, Any]:
    """Connections per second (open, SELECT 1, close) with an Entra token, and the exchange requests
    they cause: ``before`` is the plain ``Authorization`` header the connector's federation layer
    exchanges per connection; ``after`` is brickauth's connector shape."""
    from databricks import sql

    import brickauth

    env = sb.env()
    p = brickauth.credentials_provider("azure-m2m", sb.workspace_url, env={}, token_cache=False,
                                       ca_bundle=env["REQUESTS_CA_BUNDLE"], tenant_id=env["AZURE_TENANT_ID"],
                                       authority_host=sb.entra_url, client_id=env["AZURE_CLIENT_ID"],
                                       client_secret=env["AZURE_CLIENT_SECRET"])
    p.token()
    shapes = {"before": lambda: p(None), "after": p}  # p(arg) is the plain Authorization factory
    out: dict[str, Any] = {"connections": connections}
    for name, provider in shapes.items():
        sb.request_log.clear()
        started = time.perf_counter()
        for _ in range(connections):
            with sql.connect(server_hostname=sb.addresses["workspace"], http_path=sb.http_path,
                             credentials_provider=provider, _tls_trusted_ca_file=str(sb.ca_bundle),
                             enable_telemetry=False) as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
        took = time.perf_counter() - started
        out[name] = {"connections_per_s": round(connections / took, 2),
                     "exchange_requests": sb.request_log.count(**EXCHANGE)}
    out["speedup"] = _ratio(out["after"]["connections_per_s"], out["before"]["connections_per_s"])
    return out


# -- cold process to first query, with the machine-wide cache ----------------------------------------

_CHILD_QUERY = textwrap.dedent("""
    import os, sys, time
    from urllib.parse import urlsplit
    import brickauth
    from databricks import sql
    p = brickauth.credentials_provider(sys.argv[1])
    with sql.connect(server_hostname=urlsplit(os.environ["DATABRICKS_HOST"]).hostname,
                     http_path=os.environ["DATABRICKS_HTTP_PATH"], credentials_provider=p,
                     _tls_trusted_ca_file=os.environ["REQUESTS_CA_BUNDLE"], enable_telemetry=False) as c:
        with c.cursor() as cur:
            cur.execute("SELECT current_user()"); cur.fetchall()
    print(time.time())
""")


def first_query_cache(sb: Any, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flow in ("databricks-m2m", "azure-m2m"):
        with tempfile.TemporaryDirectory(prefix="brickauth-bench-") as tmp:
            env = _clean_env(sb, BRICKAUTH_STATE_DIR=tmp, BRICKAUTH_TOKEN_STORE="file")
            samples: dict[str, list[float]] = {"empty_cache": [], "filled_cache": []}
            requests: dict[str, list[int]] = {"empty_cache": [], "filled_cache": []}
            for i in range(runs * 2):
                kind = "empty_cache" if i % 2 == 0 else "filled_cache"
                if kind == "empty_cache":
                    for f in Path(tmp).rglob("*.json"):
                        f.unlink()
                sb.request_log.clear()
                started = time.time()
                done = subprocess.run([sys.executable, "-c", _CHILD_QUERY, flow], env=env,
                                      capture_output=True, text=True, timeout=300, check=False)
                if done.returncode:
                    out[flow] = {"error": done.stderr.strip().splitlines()[-1:]}
                    break
                samples[kind].append(float(done.stdout.split()[-1]) - started)
                requests[kind].append(sb.request_log.count(grant_type="client_credentials"))
            else:
                out[flow] = {k: {"median_s": round(statistics.median(v), 3), "token_requests": requests[k]}
                             for k, v in samples.items()}
                out[flow]["ratio"] = _ratio(out[flow]["empty_cache"]["median_s"],
                                            out[flow]["filled_cache"]["median_s"])
    return out


# -- dbt debug ---------------------------------------------------------------------------------------


def dbt_debug(sb: Any, runs: int) -> dict[str, Any]:
    import shutil

    dbt = Path(sys.executable).parent / "dbt"
    if not dbt.exists():
        return {"skipped": "dbt not installed"}
    env_vars = sb.env()
    profiles = {
        "brickauth": {"type": "brickauth", "auth_type": "databricks-m2m",
                      "client_id": env_vars["DATABRICKS_CLIENT_ID"],
                      "client_secret": env_vars["DATABRICKS_CLIENT_SECRET"]},
        "dbt_databricks_oauth": {"type": "databricks", "auth_type": "oauth",
                                 "client_id": env_vars["DATABRICKS_CLIENT_ID"],
                                 "client_secret": env_vars["DATABRICKS_CLIENT_SECRET"]},
    }
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="brickauth-bench-dbt-") as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(ROOT / "sample_project", project, ignore=shutil.ignore_patterns("target", "logs"))
        for name, output in profiles.items():
            pdir = Path(tmp) / name
            pdir.mkdir()
            common = {"host": sb.addresses["workspace"], "http_path": sb.http_path, "schema": "bench",
                      "catalog": "main", "threads": 1}
            lines = ["brickauth_sample:", "  target: dev", "  outputs:", "    dev:"]
            lines += [f"      {k}: {json.dumps(v)}" for k, v in {**common, **output}.items()]
            (pdir / "profiles.yml").write_text("\n".join(lines) + "\n")
            env = _clean_env(sb, HOME=tmp, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_PARTIAL_PARSE="false",
                             DBT_VERSION_CHECK="false", BRICKAUTH_TOKEN_CACHE="off")
            times, reqs = [], []
            for _ in range(runs):
                sb.request_log.clear()
                started = time.perf_counter()
                done = subprocess.run([str(dbt), "debug", "--project-dir", str(project), "--profiles-dir",
                                       str(pdir)], cwd=project, env=env, capture_output=True, text=True,
                                      timeout=600, check=False)
                times.append(time.perf_counter() - started)
                reqs.append(sb.request_log.count(**DBX_TOKEN))
                if done.returncode:
                    out[name] = {"error": done.stdout.strip().splitlines()[-3:]}
                    break
            else:
                out[name] = {"median_s": round(statistics.median(times), 2), "token_requests": reqs}
    if "median_s" in out.get("brickauth", {}) and "median_s" in out.get("dbt_databricks_oauth", {}):
        out["ratio"] = _ratio(out["dbt_databricks_oauth"]["median_s"], out["brickauth"]["median_s"])
    return out


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for dist in ("brickauth", "databricks-sql-connector", "databricks-sdk", "azure-identity", "msal",
                 "dbt-core", "dbt-databricks"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "not installed"
    return found


def run_all(*, calls: int, runs: int, procs: list[int], lifetime: float, span: float,
            connections: int, sections: set[str] | None = None) -> dict[str, Any]:
    from brickauth_sandbox.core import Sandbox

    report: dict[str, Any] = {"versions": versions()}

    def want(name: str) -> bool:
        return sections is None or name in sections

    if want("import_cost"):
        report["import_cost"] = import_cost()
    with Sandbox() as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = str(sb.ca_bundle)  # databricks-sdk and azure-identity in here
        steps = {
            "header_path": lambda: header_path(sb, calls),
            "connector_exchange": lambda: connector_exchange(sb, connections),
            "token_requests": lambda: token_requests(sb, lifetime=lifetime, span=span, procs=procs),
            "first_query_cache": lambda: first_query_cache(sb, runs),
            "dbt_debug": lambda: dbt_debug(sb, runs),
        }
        for name, step in steps.items():
            if want(name):
                try:
                    report[name] = step()
                except Exception as exc:  # a broken anchor must not hide the other figures
                    report[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return report
