"""pytest plugin for running databricks-sql-connector's own e2e suite against the sandbox, through
brickauth's credentials provider. Loaded by ``benchmarks/conformance/run.py`` with
``-p brickauth_conformance`` (this directory on ``PYTHONPATH``); never imported by brickauth itself.

- starts a ``Sandbox`` (Entra + workspace + SQL warehouse) in the test process and sets the variables the
  suite's conftest reads (``DATABRICKS_SERVER_HOSTNAME``, ``DATABRICKS_HTTP_PATH``, ``DATABRICKS_CATALOG``,
  ``DATABRICKS_SCHEMA``; ``DATABRICKS_TOKEN`` is a placeholder the wrapper drops);
- wraps ``databricks.sql.connect`` so every connection the suite opens authenticates with
  ``brickauth.credentials_provider(auth_type=...)`` (one provider for the run, as an application would)
  and trusts the sandbox CA;
- writes one JSON line per test (node id, outcome, first line of the failure) to
  ``$BRICKAUTH_CONFORMANCE_RESULTS``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

_STATE: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("brickauth-conformance")
    group.addoption(
        "--brickauth-auth-type",
        default=os.environ.get("BRICKAUTH_CONFORMANCE_AUTH", "azure-m2m"),
        help="brickauth auth type for every connection (azure-m2m or databricks-m2m)",
    )


def pytest_configure(config: pytest.Config) -> None:
    import databricks.sql

    import brickauth
    from brickauth_sandbox.core import Sandbox

    sandbox = Sandbox().start()
    sandbox.wait_until_ready()
    _STATE["sandbox"] = sandbox
    os.environ.update(sandbox.env())
    os.environ.update(
        {
            "DATABRICKS_SERVER_HOSTNAME": sandbox.addresses["workspace"],
            "DATABRICKS_HTTP_PATH": sandbox.http_path,
            "DATABRICKS_TOKEN": "unused-brickauth-provides-credentials",
            "DATABRICKS_CATALOG": "main",
            "DATABRICKS_SCHEMA": "default",
        }
    )
    provider = brickauth.credentials_provider(
        auth_type=config.getoption("--brickauth-auth-type"), host=sandbox.workspace_url
    )
    _STATE["provider"] = provider
    # The first token now, outside any test: tests that patch urllib3 process-wide (the retry mixin)
    # would otherwise see brickauth's own token request inside their window.
    provider()()
    original = databricks.sql.connect
    _STATE["original_connect"] = original

    def connect(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("access_token", None)
        kwargs["credentials_provider"] = provider
        kwargs.setdefault("_tls_trusted_ca_file", str(sandbox.ca_bundle))
        kwargs.setdefault("enable_telemetry", False)
        return original(*args, **kwargs)

    databricks.sql.connect = connect  # type: ignore[assignment]
    results = os.environ.get("BRICKAUTH_CONFORMANCE_RESULTS")
    if results:
        _STATE["results"] = Path(results).open("a", encoding="utf-8")


def pytest_report_header(config: pytest.Config) -> list[str]:
    sandbox = _STATE.get("sandbox")
    if sandbox is None:
        return []
    return [
        f"brickauth conformance: sandbox workspace {sandbox.workspace_url}, warehouse {sandbox.http_path}"
    ]


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:400] if crash.message else ""
    return str(report.longrepr or "").splitlines()[-1][:400] if report.longrepr else ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    out = _STATE.get("results")
    if out is None:
        return
    if (
        report.when == "call"
        or (report.when == "setup" and not report.passed)
        or (report.when == "teardown" and report.failed)
    ):
        outcome = report.outcome if report.when != "teardown" else "error"
        if report.when == "setup" and report.failed:
            outcome = "error"
        line = {
            "nodeid": report.nodeid,
            "outcome": outcome,
            "when": report.when,
            "duration": round(report.duration, 3),
            "message": _message(report) if not report.passed else "",
        }
        out.write(json.dumps(line) + "\n")
        out.flush()


def pytest_unconfigure(config: pytest.Config) -> None:
    out = _STATE.pop("results", None)
    if out is not None:
        out.close()
    original = _STATE.pop("original_connect", None)
    if original is not None:
        import databricks.sql

        databricks.sql.connect = original
    sandbox = _STATE.pop("sandbox", None)
    if sandbox is not None:
        sandbox.stop()
