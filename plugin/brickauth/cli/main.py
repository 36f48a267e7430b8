"""``brickauth`` command line: subcommands live in their own modules and import heavy code lazily."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from brickauth.errors import BrickauthError

# subcommand -> module exposing ``configure(subparsers)``; each sets ``func`` on its parser(s).
SUBCOMMAND_MODULES = (
    "brickauth.cli.sandbox",  # sandbox up
    "brickauth.cli.session",  # login, logout, status, token
    "brickauth.cli.doctor",  # doctor, doctor explain
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brickauth", description="OAuth sign-in for Databricks, without PATs."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    from brickauth import __version__

    parser.add_argument("--version", action="version", version=f"brickauth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).configure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except BrickauthError as err:
        print(f"brickauth: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("brickauth: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
