"""What this run's environment allows a sign-in: is it CI (never wait for a person), is there a
display for a browser, is it an SSH session."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from brickauth.config.environment import environment

# Environment variables set by CI systems.
CI_ENV_VARS = (
    "CI", "GITHUB_ACTIONS", "TF_BUILD", "JENKINS_URL", "GITLAB_CI", "BUILDKITE", "CIRCLECI",
    "TEAMCITY_VERSION", "CODEBUILD_BUILD_ID", "BITBUCKET_BUILD_NUMBER", "DATABRICKS_RUNTIME_VERSION",
)  # fmt: skip
_FALSE = {"0", "false", "no", "off"}


def ci_name(env: Mapping[str, str] | None = None) -> str | None:
    """The first CI variable set (to anything but a false value), or None."""
    e = environment(env)
    for name in CI_ENV_VARS:
        value = e.get(name, "").strip().lower()
        if value and value not in _FALSE:
            return name
    return None


def browser_available(
    no_browser: bool = False, *, command: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[bool, str]:
    """Whether a browser can be opened here, and why not. ``command`` is the ``browser`` setting."""
    e = environment(env)
    if no_browser:
        return False, "no browser was requested"
    if command:
        return True, "a browser command is configured"
    if sys.platform in ("win32", "darwin"):
        if e.get("SSH_CONNECTION") or e.get("SSH_TTY"):
            return False, "this is an SSH session"
        return True, "desktop session"
    if e.get("DISPLAY") or e.get("WAYLAND_DISPLAY") or e.get("BROWSER"):
        return True, "a display is available"
    if e.get("SSH_CONNECTION") or e.get("SSH_TTY"):
        return False, "this is an SSH session without a display"
    return False, "no display is available (DISPLAY/WAYLAND_DISPLAY unset)"
