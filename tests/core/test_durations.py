"""``format_duration``: durations as messages show them."""

from __future__ import annotations

import pytest

from brickauth.durations import format_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "0 s"), (12, "12 s"), (90, "1 min 30 s"), (600, "10 min"), (2940.7, "49 min"), (3600, "1 h"),
     (3725, "1 h 2 min"), (90000, "1 d 1 h")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
