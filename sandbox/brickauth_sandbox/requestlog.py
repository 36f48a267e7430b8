"""Who called which sandbox endpoint, when: tests and benchmarks count identity-provider calls with it.

Apps annotate the current request through ``environ["brickauth.log"]`` (a dict the middleware in
``sandbox.faults`` creates) with public facts only: ``grant_type``, ``client_id``, ``principal``,
``error``... never a secret, code or token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

# A filter value may be a callable predicate: count(status=lambda s: s >= 500).
_MISSING = object()


@dataclass(frozen=True)
class LoggedRequest:
    service: str  # "entra", "workspace", "admin"...
    method: str
    path: str  # without the query string
    status: int
    time: float  # clock.now() when the request arrived
    fields: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0  # seconds until the response started

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _matches(value: Any, wanted: Any) -> bool:
    if callable(wanted):
        return bool(wanted(value))
    return bool(value == wanted)


class RequestLog:
    """Thread-safe, append-only (until ``clear()``) list of ``LoggedRequest``.

    Filters: ``service``, ``method``, ``path`` (exact), ``path_prefix``, ``path_contains``, ``status``,
    ``since`` (time >=), and any other keyword matches ``fields[key]``. A filter value may be a callable.
    """

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._cond = threading.Condition()

    def record(self, entry: LoggedRequest) -> None:
        with self._cond:
            self._entries.append(entry)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._entries.clear()

    def __len__(self) -> int:
        with self._cond:
            return len(self._entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.all())

    def all(self) -> list[LoggedRequest]:
        with self._cond:
            return list(self._entries)

    @staticmethod
    def _predicate(
        service: str | None = None,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        path_contains: str | None = None,
        status: int | Callable[[int], bool] | None = None,
        since: float | None = None,
        **fields: Any,
    ) -> Callable[[LoggedRequest], bool]:
        def pred(e: LoggedRequest) -> bool:
            if service is not None and e.service != service:
                return False
            if method is not None and e.method != method.upper():
                return False
            if path is not None and e.path != path:
                return False
            if path_prefix is not None and not e.path.startswith(path_prefix):
                return False
            if path_contains is not None and path_contains not in e.path:
                return False
            if status is not None and not _matches(e.status, status):
                return False
            if since is not None and e.time < since:
                return False
            for key, wanted in fields.items():
                value = e.fields.get(key, _MISSING)
                if value is _MISSING or not _matches(value, wanted):
                    return False
            return True

        return pred

    def filter(self, **criteria: Any) -> list[LoggedRequest]:
        pred = self._predicate(**criteria)
        return [e for e in self.all() if pred(e)]

    def count(self, **criteria: Any) -> int:
        return len(self.filter(**criteria))

    def last(self, **criteria: Any) -> LoggedRequest | None:
        found = self.filter(**criteria)
        return found[-1] if found else None

    def wait_for(self, n: int = 1, *, timeout: float = 5.0, **criteria: Any) -> bool:
        """Block until at least ``n`` entries match (True) or ``timeout`` passes (False)."""
        pred = self._predicate(**criteria)
        with self._cond:
            return self._cond.wait_for(lambda: sum(1 for e in self._entries if pred(e)) >= n, timeout)

    def to_json(self, **criteria: Any) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.filter(**criteria)]
