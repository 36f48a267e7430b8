"""``brickauth sandbox up``: run the local Entra ID + Databricks sandbox in the foreground."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from brickauth.errors import ConfigurationError


def configure(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="a local Entra ID and Databricks workspace for trying configurations",
        description="A local Entra ID and Databricks workspace with a SQL warehouse, over TLS on loopback.",
    )
    sub = parser.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    up = sub.add_parser("up", help="start the sandbox in the foreground (Ctrl-C stops it)")
    up.add_argument(
        "--write-env", metavar="FILE", help="write the client environment to FILE (KEY=value lines)"
    )
    up.set_defaults(func=run_up)
    parser.set_defaults(func=lambda args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def env_file_text(env: dict[str, str]) -> str:
    """``KEY=value`` lines that ``set -a; . FILE`` accepts (values shell-quoted when needed)."""
    lines = ["# brickauth sandbox environment: sandbox-only values, including secrets.",
             "# Use: set -a; . THIS_FILE; set +a"]
    lines += [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, env: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(env_file_text(env))
    os.replace(tmp, path)


def run_up(args: argparse.Namespace) -> int:
    try:
        from brickauth_sandbox.core import Sandbox
    except ImportError as exc:
        raise ConfigurationError(
            f"The sandbox is a separate distribution, brickauth-sandbox, not installed ({exc.name}).",
            fix="pip install brickauth-sandbox (from a checkout of brickauth: pip install ./sandbox)",
            code="BA192",
        ) from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox()
    try:
        sandbox.start()
        env = sandbox.env()
        if args.write_env:
            write_env_file(Path(args.write_env), env)
        out = sys.stdout
        s = sandbox.summary()
        print(f"brickauth sandbox is up ({s['startup_seconds']:.2f} s). Ctrl-C stops it.", file=out)
        print(f"  workspace        {s['workspace_url']}  (warehouse {s['http_path']})", file=out)
        print(f"  entra authority  {s['authority']}", file=out)
        if s["admin_url"]:
            print(f"  admin            {s['admin_url']}/admin", file=out)
        print(f"  user (U2M)       {s['user']}", file=out)
        print("", file=out)
        print("Environment for clients. SANDBOX-ONLY values, secrets included on purpose:", file=out)
        for key, value in env.items():
            print(f"{key}={shlex.quote(value)}", file=out)
        if args.write_env:
            print(f"\nWrote {args.write_env}; load it with: set -a; . {shlex.quote(args.write_env)}; set +a",
                  file=out)
        out.flush()
        stop.wait()
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("brickauth sandbox stopped.", flush=True)
    return 0
