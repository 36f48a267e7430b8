"""Test-only: a child process that runs "later" than now.

tests/conftest.py puts this directory on PYTHONPATH for every child process. When a test sets
``BRICKAUTH_TEST_CLOCK_OFFSET`` (seconds) in a child's environment, the child's brickauth wall clock
runs that far ahead, so its saved tokens look aged without anyone waiting. Production code knows
nothing of this variable.
"""

from __future__ import annotations

import os

_offset = os.environ.get("BRICKAUTH_TEST_CLOCK_OFFSET", "").strip()
if _offset:
    from brickauth import clock as _clock

    _seconds = float(_offset)
    _base_now = _clock.SystemClock.now
    _clock.SystemClock.now = lambda self: _base_now(self) + _seconds  # type: ignore[method-assign]
