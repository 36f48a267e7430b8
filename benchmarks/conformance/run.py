"""Conformance: the real clients' own test suites against brickauth and the sandbox.

Usage (``nox -s conformance -- PATH... [--dbt-unit]`` runs this in an environment with the pinned
connector and dbt line)::

    python benchmarks/conformance/run.py /path/to/databricks-sql-python [/path/to/dbt-databricks]
        [--dbt-unit] [--workers 2] [--out benchmarks/conformance-report]

Each PATH is a checkout of another project (never copied into this repository), recognised by its
layout:

- databricks-sql-python (tag matching the pinned connector): its e2e suite ``tests/e2e/test_driver.py``
  runs against a sandbox started in the test process, every connection authenticated through
  ``brickauth.credentials_provider`` (``brickauth_conformance.py`` next to this file, given with ``-p``).
  The core Thrift tests and their Statement Execution API (``use_sea=True``) variants run; the rest is
  listed with the reason it does not run on an emulator.
- dbt-databricks (``--dbt-unit``): its unit tests (``tests/unit``) run twice in one fresh virtual
  environment, first without brickauth, then with brickauth installed; per-test outcomes must be equal.

Prints per-test pass/fail and writes ``OUT.md`` and ``OUT.json``. Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
E2E_FILE = "tests/e2e/test_driver.py"
CORE_CLASS = "TestPySQLCoreSuite"
THRIFT_TARGET = 48  # of the 50 runnable core Thrift tests (issue 13)

# Tests of the core class that need what an emulator does not have, by name fragment: (group, reason).
NOT_ON_EMULATOR: list[tuple[str, str, str]] = [
    (
        "staging_ingestion",
        "staging ingestion",
        "PUT/GET/REMOVE move files through presigned cloud-storage URLs the server returns; the sandbox "
        "has no cloud storage",
    ),
    (
        "uc_volume",
        "Unity Catalog volumes",
        "PUT/GET/REMOVE on /Volumes paths need a volume backed by cloud storage",
    ),
    ("streaming_put", "streaming PUT", "streams a file into a Unity Catalog volume (cloud storage)"),
]
RETRY_FRAGMENTS = ("retry", "3xx", "401_not", "403_not", "oserror")
RETRY_REASON = (
    "PySQLRetryTestsMixin (run them with --retry): they test the client's retry policy against mocked "
    "urllib3 responses, not the server, and the connector's own comment in test_driver.py keeps retry "
    "tests out of the core run. They patch urllib3 for the whole process: with azure-m2m the connector's "
    "token-exchange POST to /oidc/v1/token on each new connection lands inside their window; use "
    "--auth-type databricks-m2m"
)
OTHER_CLASS_REASON = {
    "TestPySQLLargeWideResultSet": "100 MB result sets (not core; minutes per test)",
    "TestPySQLLargeNarrowResultSet": "100 MB result sets (not core; minutes per test)",
    "TestPySQLLongRunningQuery": "grows a join until it runs for at least a minute (not core)",
    "TestPySQLAsyncQueriesSuite": "execute_async with 5 s client sleeps and billion-row joins (not core)",
    "TestPySQLCloudFetch": "skipped by the suite itself: needs a previously uploaded TPC-DS data set",
    "TestPySQLUnityCatalogSuite": "not core (namespace test for a Unity Catalog cluster)",
    "HTTP429Suite": "retry behaviour on 429 with a mocked server (not core)",
    "HTTP503Suite": "retry behaviour on 503 with a mocked server (not core)",
}


# -- helpers --------------------------------------------------------------------------------------
def _git_describe(path: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "describe", "--tags", "--always"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def classify_checkout(path: Path) -> str:
    if (path / E2E_FILE).is_file() and (path / "src" / "databricks" / "sql").is_dir():
        return "connector"
    if (path / "dbt" / "adapters" / "databricks").is_dir() and (path / "tests" / "unit").is_dir():
        return "dbt"
    raise SystemExit(f"{path}: not a databricks-sql-python or dbt-databricks checkout")


def is_sea(nodeid: str) -> bool:
    """The Statement Execution API variants: parameter sets 1 and 2 of the core tests carry use_sea."""
    return bool(re.search(r"\[extra_params[12]\]$", nodeid))


def group_of(nodeid: str) -> tuple[str, str | None]:
    """(group, reason-if-not-run) of a test id of test_driver.py."""
    parts = nodeid.split("::")
    cls, name = (parts[-2] if len(parts) > 2 else ""), parts[-1]
    if cls != CORE_CLASS:
        return "other", OTHER_CLASS_REASON.get(cls, "not part of the core suite")
    for fragment, group, reason in NOT_ON_EMULATOR:
        if fragment in name:
            return group, reason
    if any(f in name for f in RETRY_FRAGMENTS):
        return "retry", RETRY_REASON
    return ("sea" if is_sea(nodeid) else "thrift"), None


# -- the connector's e2e suite --------------------------------------------------------------------
def run_connector(path: Path, *, timeout: float, auth_type: str, retry: bool = False) -> dict[str, Any]:
    python = sys.executable
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["BRICKAUTH_CONFORMANCE_AUTH"] = auth_type
    base = [python, "-m", "pytest", "-p", "no:cacheprovider", "-p", "brickauth_conformance", E2E_FILE]
    collected = subprocess.run(
        [*base, "--collect-only", "-q"], cwd=path, env=env, capture_output=True, text=True, timeout=600
    )
    ids = [line.strip() for line in collected.stdout.splitlines() if "::" in line]
    if not ids:
        raise SystemExit(
            f"collecting {E2E_FILE} failed:\n{collected.stdout[-3000:]}\n{collected.stderr[-3000:]}"
        )
    groups = {nodeid: group_of(nodeid) for nodeid in ids}
    run_groups = ("thrift", "sea", "retry") if retry else ("thrift", "sea")
    selected = [n for n, (g, _) in groups.items() if g in run_groups]
    with tempfile.TemporaryDirectory(prefix="brickauth-conformance-") as tmp:
        results_path = Path(tmp) / "results.jsonl"
        ids_file = Path(tmp) / "ids.txt"
        ids_file.write_text("\n".join(selected))
        env["BRICKAUTH_CONFORMANCE_RESULTS"] = str(results_path)
        cmd = [
            *base[:-1],
            "-rA",
            "-v",
            f"--timeout={int(timeout)}",
            "-p",
            "no:randomly",
            "--ignore=tests/e2e/test_kernel_backend.py",
            *selected,
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=path, env=env, capture_output=True, text=True, timeout=3600)
        seconds = time.perf_counter() - t0
        outcomes = {}
        if results_path.exists():
            for line in results_path.read_text().splitlines():
                row = json.loads(line)
                outcomes[row["nodeid"]] = row
    tests: list[dict[str, Any]] = []
    for nodeid in ids:
        group, reason = groups[nodeid]
        if group not in run_groups:
            tests.append({"id": nodeid, "group": group, "outcome": "not run", "message": reason})
            continue
        row = outcomes.get(nodeid, {"outcome": "missing", "message": "no result (crash or timeout?)"})
        tests.append(
            {
                "id": nodeid,
                "group": group,
                "outcome": row["outcome"],
                "message": row.get("message", ""),
                "seconds": row.get("duration"),
            }
        )
    summary = {}
    for group in run_groups:
        counts = Counter(t["outcome"] for t in tests if t["group"] == group)
        summary[group] = dict(counts) | {"total": sum(counts.values())}
    summary["thrift"]["runnable"] = summary["thrift"]["total"] - summary["thrift"].get("skipped", 0)
    return {
        "checkout": str(path),
        "version": _git_describe(path),
        "connector_installed": _version("databricks-sql-connector"),
        "auth_type": auth_type,
        "seconds": round(seconds, 1),
        "pytest_exit_code": proc.returncode,
        "pytest_tail": proc.stdout.splitlines()[-1:] if proc.stdout else proc.stderr.splitlines()[-5:],
        "summary": summary,
        "tests": tests,
    }


# -- dbt-databricks' unit tests ---------------------------------------------------------------------
def _dbt_test_requirements(path: Path) -> list[str]:
    data = tomllib.loads((path / "pyproject.toml").read_text())
    group = data.get("dependency-groups", {}).get("test", [])
    return [r for r in group if isinstance(r, str) and not r.startswith("pytest-cov")]


def _pins() -> list[str]:
    lines = [
        ln.split()
        for ln in (ROOT / "tests" / "dbt" / "compat_lines.txt").read_text().splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    return lines[-1][1:]


def _junit(path: Path) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    root = ET.parse(path).getroot()  # noqa: S314  (the junit file pytest just wrote)
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcomes[name] = (
            "failed"
            if "failure" in kinds
            else "error"
            if "error" in kinds
            else "skipped"
            if "skipped" in kinds
            else "passed"
        )
    return outcomes


def run_dbt_unit(path: Path, *, workers: int) -> dict[str, Any]:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("--dbt-unit needs uv (https://docs.astral.sh/uv/) to build its virtual environment")
    pins = [p for p in _pins() if not p.startswith("dbt-databricks")]
    with tempfile.TemporaryDirectory(prefix="brickauth-dbt-unit-") as tmp:
        venv = Path(tmp) / "venv"
        py = venv / "bin" / "python"
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"VIRTUAL_ENV": str(venv)}
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True, timeout=300, env=env)
        # dbt-databricks from the checkout (its tests import it from there anyway), the pinned line's
        # other packages, and the checkout's own test requirements.
        subprocess.run(
            [uv, "pip", "install", "-q", str(path), *pins, *_dbt_test_requirements(path)],
            check=True,
            timeout=1800,
            env=env,
        )
        runs: dict[str, Any] = {}
        for label in ("without_brickauth", "with_brickauth"):
            if label == "with_brickauth":
                subprocess.run([uv, "pip", "install", "-q", str(ROOT)], check=True, timeout=900, env=env)
            probe = subprocess.run(
                [str(py), "-c", "import importlib.util as u; print(bool(u.find_spec('brickauth')))"],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            junit = Path(tmp) / f"{label}.xml"
            t0 = time.perf_counter()
            proc = subprocess.run(
                [
                    str(py),
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    "-q",
                    "--profile",
                    "databricks_cluster",
                    "-n",
                    str(workers),
                    "--dist=loadscope",
                    f"--junitxml={junit}",
                    "tests/unit",
                ],
                cwd=path,
                capture_output=True,
                text=True,
                timeout=7200,
                env=env,
            )
            outcomes = _junit(junit) if junit.exists() else {}
            runs[label] = {
                "brickauth_importable": probe.stdout.strip() == "True",
                "seconds": round(time.perf_counter() - t0, 1),
                "pytest_exit_code": proc.returncode,
                "pytest_tail": proc.stdout.splitlines()[-1:],
                "counts": dict(Counter(outcomes.values())),
                "outcomes": outcomes,
            }
        freeze = subprocess.run([uv, "pip", "freeze"], capture_output=True, text=True, timeout=120, env=env)
    a, b = runs["without_brickauth"]["outcomes"], runs["with_brickauth"]["outcomes"]
    differing = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
    versions = {}
    for line in freeze.stdout.splitlines():
        name, _, ver = line.partition(" @ ") if " @ " in line else line.partition("==")
        if name.lower() in (
            "dbt-databricks",
            "dbt-core",
            "databricks-sql-connector",
            "databricks-sdk",
            "dbt-adapters",
            "brickauth",
        ):
            versions[name.lower()] = ver or line
    failing = sorted(n for n, o in a.items() if o in ("failed", "error"))
    for run in runs.values():
        run.pop("outcomes")
    pinned = next((p.split("==")[1] for p in _pins() if p.startswith("dbt-databricks==")), None)
    return {
        "checkout": str(path),
        "version": _git_describe(path),
        "pinned_dbt_databricks": pinned,
        "installed": versions,
        "workers": workers,
        "runs": runs,
        "identical": not differing and bool(a),
        "differing": differing,
        "failing_without_brickauth": failing,
    }


# -- report ---------------------------------------------------------------------------------------
def _md_table(rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
    return out


def write_report(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    md = [
        "# Conformance report",
        "",
        f"Generated {report['generated']} by `nox -s conformance` (benchmarks/conformance/run.py).",
        "",
        "| package | version |",
        "|---|---|",
    ]
    md += [f"| {k} | {v} |" for k, v in report["versions"].items()]
    e2e = report.get("connector_e2e")
    if e2e:
        s = e2e["summary"]
        md += [
            "",
            f"## databricks-sql-python e2e ({e2e['version']}, `{E2E_FILE}`)",
            "",
            f"Checkout {e2e['version']}, installed connector {e2e['connector_installed']}, every connection "
            f'through `brickauth.credentials_provider(auth_type="{e2e["auth_type"]}")` against the sandbox '
            f"({e2e['seconds']} s).",
            "",
            f"- core Thrift: **{s['thrift'].get('passed', 0)} of {s['thrift']['runnable']}** runnable pass "
            f"({s['thrift'].get('skipped', 0)} skipped by the suite itself); target {THRIFT_TARGET}",
            f"- Statement Execution API (`use_sea=True`) variants: **{s['sea'].get('passed', 0)} of "
            f"{s['sea']['total']}** pass",
            "",
        ]
        if "retry" in s:
            md[-1:-1] = [f"- retry-policy tests (PySQLRetryTestsMixin): **{s['retry'].get('passed', 0)} of "
                         f"{s['retry']['total']}** pass"]
        if e2e.get("from_earlier_run"):
            md += [f"(Kept from the run of {e2e['from_earlier_run']}: this run did not repeat it.)", ""]
        rows = [["test", "path", "outcome", "note"]]
        for t in e2e["tests"]:
            if t["outcome"] != "not run":
                rows.append([t["id"].split("::", 1)[1], t["group"], t["outcome"], t["message"][:160]])
        md += _md_table(rows)
        md += ["", "### Not run on the emulator", ""]
        by_reason: dict[str, list[str]] = {}
        for t in e2e["tests"]:
            if t["outcome"] == "not run":
                by_reason.setdefault(f"{t['group']}: {t['message']}", []).append(t["id"].split("::", 1)[1])
        for reason, names in by_reason.items():
            md.append(f"- {reason} ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
    dbt = report.get("dbt_unit")
    if dbt:
        md += [
            "",
            f"## dbt-databricks unit tests ({dbt['version']}, tests/unit, {dbt['workers']} workers)",
            "",
            "Installed: " + ", ".join(f"{k} {v}" for k, v in dbt["installed"].items()),
            "",
        ]
        if dbt.get("from_earlier_run"):
            md += [f"(Kept from the run of {dbt['from_earlier_run']}: this run did not repeat it.)", ""]
        pinned = dbt.get("pinned_dbt_databricks")
        if pinned and dbt["version"].lstrip("v") != pinned:
            md += [
                f"The pinned line is dbt-databricks {pinned}; its tests are not published (the sdist has "
                "none) and the fetched repository has no tag for it: the unit tests ran from the nearest "
                f"tag, {dbt['version']}, installed from that checkout with the pinned line's other packages.",
                "",
            ]
        rows = [["run", "brickauth importable", "counts", "seconds"]]
        for label, run in dbt["runs"].items():
            counts = ", ".join(f"{k} {v}" for k, v in sorted(run["counts"].items()))
            rows.append([label, str(run["brickauth_importable"]), counts, str(run["seconds"])])
        md += _md_table(rows)
        md += [
            "",
            f"Per-test outcomes identical: **{dbt['identical']}**"
            + (f" (differing: {', '.join(dbt['differing'][:20])})" if dbt["differing"] else ""),
        ]
        if dbt["failing_without_brickauth"]:
            md += [
                "",
                "Failing in both runs (the checkout against the pinned line, brickauth not involved): "
                + ", ".join(f"`{n}`" for n in dbt["failing_without_brickauth"][:40]),
            ]
    out.with_suffix(".md").write_text("\n".join(md) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "paths", nargs="+", type=Path, help="checkouts of databricks-sql-python / dbt-databricks"
    )
    parser.add_argument(
        "--dbt-unit", action="store_true", help="run dbt-databricks' unit tests (about 2x10 min)"
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers for the dbt unit tests")
    parser.add_argument(
        "--auth-type", default="azure-m2m", help="brickauth auth type for the e2e connections"
    )
    parser.add_argument("--timeout", type=float, default=120, help="per-test timeout (s) for the e2e suite")
    parser.add_argument("--retry", action="store_true",
                        help="also run the connector's retry-policy tests (about 3 min; databricks-m2m: see "
                             "the report note)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "conformance-report")
    args = parser.parse_args(argv)
    kinds = {classify_checkout(p.resolve()): p.resolve() for p in args.paths}
    report: dict[str, Any] = {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "versions": {
            d: _version(d)
            for d in (
                "brickauth",
                "brickauth-sandbox",
                "databricks-sql-connector",
                "dbt-databricks",
                "dbt-core",
                "databricks-sdk",
                "duckdb",
            )
        },
    }
    ok = True
    if "connector" in kinds:
        e2e = run_connector(
            kinds["connector"], timeout=args.timeout, auth_type=args.auth_type, retry=args.retry
        )
        report["connector_e2e"] = e2e
        for t in e2e["tests"]:
            if t["outcome"] != "not run":
                print(
                    f"{t['outcome'].upper():8} {t['group']:6} {t['id'].split('::', 1)[1]}"
                    + (f"  -- {t['message'][:140]}" if t["outcome"] not in ("passed",) else "")
                )
        s = e2e["summary"]
        print(
            f"core Thrift: {s['thrift'].get('passed', 0)}/{s['thrift']['runnable']} passed; "
            f"SEA: {s['sea'].get('passed', 0)}/{s['sea']['total']} passed"
        )
        ok &= s["thrift"].get("passed", 0) >= THRIFT_TARGET
    if args.dbt_unit:
        if "dbt" not in kinds:
            raise SystemExit("--dbt-unit needs a dbt-databricks checkout among the paths")
        dbt = run_dbt_unit(kinds["dbt"], workers=args.workers)
        report["dbt_unit"] = dbt
        for label, run in dbt["runs"].items():
            print(f"dbt-databricks unit {label}: {run['counts']} ({run['seconds']} s)")
        print(f"identical per-test outcomes: {dbt['identical']}")
        ok &= dbt["identical"]
    previous = args.out.with_suffix(".json")
    if previous.exists():  # keep the part not re-run this time (e.g. the 20-minute dbt unit run)
        old = json.loads(previous.read_text())
        for key in ("connector_e2e", "dbt_unit"):
            if key not in report and key in old:
                kept_from = old[key].get("from_earlier_run") or old.get("generated")
                report[key] = old[key] | {"from_earlier_run": kept_from}
    write_report(report, args.out)
    print(f"report: {args.out.with_suffix('.md')} and .json")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
