"""Test-only: a child process whose U2M code runs "later" than now.

tests/conftest.py puts this directory on PYTHONPATH for every child process. When a test sets
``BRICKAUTH_TEST_CLOCK_OFFSET`` (seconds) in a child's environment, the child's U2M default clock
(``brickauth.oauth.u2m.DEFAULT_CLOCK``, which doctor's U2M check follows too) runs that far ahead, so
saved tokens look aged without anyone waiting. Production code knows nothing of this variable.
"""

from __future__ import annotations

import os

_offset = os.environ.get("BRICKAUTH_TEST_CLOCK_OFFSET", "").strip()
if _offset:
    from brickauth.clock import SYSTEM_CLOCK
    from brickauth.oauth import u2m as _u2m

    class OffsetClock:
        """The system clock's wall time moved by ``offset`` seconds (monotonic time unchanged)."""

        def __init__(self, offset: float) -> None:
            self.offset = offset

        def now(self) -> float:
            return SYSTEM_CLOCK.now() + self.offset

        def monotonic(self) -> float:
            return SYSTEM_CLOCK.monotonic()

    _u2m.DEFAULT_CLOCK = OffsetClock(float(_offset))
