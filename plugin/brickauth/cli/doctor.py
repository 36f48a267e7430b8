"""``brickauth doctor [flags]`` and ``brickauth doctor explain [TEXT|-|--file PATH]``.

Exit codes: 0 healthy (or every error explained), 1 problems found (or an error it cannot explain),
2 usage error. Heavy modules load only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from brickauth.errors import BrickauthError

EXIT_USAGE = 2
EXIT_PIPE_CLOSED = 141  # as a shell reports a process ended by SIGPIPE (128 + 13)


def configure(subparsers: Any) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="check a configuration end to end; `doctor explain` explains pasted errors",
        description="Check settings, network, identity provider, token, workspace, warehouse and SQL, "
        "each step bounded in time; name the first problem with its exact fix.",
    )
    doctor.add_argument("--host", help="workspace host (default: DATABRICKS_HOST, profile, dbt target)")
    doctor.add_argument("--http-path", help="SQL warehouse HTTP path (default: DATABRICKS_HTTP_PATH)")
    doctor.add_argument("--auth-type", help="azure-m2m, databricks-m2m, azure-u2m, databricks-u2m, pat, auto")
    doctor.add_argument("--tenant-id", help="Entra tenant (default: AZURE_TENANT_ID)")
    doctor.add_argument("--client-id", help="client/application id (Entra or Databricks, by auth type)")
    doctor.add_argument(
        "--authority-host", help="Entra authority host (default: AZURE_AUTHORITY_HOST or by cloud)"
    )
    doctor.add_argument("--ca-bundle", help="CA bundle file (default: REQUESTS_CA_BUNDLE / SSL_CERT_FILE)")
    doctor.add_argument("--config-file", type=Path, help="~/.databrickscfg to read")
    doctor.add_argument(
        "--profile", help="with --dbt-target: the dbt profile; otherwise a ~/.databrickscfg profile"
    )
    doctor.add_argument(
        "--dbt-target", metavar="NAME", help="read settings from this dbt target in profiles.yml"
    )
    doctor.add_argument(
        "--profiles-dir", type=Path, metavar="DIR", help="folder of profiles.yml (dbt's flag)"
    )
    doctor.add_argument("--project-dir", type=Path, metavar="DIR", help="dbt project folder (default: .)")
    doctor.add_argument("--timeout", type=float, default=5.0, help="seconds per network step (default 5)")
    doctor.add_argument("--deadline", type=float, default=20.0, help="seconds for the whole run (default 20)")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON (docs/doctor-json.md)")
    doctor.add_argument(
        "--refresh",
        action="store_true",
        help="U2M: refresh the cached sign-in even if its access token is still valid (never a browser)",
    )
    doctor.set_defaults(func=_pipe_safe(run_doctor))

    sub = doctor.add_subparsers(dest="doctor_command", metavar="explain")
    explain = sub.add_parser(
        "explain",
        help="explain auth errors in pasted text, stdin or a log file",
        description="Find the authentication errors in the text and explain each with its fix. "
        "Secrets in the text are masked in the output.",
    )
    explain.add_argument("text", nargs="*", help="error text; '-' (or nothing, with a pipe) reads stdin")
    explain.add_argument("--file", type=Path, metavar="PATH", help="a log file, e.g. logs/dbt.log")
    explain.add_argument("--json", action="store_true", help="print the findings as JSON")
    explain.set_defaults(func=_pipe_safe(run_explain))


def _pipe_safe(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``brickauth doctor | head``: a reader that stops early ends the output quietly, with no
    ``BrokenPipeError`` traceback (now or when Python flushes stdout at exit)."""

    def run(args: argparse.Namespace) -> int:
        try:
            code = command(args)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return EXIT_PIPE_CLOSED

    return run


def _usage(message: str) -> int:
    print(f"brickauth doctor: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_explain(args: argparse.Namespace) -> int:
    from brickauth.doctor.explain import explain, render_text

    if args.file is not None:
        if args.text:
            return _usage("give either TEXT or --file, not both")
        try:
            text = args.file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return _usage(f"cannot read {args.file}: {exc.strerror}")
        source = str(args.file)
    elif args.text and args.text != ["-"]:
        text, source = " ".join(args.text), "argument"
    elif args.text == ["-"] or not sys.stdin.isatty():
        text, source = sys.stdin.read(), "stdin"
    else:
        return _usage("paste the error as an argument, pipe it on stdin, or pass --file PATH")
    result = explain(text, source=source)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(render_text(result))
    return result.exit_code()


def run_doctor(args: argparse.Namespace) -> int:
    import time

    from brickauth.doctor.plan import build_plan
    from brickauth.doctor.report import PlainDisplay, RichDisplay, exit_code, report_json
    from brickauth.doctor.runner import run_checks
    from brickauth.doctor.sources import gather

    if args.timeout <= 0 or args.deadline <= 0:
        return _usage("--timeout and --deadline must be positive")
    explicit = {
        "host": args.host,
        "http_path": args.http_path,
        "auth_type": args.auth_type,
        "tenant_id": args.tenant_id,
        "authority_host": args.authority_host,
        "ca_bundle": args.ca_bundle,
    }
    if args.client_id:
        explicit["client_id"] = args.client_id
    try:
        raw = gather(
            {k: v for k, v in explicit.items() if v},
            config_file=args.config_file,
            config_profile=None if args.dbt_target else args.profile,
            dbt_target=args.dbt_target,
            dbt_profile=args.profile if args.dbt_target else None,
            profiles_dir=args.profiles_dir,
            project_dir=args.project_dir,
        )
    except BrickauthError as err:
        return _usage(str(err))
    plan = build_plan(raw)
    display: PlainDisplay | None = None
    if not args.json:
        display = RichDisplay(sys.stdout) if sys.stdout.isatty() else PlainDisplay(sys.stdout)
        display.header(plan)
    started = time.monotonic()
    try:
        findings = run_checks(
            plan,
            step_timeout=args.timeout,
            deadline=args.deadline,
            on_start=display.start if display else None,
            on_finding=display.finding if display else None,
            refresh=args.refresh,
        )
    finally:
        if display:
            display.close()
    elapsed = time.monotonic() - started
    if args.json:
        print(json.dumps(report_json(plan, findings, elapsed), indent=2))
    elif display:
        display.summary(findings, elapsed)
    return exit_code(findings)
