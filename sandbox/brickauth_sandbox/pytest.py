"""pytest fixtures for the brickauth sandbox. Opt-in: nothing loads them unless a suite asks, with
``pytest_plugins = ["brickauth_sandbox.pytest"]`` in a conftest.py or ``pytest -p brickauth_sandbox.pytest``.

- ``brickauth_sandbox_session`` (session): one running ``Sandbox`` shared by the whole run.
- ``brickauth_sandbox``: that sandbox, reset to the baseline before the test (state, faults, lifetimes,
  request log), so no test sees another's changes.
- ``brickauth_sandbox_env``: ``sandbox.env()`` applied to ``os.environ`` for the test (CA bundle included).
- ``brickauth_sandbox_factory``: start private sandboxes (e.g. with a ``FakeClock``); stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from brickauth_sandbox.core import Sandbox


@pytest.fixture(scope="session")
def brickauth_sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from brickauth_sandbox.core import Sandbox

    sb = Sandbox(directory=tmp_path_factory.mktemp("brickauth-sandbox"))
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def brickauth_sandbox(brickauth_sandbox_session: Sandbox) -> Sandbox:
    """The shared sandbox, reset to its baseline for this test."""
    brickauth_sandbox_session.reset()
    return brickauth_sandbox_session


@pytest.fixture
def brickauth_sandbox_env(brickauth_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The sandbox's client environment, set in ``os.environ`` for this test; returns it."""
    env = brickauth_sandbox.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def brickauth_sandbox_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Sandbox]]:
    """``brickauth_sandbox_factory(clock=FakeClock())`` starts a private sandbox, stopped after the test."""
    from brickauth_sandbox.core import Sandbox

    started: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("directory", tmp_path_factory.mktemp("brickauth-sandbox"))
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()
