"""pytest fixtures for the brickauth sandbox (``pytest11`` entry point ``brickauth_sandbox``).

- ``sandbox_session`` (session): one running ``Sandbox`` shared by the whole run.
- ``sandbox``: that sandbox, reset to the baseline before the test (state, faults, lifetimes, request
  log), so no test sees another's changes.
- ``sandbox_env``: ``sandbox.env()`` applied to ``os.environ`` for the test (CA bundle included).
- ``sandbox_factory``: start private sandboxes (e.g. with a ``FakeClock``); stopped after the test.

This module is loaded by every pytest run where brickauth is installed: keep its imports light (the
sandbox extra may be missing; it is imported only when a fixture is used).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from brickauth.sandbox.core import Sandbox


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from brickauth.sandbox.core import Sandbox

    sb = Sandbox(directory=tmp_path_factory.mktemp("brickauth-sandbox"))
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Sandbox:
    """The shared sandbox, reset to its baseline for this test."""
    sandbox_session.reset()
    return sandbox_session


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The sandbox's client environment, set in ``os.environ`` for this test; returns it."""
    env = sandbox.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Sandbox]]:
    """``sandbox_factory(clock=FakeClock(), ...)`` starts a private sandbox, stopped after the test."""
    from brickauth.sandbox.core import Sandbox

    started: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("directory", tmp_path_factory.mktemp("brickauth-sandbox"))
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()
