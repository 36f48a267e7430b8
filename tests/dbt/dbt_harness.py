"""dbt test harness: run the real dbt CLI as a subprocess on a private copy of sample_project.

Each dbt invocation costs seconds (imports dominate), so tests keep their count low.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PROJECT = ROOT / "sample_project"
PROFILES = ROOT / "profiles"
DBT_TIMEOUT = 300  # seconds for one dbt command: a hang guard (dbt's own connect timeouts are far longer)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


@dataclass
class DbtResult:
    args: tuple[str, ...]
    returncode: int
    output: str  # stdout and stderr
    log: str  # logs/dbt.log of this run

    @property
    def everything(self) -> str:
        return self.output + "\n" + self.log

    def summary(self) -> str:
        return f"dbt {' '.join(self.args)} -> {self.returncode}\n{self.output[-6000:]}"


def dbt_env(extra: Mapping[str, str | None] | None = None, *, home: Path) -> dict[str, str]:
    """os.environ plus quiet, isolated dbt settings; ``extra`` values of None remove a variable."""
    env = dict(os.environ)
    env.update(
        {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
            "DBT_PARTIAL_PARSE": "false",
            "DBT_VERSION_CHECK": "false",
            "BRICKAUTH_INTERACTIVE": "false",  # never open a browser in tests
            "HOME": str(home),  # no ~/.databrickscfg, keyring files or ~/.dbt from the machine
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("DATABRICKS_CONFIG_PROFILE", None)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def dbt_executable() -> list[str]:
    """The dbt script of this interpreter's environment (nox venvs included)."""
    script = Path(sys.executable).parent / "dbt"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from dbt.cli.main import cli; cli()"]


class DbtRunner:
    """``runner("debug", profile="azure-m2m-secret")`` on a private copy of sample_project."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.project = tmp / "project"
        shutil.copytree(SAMPLE_PROJECT, self.project, ignore=shutil.ignore_patterns("target", "logs"))
        self.home = tmp / "home"
        self.home.mkdir()
        self.schema = "s_" + uuid.uuid4().hex[:8]
        self.env: dict[str, str | None] = {"DBT_SCHEMA": self.schema}

    def __call__(
        self,
        *args: str,
        profile: str | Path = "databricks-m2m",
        env: Mapping[str, str | None] | None = None,
        global_flags: tuple[str, ...] = (),
        timeout: float = DBT_TIMEOUT,
    ) -> DbtResult:
        profiles_dir = profile if isinstance(profile, Path) else PROFILES / profile
        log_dir = self.project / "logs"
        shutil.rmtree(log_dir, ignore_errors=True)
        command = [
            *dbt_executable(), *global_flags, *args,
            "--project-dir", str(self.project), "--profiles-dir", str(profiles_dir),
        ]  # fmt: skip
        log_file = log_dir / "dbt.log"
        with subprocess.Popen(
            command,
            cwd=self.project,
            env=dbt_env({**self.env, **(env or {}), "PYTHONFAULTHANDLER": "1"}, home=self.home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                # A hang: SIGABRT makes faulthandler print every thread's stack, so the failure says where.
                proc.send_signal(signal.SIGABRT)
                try:
                    output, _ = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    output, _ = proc.communicate()
                log = log_file.read_text(errors="replace") if log_file.exists() else ""
                pytest.fail(
                    f"dbt {' '.join(args)} did not finish in {timeout:g} s; its stacks and output:\n"
                    f"{output[-12000:]}\n--- logs/dbt.log (end) ---\n{log[-6000:]}"
                )
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        return DbtResult(tuple(args), proc.returncode, output, log)


def write_profile(directory: Path, output: Mapping[str, object], *, name: str = "brickauth_sample") -> Path:
    """A profiles.yml with one target ``dev`` (values written as YAML via json: always valid)."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}:", "  target: dev", "  outputs:", "    dev:"]
    lines += [f"      {key}: {json.dumps(value)}" for key, value in output.items()]
    (directory / "profiles.yml").write_text("\n".join(lines) + "\n")
    return directory


def assert_ok(result: DbtResult, *expect: str) -> None:
    assert result.returncode == 0, result.summary()
    for text in expect:
        assert text in result.output, f"{text!r} not in output\n{result.summary()}"


def assert_no_secret(result: DbtResult, *secrets: str) -> None:
    """Fails without showing the secret (no assert introspection of its value)."""
    text = result.everything
    leaked = [i for i, secret in enumerate(secrets) if not secret or secret in text]
    if leaked:
        pytest.fail(f"secret #{leaked} leaked (or was empty) in dbt {' '.join(result.args)}", pytrace=False)
    if JWT.search(text):
        pytest.fail(f"a JWT leaked in dbt {' '.join(result.args)}", pytrace=False)


Check = Callable[[DbtResult], None]
