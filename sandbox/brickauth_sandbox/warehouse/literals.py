"""Databricks' string -> DATE / TIMESTAMP rules, for literals (DuckDB only takes full ISO forms).

Spark SQL (and so Databricks SQL) accepts partial forms: ``DATE('2021')`` is 2021-01-01,
``TIMESTAMP('2021-09-30 11')`` is 11:00, and a zone suffix (``Z``, ``+04:00``, ``UTC+4``, a region id)
is honoured; a value without one is read in the session time zone (``spark.sql.session.timeZone``).
An impossible value (``9999-99-31``) is NULL when ``ansi_mode`` is off and ``CAST_INVALID_INPUT`` when
it is on. The patterns are those of Spark's ``SparkDateTimeUtils.stringToDate`` /
``stringToTimestamp`` (the ones the SQL connector's e2e ``TimestampTestsMixin`` exercises).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from brickauth_sandbox.warehouse import errors

DEFAULT_TIME_ZONE = "Etc/UTC"

_DATE = re.compile(r"\s*(?P<y>[+-]?\d{4,7})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2})(?:[ T].*)?)?)?\s*", re.S)
_TIMESTAMP = re.compile(
    r"\s*(?P<y>[+-]?\d{4,7})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2})"
    r"(?:[ T](?P<H>\d{1,2})(?::(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:\.(?P<f>\d{0,9}))?)?)?)?)?)?"
    r"\s*(?P<z>Z|[+-]\d{1,2}(?::?\d{2})?(?::?\d{2})?|(?:UTC|GMT|UT)(?:[+-]\d{1,2}(?::?\d{2})?)?|[A-Za-z][\w/+-]*)?\s*",
    re.S,
)


def time_zone(name: str) -> tzinfo:
    """A session time zone: region ids (``Europe/Amsterdam``), ``UTC``/``Z``, offsets (``+01:00``)."""
    offset = _offset(name)
    if offset is not None:
        return offset
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid_time_zone(name) from None


def invalid_time_zone(name: str) -> errors.WarehouseSqlError:
    # Spark's INVALID_CONF_VALUE.TIME_ZONE (sql/common error-conditions.json).
    return errors.WarehouseSqlError(
        "INVALID_CONF_VALUE.TIME_ZONE",
        f"The value '{name}' in the config \"spark.sql.session.timeZone\" is invalid. Cannot resolve the "
        "given timezone.",
        "22022",
    )


def _offset(text: str) -> tzinfo | None:
    text = text.strip()
    if text.upper() in ("Z", "UTC", "GMT", "UT"):
        return timezone.utc
    m = re.fullmatch(r"(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?", text, re.I)
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0), seconds=int(m.group(4) or 0))
    if delta > timedelta(hours=18):
        return None
    return timezone(sign * delta)


def parse_date(value: str, *, ansi: bool) -> date | None:
    m = _DATE.fullmatch(value)
    try:
        if m is None:
            raise ValueError(value)
        return date(int(m.group("y")), int(m.group("m") or 1), int(m.group("d") or 1))
    except ValueError:
        if ansi:
            raise errors.cast_invalid_input(value, "DATE") from None
        return None


def parse_timestamp(value: str, *, session_zone: str, ansi: bool, ntz: bool = False) -> datetime | None:
    """The instant (aware, UTC) of a TIMESTAMP literal, or the wall time (naive) of a TIMESTAMP_NTZ."""
    m = _TIMESTAMP.fullmatch(value)
    try:
        if m is None:
            raise ValueError(value)
        fraction = (m.group("f") or "").ljust(6, "0")[:6]
        wall = datetime(
            int(m.group("y")), int(m.group("m") or 1), int(m.group("d") or 1), int(m.group("H") or 0),
            int(m.group("M") or 0), int(m.group("S") or 0), int(fraction or 0),
        )
        if ntz:
            return wall
        zone_text = m.group("z")
        zone = time_zone(zone_text) if zone_text else time_zone(session_zone)
        return wall.replace(tzinfo=zone).astimezone(timezone.utc)
    except (ValueError, OverflowError, errors.WarehouseSqlError):
        if ansi:
            raise errors.cast_invalid_input(value, "TIMESTAMP_NTZ" if ntz else "TIMESTAMP") from None
        return None
