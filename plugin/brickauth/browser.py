"""Opening the sign-in page, and telling whether this run may ask a person at all.

``BRICKAUTH_BROWSER`` names a command that opens URLs (``%s`` is replaced by the URL, else the URL is
appended), like Python's ``BROWSER``; it is also how tests drive a headless browser.
``BRICKAUTH_NO_BROWSER=1`` (or ``--no-browser``) never opens one: device code / pasted redirect instead.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

BROWSER_ENV = "BRICKAUTH_BROWSER"
NO_BROWSER_ENV = "BRICKAUTH_NO_BROWSER"
# Environment variables set by CI systems: such runs never wait for a person.
CI_ENV_VARS = (
    "CI", "GITHUB_ACTIONS", "TF_BUILD", "JENKINS_URL", "GITLAB_CI", "BUILDKITE", "CIRCLECI",
    "TEAMCITY_VERSION", "CODEBUILD_BUILD_ID", "BITBUCKET_BUILD_NUMBER", "DATABRICKS_RUNTIME_VERSION",
)  # fmt: skip
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

Opener = Callable[[str], object]


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def ci_name(env: Mapping[str, str] | None = None) -> str | None:
    e = _env(env)
    for name in CI_ENV_VARS:
        value = e.get(name, "").strip().lower()
        if value and value not in _FALSE:
            return name
    return None


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


def browser_available(no_browser: bool = False, *, env: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Whether a browser can be opened here, and why not."""
    e = _env(env)
    if no_browser or e.get(NO_BROWSER_ENV, "").strip().lower() in _TRUE:
        return False, "no browser was requested"
    if e.get(BROWSER_ENV, "").strip():
        return True, f"{BROWSER_ENV} is set"
    if sys.platform in ("win32", "darwin"):
        if e.get("SSH_CONNECTION") or e.get("SSH_TTY"):
            return False, "this is an SSH session"
        return True, "desktop session"
    if e.get("DISPLAY") or e.get("WAYLAND_DISPLAY") or e.get("BROWSER"):
        return True, "a display is available"
    if e.get("SSH_CONNECTION") or e.get("SSH_TTY"):
        return False, "this is an SSH session without a display"
    return False, "no display is available (DISPLAY/WAYLAND_DISPLAY unset)"


def open_browser(url: str, *, opener: Opener | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Open ``url``; True when something was asked to open it. Never raises."""
    if opener is not None:
        opener(url)
        return True
    command = _env(env).get(BROWSER_ENV, "").strip()
    try:
        if command:
            args = shlex.split(command, posix=sys.platform != "win32")
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
