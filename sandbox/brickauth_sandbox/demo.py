"""The demo: the whole product on the local sandbox, with no cloud account.

``python -m brickauth_sandbox.demo`` (or ``nox -s demo``) starts the sandbox, connects to its SQL
warehouse through ``databricks.sql.connect`` with each M2M flow and prints who it is, then runs
``dbt debug``, ``dbt run`` and ``dbt test`` of ``sample_project/`` with the CI profile in ``profiles/ci``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

DBT_STEPS = (["debug"], ["run"], ["test"])

console = Console(highlight=False, soft_wrap=True)


def _whoami(env: dict[str, str], auth_type: str) -> str:
    from databricks import sql

    import brickauth

    provider = brickauth.credentials_provider(auth_type)
    with sql.connect(
        server_hostname=env["DATABRICKS_HOST"],
        http_path=env["DATABRICKS_HTTP_PATH"],
        credentials_provider=provider,
        _tls_trusted_ca_file=env["REQUESTS_CA_BUNDLE"],
        enable_telemetry=False,
    ) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT current_user()")
        row = cursor.fetchone()
    return str(row[0]) if row else "?"


def _dbt_executable() -> str:
    """The ``dbt`` script installed beside this interpreter (the one nox or a venv set up)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def _run_dbt(env: dict[str, str], work: Path, project: Path, profiles: Path) -> bool:
    dbt_env = {
        **os.environ,
        **env,
        "BRICKAUTH_AUTH_TYPE": "azure-m2m",
        "DBT_SCHEMA": "demo",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    for step in DBT_STEPS:
        cmd = [_dbt_executable(), *step,
               "--project-dir", str(project), "--profiles-dir", str(profiles)]
        console.print(
            f"\n[bold]$ dbt {' '.join(step)}[/bold] --profiles-dir profiles/ci (auth_type azure-m2m)"
        )
        result = subprocess.run(cmd, env=dbt_env, cwd=work, timeout=300, check=False)
        if result.returncode != 0:
            console.print(f"[red]dbt {step[0]} failed (exit {result.returncode})[/red]")
            return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brickauth_sandbox.demo", description=__doc__)
    parser.add_argument("--no-dbt", action="store_true", help="skip the dbt part")
    parser.add_argument("--project-dir", type=Path, default=Path("sample_project"), help="dbt project")
    parser.add_argument("--profiles-dir", type=Path, default=Path("profiles/ci"), help="dbt profiles dir")
    args = parser.parse_args(argv)
    project, profiles = args.project_dir.resolve(), args.profiles_dir.resolve()
    if not args.no_dbt and not (project / "dbt_project.yml").is_file():
        parser.error(f"no dbt project at {project}: run from the brickauth checkout or pass --project-dir")

    from brickauth_sandbox.core import Sandbox

    started = time.perf_counter()
    with Sandbox() as sandbox:
        env = sandbox.env()
        os.environ.update(env)  # what `set -a; . sandbox.env` gives a shell
        console.print(
            f"[bold]Sandbox up[/bold] in {time.perf_counter() - started:.2f}s: workspace "
            f"{env['DATABRICKS_HOST']}, warehouse {env['DATABRICKS_HTTP_PATH']}, "
            f"Entra {env['AZURE_AUTHORITY_HOST']}"
        )
        console.print("\n[bold]sql.connect(credentials_provider=brickauth.credentials_provider(...))[/bold]")
        for auth_type, who in (
            ("azure-m2m", "Entra service principal, client secret"),
            ("databricks-m2m", "Databricks service principal, OAuth secret"),
        ):
            user = _whoami(env, auth_type)
            console.print(f"  {auth_type:<15} ({who}): SELECT current_user() -> [green]{user}[/green]")
        token_requests = sandbox.request_log.count(service="entra") + sandbox.request_log.count(
            service="workspace", path="/oidc/v1/token"
        )
        console.print(f"  token requests seen by the sandbox's identity providers: {token_requests}")
        if args.no_dbt:
            return 0
        with tempfile.TemporaryDirectory(prefix="brickauth-demo-") as work:
            ok = _run_dbt(env, Path(work), project, profiles)
    console.print(
        "\n[bold green]Demo complete.[/bold green]" if ok else "\n[bold red]Demo failed.[/bold red]"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
