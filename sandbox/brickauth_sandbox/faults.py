"""Fault injection and request logging for sandbox services, as WSGI middleware.

Each service has its own ``Faults``. Rules: latency, the next N requests fail with a 5xx, a failure
probability (seeded RNG, reproducible), 429 with ``Retry-After``, and hang (block until ``release()``
or the server stops). Each rule may be limited to a path: a prefix (``/oidc/v1/token``) or, when it
contains ``*``/``?``/``[``, an fnmatch pattern (``*/oauth2/v2.0/token``) and to a method.
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth_sandbox.requestlog import LoggedRequest, RequestLog

FaultKind = Literal["latency", "fail", "fail_random", "rate_limit", "hang"]
FAULT_KINDS: tuple[str, ...] = ("latency", "fail", "fail_random", "rate_limit", "hang")

# Token endpoint of each service, as a path pattern for ``path_prefix``.
TOKEN_PATHS = {"entra": "/*/oauth2/v2.0/token", "workspace": "/oidc/v1/token"}

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class FaultRule:
    kind: FaultKind
    path_prefix: str | None = None
    method: str | None = None
    remaining: int | None = None  # None: every matching request
    status: int = 0  # 0: 429 for rate_limit, 503 otherwise
    seconds: float = 0.0  # latency, or Retry-After for rate_limit
    probability: float = 0.0
    seed: int = 0
    body: dict[str, Any] | None = None
    id: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not self.status:
            self.status = 429 if self.kind == "rate_limit" else 503
        self._rng = random.Random(self.seed)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path_prefix is None:
            return True
        if any(c in self.path_prefix for c in "*?["):
            return fnmatch.fnmatchcase(path, self.path_prefix)
        return path.startswith(self.path_prefix)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "path_prefix": self.path_prefix, "method": self.method,
            "remaining": self.remaining, "status": self.status, "seconds": self.seconds,
            "probability": self.probability, "seed": self.seed,
        }


@dataclass
class Decision:
    """What to do with one request."""

    latency: float = 0.0
    hang: threading.Event | None = None  # wait on it before answering
    response: tuple[int, list[tuple[str, str]], bytes] | None = None
    tags: list[str] = field(default_factory=list)


def _error_body(status: int, kind: str) -> bytes:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    message = f"brickauth sandbox: injected {kind} fault ({status} {phrase})"
    code = "REQUEST_LIMIT_EXCEEDED" if status == 429 else "TEMPORARILY_UNAVAILABLE"
    # Both shapes: OAuth (error/error_description) and Databricks REST (error_code/message).
    body = {"error": "temporarily_unavailable", "error_description": message,
            "error_code": code, "message": message}
    return json.dumps(body).encode()


class Faults:
    """The fault rules of one service. Thread-safe; ``clear()`` restores a fault-free service."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._release = threading.Event()
        self._hung = 0

    # -- adding rules ---------------------------------------------------------------------------
    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def add_from_dict(self, spec: dict[str, Any]) -> FaultRule:
        allowed = {"kind", "path_prefix", "method", "remaining", "status", "seconds", "probability", "seed"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return self.add(FaultRule(**spec))

    def latency(self, seconds: float, *, path_prefix: str | None = None, count: int | None = None,
                method: str | None = None) -> FaultRule:
        """Delay matching requests by ``seconds`` (real time: clients observe it)."""
        return self.add(FaultRule("latency", path_prefix, method, count, seconds=seconds))

    def fail_next(self, n: int = 1, *, status: int = 503, path_prefix: str | None = None,
                  method: str | None = None) -> FaultRule:
        """The next ``n`` matching requests answer ``status`` (a 5xx by default)."""
        return self.add(FaultRule("fail", path_prefix, method, n, status=status))

    def fail_randomly(self, probability: float, *, status: int = 503, path_prefix: str | None = None,
                      seed: int = 0, method: str | None = None) -> FaultRule:
        """Each matching request fails with ``probability``, drawn from ``random.Random(seed)``."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        return self.add(FaultRule("fail_random", path_prefix, method, None, status=status,
                                  probability=probability, seed=seed))

    def rate_limit(self, n: int | None = 1, *, retry_after: float = 1, path_prefix: str | None = None,
                   method: str | None = None) -> FaultRule:
        """The next ``n`` matching requests (all when None) answer 429 with ``Retry-After``."""
        return self.add(FaultRule("rate_limit", path_prefix, method, n, status=429, seconds=retry_after))

    def hang(self, *, path_prefix: str | None = None, count: int | None = None,
             method: str | None = None) -> FaultRule:
        """Matching requests block (no response) until ``release()``, ``clear()`` or server stop."""
        return self.add(FaultRule("hang", path_prefix, method, count))

    # -- control --------------------------------------------------------------------------------
    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def release(self) -> None:
        """Let every hung request continue and drop the hang rules."""
        with self._lock:
            self._rules = [r for r in self._rules if r.kind != "hang"]
            self._release.set()
            self._release = threading.Event()

    def clear(self) -> None:
        """Remove every rule and release hung requests."""
        with self._lock:
            self._rules = []
            self._release.set()
            self._release = threading.Event()

    @property
    def hung(self) -> int:
        """How many requests are blocked by a hang rule right now."""
        with self._lock:
            return self._hung

    def wait_hung(self, n: int = 1, timeout: float = 5.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._hung >= n, timeout)

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.rules()]

    # -- evaluation -----------------------------------------------------------------------------
    def _consume(self, rule: FaultRule) -> None:
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)

    def decide(self, method: str, path: str) -> Decision:
        d = Decision()
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.kind == "latency":
                    d.latency += rule.seconds
                    d.tags.append("latency")
                    self._consume(rule)
                elif rule.kind == "hang" and d.hang is None:
                    d.hang = self._release
                    d.tags.append("hang")
                    self._consume(rule)
                elif d.response is None and rule.kind in ("fail", "rate_limit", "fail_random"):
                    if rule.kind == "fail_random" and rule._rng.random() >= rule.probability:
                        continue
                    headers = [("Content-Type", "application/json")]
                    if rule.kind == "rate_limit":
                        headers.append(("Retry-After", f"{rule.seconds:g}"))
                    d.response = (rule.status, headers, _error_body(rule.status, rule.kind))
                    d.tags.append(rule.kind)
                    self._consume(rule)
        return d

    def wait(self, d: Decision) -> None:
        """Apply a decision's latency and hang (both cut short by ``release()``/``clear()``)."""
        with self._lock:
            release = self._release
        if d.latency > 0:
            release.wait(d.latency)
        if d.hang is not None:
            with self._lock:
                self._hung += 1
                self._lock.notify_all()
            try:
                d.hang.wait()
            finally:
                with self._lock:
                    self._hung -= 1
                    self._lock.notify_all()


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


def instrument(app: WSGIApp, service: str, log: RequestLog, faults: Faults | None = None,
               clock: Clock = SYSTEM_CLOCK) -> WSGIApp:
    """Wrap ``app``: inject ``faults``, then record every request in ``log`` as ``service``.

    The app adds public fields through ``environ["brickauth.log"]`` (a dict). The entry is recorded
    when the response starts, so it is in the log before the client sees the response.
    """

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        arrived = clock.now()
        t0 = time.perf_counter()
        fields: dict[str, Any] = environ.setdefault("brickauth.log", {})
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "")) or "/"
        recorded = False

        def record(status: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            log.record(LoggedRequest(service, method, path, status, arrived, dict(fields),
                                     time.perf_counter() - t0))

        if faults is not None:
            decision = faults.decide(method, path)
            if decision.tags:
                fields["fault"] = ",".join(decision.tags)
            faults.wait(decision)
            if decision.response is not None:
                status, headers, body = decision.response
                headers = [*headers, ("Content-Length", str(len(body)))]
                record(status)
                start_response(_status_line(status), headers)
                return [body]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            try:
                code = int(status.split(None, 1)[0])
            except ValueError:
                code = 0
            record(code)
            return start_response(status, headers, exc_info)

        try:
            return app(environ, start)
        except Exception:
            record(500)
            raise

    return wsgi
