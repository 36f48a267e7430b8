"""Sessions: tests, lint, demo, bench, compat, conformance. ``nox -s tests`` is the README's test command."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|venv"
nox.options.sessions = ["tests"]

ROOT = Path(__file__).parent
OIDC_PROVIDER_DIR = ROOT / "tests" / "oidc_provider"

COMPAT_LINES = ROOT / "tests" / "dbt" / "compat_lines.txt"


def _dbt_lines() -> dict[str, list[str]]:
    """Supported dbt-databricks lines and their exact pins, from tests/dbt/compat_lines.txt."""
    lines: dict[str, list[str]] = {}
    for raw in COMPAT_LINES.read_text().splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            name, *pins = raw.split()
            lines[name] = pins
    return lines


DBT_LINES = _dbt_lines()
CURRENT_LINE = list(DBT_LINES)[-1]


def _ensure_chromium(session: nox.Session) -> None:
    """Debian's chromium drives the browser tests (Playwright never downloads a browser)."""
    if shutil.which("chromium"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True)
    else:
        session.warn("chromium not found: browser tests will be skipped (apt-get install chromium)")


def _compile_bytecode(session: nox.Session) -> None:
    """Write every installed module's bytecode now. uv installs without it, and where
    PYTHONDONTWRITEBYTECODE is set (as on our CI machines) every Python process (each dbt run, each
    test's child process) would otherwise compile pandas, dbt and the connector from source: seconds of
    CPU each, enough to starve the other test worker on a 2-core box."""
    purelib = session.run(
        "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", silent=True
    )
    if not isinstance(purelib, str):  # --install-only runs nothing
        return
    # Exit code 1: a few vendored files are not Python 3 source (compileall says so and goes on).
    session.run("python", "-m", "compileall", "-q", "-j", "0", purelib.strip(),
                silent=True, success_codes=[0, 1])


def _npm_install(session: nox.Session) -> None:
    if not (OIDC_PROVIDER_DIR / "package.json").exists() or not shutil.which("npm"):
        return
    with session.chdir(OIDC_PROVIDER_DIR):
        cmd = "ci" if (OIDC_PROVIDER_DIR / "package-lock.json").exists() else "install"
        session.run("npm", cmd, "--no-audit", "--no-fund", "--loglevel=error", external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite against the sandbox, with real clients (installs what it needs)."""
    _ensure_chromium(session)
    _npm_install(session)
    # The newest supported dbt-databricks line, pinned, so every run tests the same versions.
    session.install(".[dev]", "./sandbox", *DBT_LINES[CURRENT_LINE])
    _compile_bytecode(session)
    # Two workers: much of the suite waits on dbt and browser subprocesses.
    session.run("pytest", *(session.posargs or ["-q", "-n", "2"]))
    if not session.posargs:  # the doctor's score on its field corpus, printed beside the test summary
        session.run("python", "tests/doctor/corpus/score.py")


@nox.session(name="doctor-score")
def doctor_score(session: nox.Session) -> None:
    """`brickauth doctor explain` on the field corpus: development and held-back accuracy, confusion."""
    session.install(".")
    session.run("python", "tests/doctor/corpus/score.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install(".[dev]", "./sandbox")
    session.run("ruff", "check", "plugin", "sandbox", "tests", "benchmarks", "noxfile.py")
    session.run("mypy")
    with session.chdir(ROOT / "plugin"):  # the dbt adapter plugin lives in dbt's namespace package
        session.run("mypy", "--strict", "-p", "dbt.adapters.brickauth", "--namespace-packages",
                    "--explicit-package-bases")


@nox.session
def demo(session: nox.Session) -> None:
    """Start the sandbox, connect with M2M through sql.connect, then run dbt on sample_project."""
    session.install(".[dbt]", "./sandbox", *DBT_LINES[CURRENT_LINE])
    _compile_bytecode(session)
    session.run("python", "-m", "brickauth_sandbox.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, brickauth next to databricks-sdk, azure-identity, the connector and dbt-databricks'
    own OAuth on one sandbox; prints ratios. ``nox -s bench -- OUT.json [run.py options]``."""
    session.install(".[connector,dbt]", "./sandbox", "databricks-sdk", "azure-identity",
                    *DBT_LINES[CURRENT_LINE])
    _compile_bytecode(session)
    out = session.posargs[0] if session.posargs else "bench-report.json"
    session.run("python", "benchmarks/run.py", "--out", out, *session.posargs[1:])


@nox.session
@nox.parametrize("line", list(DBT_LINES))
def compat(session: nox.Session, line: str) -> None:
    """The dbt tests once per supported dbt-databricks line."""
    session.install(".[dev]", "./sandbox", *DBT_LINES[line])
    _compile_bytecode(session)
    session.run("pytest", "-q", "-n", "2", "tests/dbt", "-m", "dbt")


# What the SQL connector's e2e suite imports besides the connector (its pyproject's dev group), plus
# pytest-timeout for the per-test bound.
E2E_TEST_DEPS = ["pytest", "pytest-timeout", "numpy", "pytz", "pyarrow", "lz4"]


@nox.session
def conformance(session: nox.Session) -> None:
    """The real clients' own suites against brickauth and the sandbox (not in CI: needs checkouts).

    ``nox -s conformance -- PATH... [--dbt-unit] [--workers N]``: PATHs are checkouts of
    databricks-sql-python (at the pinned connector's tag) and/or dbt-databricks. Writes
    benchmarks/conformance-report.md and .json (see benchmarks/conformance/run.py).
    """
    if not [a for a in session.posargs if not a.startswith("-")]:
        session.error(
            "usage: nox -s conformance -- /path/to/databricks-sql-python [/path/to/dbt-databricks --dbt-unit]"
        )
    session.install(".", "./sandbox", *DBT_LINES[CURRENT_LINE], *E2E_TEST_DEPS)
    _compile_bytecode(session)
    session.run("python", "benchmarks/conformance/run.py", *session.posargs)
