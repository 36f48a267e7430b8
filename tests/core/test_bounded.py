"""``run_bounded``: a value, an exception handed back, or ``None`` for a call that does not return."""

from __future__ import annotations

import threading

import pytest

from brickauth.bounded import run_bounded


def test_a_value_and_an_exception_come_back() -> None:
    answered = run_bounded(lambda: 42, 5)
    assert answered is not None and answered.get() == 42

    def boom() -> int:
        raise KeyError("x")

    returned = run_bounded(boom, 5)
    assert returned is not None and isinstance(returned.error, KeyError)
    with pytest.raises(KeyError):
        returned.get()


def test_a_call_that_does_not_return_is_abandoned_in_a_daemon_thread() -> None:
    release = threading.Event()
    assert run_bounded(lambda: release.wait(30), 0.05, name="brickauth-test-hang") is None
    [hung] = [t for t in threading.enumerate() if t.name == "brickauth-test-hang"]
    assert hung.daemon  # it cannot keep the process alive
    release.set()
    hung.join(5)
