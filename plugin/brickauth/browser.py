"""Opening the sign-in page, and telling whether this run may ask a person at all.

The ``browser`` setting (``BRICKAUTH_BROWSER``) names a command that opens URLs (``%s`` is replaced by
the URL, else the URL is appended), like Python's ``BROWSER``; it is also how tests drive a headless
browser. The ``no_browser`` setting (``BRICKAUTH_NO_BROWSER=1``, ``--no-browser``) never opens one:
device code / pasted redirect instead. Both are resolved by ``brickauth.config`` and passed in here.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping

from brickauth.config.terminal import browser_available, ci_name

__all__ = ["Opener", "browser_available", "ci_name", "is_interactive", "open_browser", "split_command"]

log = logging.getLogger(__name__)

Opener = Callable[[str], object]


def is_interactive(setting: bool | None = None, *, env: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Whether this run may wait for a person, and why (for messages). An explicit setting
    (``interactive=`` / ``BRICKAUTH_INTERACTIVE``) wins; then CI variables; then a terminal."""
    if setting is not None:
        return setting, f"interactive={'true' if setting else 'false'} was set"
    ci = ci_name(env)
    if ci is not None:
        return False, f"this looks like a CI run ({ci} is set)"
    if (sys.stdin is not None and sys.stdin.isatty()) or (sys.stderr is not None and sys.stderr.isatty()):
        return True, "a terminal is attached"
    return False, "no terminal is attached"


def split_command(command: str) -> list[str]:
    """``command`` as program and arguments (shell quoting; Windows paths keep their backslashes).
    Raises ``ValueError`` on unbalanced quotes or an empty command."""
    args = shlex.split(command, posix=sys.platform != "win32")
    if not args:
        raise ValueError("empty command")
    return args


def open_browser(url: str, *, opener: Opener | None = None, command: str | None = None) -> bool:
    """Open ``url`` with ``opener``, else the ``command`` (the ``browser`` setting), else the system's
    browser; True when something was asked to open it. Never raises."""
    if opener is not None:
        opener(url)
        return True
    try:
        if command:
            args = split_command(command)
            if any("%s" in a for a in args):
                args = [a.replace("%s", url) for a in args]
            else:
                args.append(url)
            subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             start_new_session=True)
            return True
        import webbrowser

        return bool(webbrowser.open(url, new=1))
    except (OSError, ValueError) as exc:
        log.warning("Could not open a browser (%s); open the printed link by hand.", type(exc).__name__)
        return False
