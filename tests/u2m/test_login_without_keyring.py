"""Issue 10: on headless Linux without a keyring, `brickauth login` never prints success for a session
that dies with the process: it fails before any browser opens, naming the choices, or follows an
explicit BRICKAUTH_TOKEN_STORE; the profiles/ examples do not override that setting."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from u2m_harness import brickauth, browser_pages, user_env

from brickauth_sandbox.core import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def no_keyring(env: dict[str, str], **extra: str) -> dict[str, str]:
    """This machine as it is: keyring's own 'no backend' (what headless Linux has)."""
    return {**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", **extra}


def test_login_refuses_a_memory_only_session_before_the_browser(sandbox: Sandbox,
                                                                u2m_env: dict[str, str]) -> None:
    env = no_keyring(user_env(sandbox, u2m_env, "azure-u2m"))
    done = brickauth("login", "--auth-type", "azure-u2m", env=env)
    assert done.returncode == 1 and "Signed in" not in done.stdout
    assert "[BA411] No OS keyring works on this machine" in done.stderr
    assert "BRICKAUTH_TOKEN_STORE=file" in done.stderr and "Secret Service" in done.stderr
    assert "Traceback" not in done.stderr
    assert browser_pages(env) == []
    assert sandbox.request_log.count(service="entra", path_contains="authorize") == 0


@pytest.mark.browser
@pytest.mark.slow
def test_explicit_store_settings_are_followed(sandbox: Sandbox, u2m_env: dict[str, str]) -> None:
    env = no_keyring(user_env(sandbox, u2m_env, "azure-u2m"), BRICKAUTH_TOKEN_STORE="file")
    done = brickauth("login", "--auth-type", "azure-u2m", env=env)
    assert done.returncode == 0, done.stderr
    assert "session saved in file" in done.stdout
    status = brickauth("status", env={**env, "BRICKAUTH_INTERACTIVE": "0"})
    assert status.returncode == 0 and "Token store: file" in status.stdout

    memory = no_keyring(user_env(sandbox, u2m_env, "azure-u2m"), BRICKAUTH_TOKEN_STORE="memory")
    done = brickauth("login", "--auth-type", "azure-u2m", "--no-save-profile", env=memory)
    assert done.returncode == 0, done.stderr
    assert ("kept in memory only (token_store = memory from env:BRICKAUTH_TOKEN_STORE): it ends with this "
            "command") in done.stdout  # fmt: skip


def test_profile_examples_leave_the_token_store_to_the_environment() -> None:
    for path in sorted((ROOT / "profiles").glob("*/profiles.yml")):
        for target in yaml.safe_load(path.read_text())["brickauth_sample"]["outputs"].values():
            assert "token_store" not in target, path
