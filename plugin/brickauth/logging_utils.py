"""Logging helpers: a filter that masks known secret values in any record, as defence in depth.

brickauth never logs a secret on purpose; this catches third-party code (msal, urllib3) that might.
``register_secret(value)`` adds a value; ``install()`` attaches the filter to the loggers that see
token traffic. Call ``install()`` after importing msal so its module loggers exist.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from brickauth.secret import Secret

MASK = "***"
_secrets: set[str] = set()
_lock = threading.Lock()
WATCHED_LOGGER_PREFIXES = ("brickauth", "msal", "urllib3", "requests", "databricks")


def register_secret(value: str | Secret | None) -> None:
    text = value.reveal() if isinstance(value, Secret) else value
    if text and len(text) >= 6:  # very short values would mask ordinary words
        with _lock:
            _secrets.add(text)


def redact(text: str) -> str:
    for secret in _snapshot():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _snapshot() -> tuple[str, ...]:
    with _lock:
        return tuple(sorted(_secrets, key=len, reverse=True))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _snapshot()
        if not secrets:
            return True
        message = record.getMessage()
        if any(s in message for s in secrets):
            record.msg = redact(message)
            record.args = None
        return True


_FILTER = RedactingFilter()


def install(*extra_loggers: str) -> None:
    """Attach the filter to every existing logger under the watched prefixes (and ``extra_loggers``)."""
    names: list[Any] = [n for n in logging.root.manager.loggerDict if n.startswith(WATCHED_LOGGER_PREFIXES)]
    for name in (*names, *WATCHED_LOGGER_PREFIXES, *extra_loggers):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
