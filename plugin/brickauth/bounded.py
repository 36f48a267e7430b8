"""Calls with a time limit: the call runs in a daemon thread, and one that does not return in time is
abandoned (never joined), so a hung backend can neither block the caller nor keep the process alive."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Returned(Generic[T]):
    """How a bounded call ended in time: its value, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None

    def get(self) -> T:
        """The value, or the call's exception raised again."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def run_bounded(
    func: Callable[[], T], timeout: float, *, name: str = "brickauth-bounded"
) -> Returned[T] | None:
    """Run ``func()`` in a daemon thread named ``name``; ``None`` when it did not return within
    ``timeout`` seconds (the thread is left to finish, or hang, on its own)."""
    box: dict[str, Returned[T]] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["returned"] = Returned(value=func())
        except BaseException as exc:  # handed to the caller
            box["returned"] = Returned(error=exc)
        finally:
            done.set()

    threading.Thread(target=target, name=name, daemon=True).start()
    if not done.wait(max(timeout, 0.0)):
        return None
    return box["returned"]
