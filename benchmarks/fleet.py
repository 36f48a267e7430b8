"""Fleet figure (issue 12): N processes on one machine using azure-msi or databricks-oidc, each querying
the sandbox in a loop over several token lifetimes; identity provider requests counted from the
sandbox's request log.

What the design promises: one ``RefreshingToken`` per provider, so a process asks its identity provider
once at start and then once per refresh interval, whatever its number of queries and connections; N
processes make N times that. The interval follows ``brickauth.lifecycle.RefreshPolicy``: a token of
``ttl`` seconds is refreshed in the background from ``ttl - skew - min(advisory_lead, advisory_fraction x
ttl)`` on (8 s tokens: about every 2.5 s; one-hour tokens: every 44.5 min). ``promised_max`` is
``N x (1 + ceil(duration / interval)) + N`` (one slack per process for a refresh that starts just
before the end), with ``ttl = lifetime - 1`` (JWT ``exp`` is whole seconds).

Usage: ``python benchmarks/fleet.py [--processes 4] [--lifetime 8] [--duration 20]``; ``run.py`` calls
``bench_fleet()``. Needs brickauth-sandbox and databricks-sql-connector.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    import brickauth
    from databricks import sql
    auth_type, duration = sys.argv[1], float(sys.argv[2])
    kw = {"client_id": os.environ["BENCH_OIDC_CLIENT"]} if auth_type == "databricks-oidc" else {}
    p = brickauth.credentials_provider(auth_type, os.environ["DATABRICKS_HOST"], **kw)
    queries, users = 0, set()
    with sql.connect(server_hostname=os.environ["BENCH_SERVER"], http_path=os.environ["DATABRICKS_HTTP_PATH"],
                     credentials_provider=p, _tls_trusted_ca_file=os.environ["REQUESTS_CA_BUNDLE"],
                     enable_telemetry=False) as conn:
        end = time.monotonic() + duration
        while time.monotonic() < end:
            with conn.cursor() as cur:
                cur.execute("SELECT current_user()")
                users.add(cur.fetchall()[0][0])
            queries += 1
            time.sleep(0.25)  # a job's pace, not a tight loop: 2 shared cores
    print(json.dumps({"queries": queries, "users": sorted(users)}))
    """
)


def _requests(sb: Any, auth_type: str) -> dict[str, int]:
    log = sb.request_log
    if auth_type == "azure-msi":
        return {"managed_identity_endpoint": log.count(service="msi", grant_type="managed_identity"),
                "entra": log.count(service="entra")}
    return {
        "workspace_token_exchange": log.count(
            service="workspace",
            path="/oidc/v1/token",
            grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        "github_actions_id_token": log.count(service="issuer", grant_type="github_actions_id_token"),
    }


def refresh_interval(ttl: float) -> float:
    """Seconds between a process's token requests for tokens of ``ttl`` seconds (the advisory window)."""
    from brickauth.lifecycle import RefreshPolicy

    p = RefreshPolicy()
    skew = min(p.expiry_skew, max(p.expiry_skew_min, p.expiry_skew_fraction * ttl), ttl / 2)
    return ttl - skew - min(p.advisory_lead, p.advisory_fraction * ttl)


def bench_fleet(processes: int = 4, lifetime: float = 8.0, duration: float = 20.0) -> dict[str, Any]:
    try:
        from brickauth_sandbox.core import Sandbox
    except ImportError as exc:
        return {"skipped": f"sandbox not available ({exc.name})"}
    per_process = 1 + math.ceil(duration / refresh_interval(lifetime - 1.0))
    out: dict[str, Any] = {
        "processes": processes,
        "token_lifetime_s": lifetime,
        "duration_s": duration,
        "refresh_interval_s": round(refresh_interval(lifetime - 1.0), 2),
        "refresh_interval_s_for_1h_tokens": round(refresh_interval(3600.0), 1),
    }
    with Sandbox() as sb:
        sb.wait_until_ready()
        sb.set_token_lifetime(lifetime)
        fleet = sb.fleet
        base = {**os.environ, **sb.env(), "BENCH_SERVER": sb.addresses["workspace"],
                "BENCH_OIDC_CLIENT": fleet.ids.oidc_sp_client_id}
        for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "SYSTEM_OIDCREQUESTURI"):
            base.pop(name, None)
        cases = {
            "azure-msi": ({**base, **fleet.imds_env()}, fleet.ids.msi_system_client_id),
            "databricks-oidc": ({**base, **fleet.github_actions_env()}, fleet.ids.oidc_sp_client_id),
        }
        for auth_type, (env, expected) in cases.items():
            sb.request_log.clear()
            started = time.monotonic()
            children = [
                subprocess.Popen(
                    [sys.executable, "-c", _CHILD, auth_type, str(duration)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(processes)
            ]
            answers, errors = [], []
            for child in children:
                try:
                    stdout, stderr = child.communicate(timeout=duration + 180)
                except subprocess.TimeoutExpired:
                    child.kill()
                    errors.append("timed out")
                    continue
                if child.returncode != 0:
                    errors.append((stderr.strip().splitlines() or ["?"])[-1][:300])
                    continue
                answers.append(json.loads(stdout.strip().splitlines()[-1]))
            counted = _requests(sb, auth_type)
            idp = next(iter(counted.values()))
            promised = processes * per_process + processes
            out[auth_type] = {
                "wall_s": round(time.monotonic() - started, 1),
                "queries": sum(a["queries"] for a in answers),
                "identity_provider_requests": counted,
                "promised_max": promised,
                "promised_min": processes,
                "errors": errors,
                "ok": not errors
                and all(a["users"] == [expected] for a in answers)
                and processes <= idp <= promised,
            }
    out["ok"] = all(v.get("ok", False) for v in out.values() if isinstance(v, dict))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--lifetime", type=float, default=8.0)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args(argv)
    report = bench_fleet(args.processes, args.lifetime, args.duration)
    print(json.dumps(report, indent=2))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
