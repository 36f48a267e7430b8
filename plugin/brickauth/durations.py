"""Durations as people read them in messages: ``"45 s"``, ``"1 min 30 s"``, ``"49 min"``, ``"2 h 5 min"``."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """Whole seconds under 10 min are kept (``"1 min 30 s"``); longer spans drop the smallest unit."""
    whole = int(max(seconds, 0))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    return f"{secs} s"
