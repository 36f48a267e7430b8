"""Shared test setup.

The sandbox fixtures come from the sandbox distribution's opt-in plugin ``brickauth_sandbox.pytest``
(``brickauth_sandbox``, ``brickauth_sandbox_env``, ``brickauth_sandbox_session``,
``brickauth_sandbox_factory``). This suite names them shorter (``sandbox``, ``sandbox_env``,
``sandbox_session``, ``sandbox_factory``) through the aliases below.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Child processes load tests/clockshift/sitecustomize.py: BRICKAUTH_TEST_CLOCK_OFFSET in a child's
# environment moves its brickauth wall clock (test-only; production code knows no such variable).
_CLOCKSHIFT = str(Path(__file__).parent / "clockshift")
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_CLOCKSHIFT, os.environ.get("PYTHONPATH")) if p)

# The secret canary (tests/secret_canary.py) checks every test's captured output.
pytest_plugins = ["brickauth_sandbox.pytest", "secret_canary"]


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own brickauth state directory (token cache, locks, cache key), so no test
    reads a token an earlier test, another xdist worker or a second copy of the suite cached, and none
    writes to the user's ~/.local/state/brickauth. A test or fixture that sets its own still wins."""
    monkeypatch.setenv("BRICKAUTH_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session")
def sandbox_session(brickauth_sandbox_session: Any) -> Any:
    return brickauth_sandbox_session


@pytest.fixture
def sandbox(brickauth_sandbox: Any) -> Any:
    return brickauth_sandbox


@pytest.fixture
def sandbox_env(brickauth_sandbox_env: dict[str, str]) -> dict[str, str]:
    return brickauth_sandbox_env


@pytest.fixture
def sandbox_factory(brickauth_sandbox_factory: Callable[..., Any]) -> Callable[..., Any]:
    return brickauth_sandbox_factory
