"""RefreshingToken: windows, single flight, background refresh, backoff; FakeClock, fake IdP source."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from brickauth.clock import FakeClock
from brickauth.errors import IdentityProviderError, InvalidClientError, NetworkError
from brickauth.lifecycle import RefreshingToken, TokenSource
from brickauth.token import AccessToken
from brickauth.windows import RefreshPolicy

HOUR = 3600.0


class FakeIdP:
    """Stands in for the identity provider: issues numbered tokens, can fail or block on demand."""

    def __init__(self, clock: FakeClock, ttl: float = HOUR) -> None:
        self.clock = clock
        self.ttl = ttl
        self.calls = 0
        self.failures: list[Exception] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "fake idp"

    def fetch(self) -> AccessToken:
        with self._lock:
            self.calls += 1
            n = self.calls
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        if self.failures:
            raise self.failures.pop(0)
        return AccessToken(token=f"tok-{n}", expires_at=self.clock.now() + self.ttl)


def sync_spawn(target: Callable[[], None]) -> None:
    target()


def make(ttl: float = HOUR, **kw: object) -> tuple[FakeClock, FakeIdP, RefreshingToken]:
    clock = FakeClock()
    idp = FakeIdP(clock, ttl)
    rt = RefreshingToken(idp, clock=clock, spawn=kw.pop("spawn", sync_spawn), jitter=lambda: 0.0, **kw)  # type: ignore[arg-type]
    return clock, idp, rt


def test_fake_source_satisfies_protocol() -> None:
    assert isinstance(FakeIdP(FakeClock()), TokenSource)


def test_fresh_token_is_reused_without_fetching() -> None:
    clock, idp, rt = make()
    assert rt.get().token == "tok-1"
    clock.advance(HOUR / 4)
    assert rt.get().token == "tok-1"
    assert idp.calls == 1


def test_windows_for_a_one_hour_token() -> None:
    # skew 30 s; mandatory 120 s before that; advisory 900 s before that.
    clock, idp, rt = make(spawn=lambda target: None)  # background never runs
    rt.get()
    clock.advance(HOUR - 30 - 900 - 1)
    rt.get()
    assert idp.calls == 1  # still fresh
    clock.advance(2)  # advisory: a refresh is spawned (discarded here), caller keeps tok-1
    assert rt.get().token == "tok-1"
    assert idp.calls == 1
    clock.advance(900 - 120)  # mandatory: caller blocks on a refresh
    assert rt.get().token == "tok-2"
    assert idp.calls == 2


def test_windows_scale_down_for_short_tokens() -> None:
    # ttl 6 s: skew max(1 s floor, 5%) = 1, mandatory 15% = 0.9, advisory 50% = 3.
    spawned: list[object] = []
    clock, idp, rt = make(ttl=6.0, spawn=spawned.append)
    rt.get()
    clock.advance(1.9)
    rt.get()
    assert spawned == []  # fresh until 6 - 1 - 3 = 2.0
    clock.advance(0.2)
    assert rt.get().token == "tok-1" and len(spawned) == 1  # advisory
    clock.advance(1.9)  # 4.0: still advisory (mandatory from 6 - 1 - 0.9 = 4.1)
    assert rt.get().token == "tok-1" and idp.calls == 1
    clock.advance(0.2)
    assert rt.get().token == "tok-2"


def test_expires_at_for_prefers_earlier_jwt_exp() -> None:
    import base64
    import json

    from brickauth.token import expires_at_for

    def jwt(exp: float) -> str:
        body = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
        return f"e30.{body}.sig"

    assert expires_at_for(jwt(1000.0), 900.0, 120.0) == 1000.0  # exp floored by the server
    assert expires_at_for(jwt(5000.0), 900.0, 120.0) == 1020.0  # a skewed exp never extends it
    assert expires_at_for("opaque", 900.0, 120.0) == 1020.0
    assert expires_at_for("opaque", 900.0, None) == 4500.0


def test_advisory_refresh_runs_in_background_and_callers_keep_token() -> None:
    clock, idp, rt = make(spawn=None)  # real daemon threads
    rt.get()
    clock.advance(HOUR - 500)
    idp.gate = threading.Event()
    idp.entered.clear()
    assert rt.get().token == "tok-1"  # returns at once, refresh pending in the background
    assert idp.entered.wait(5)
    for _ in range(50):
        assert rt.get().token == "tok-1"  # no second background refresh while one runs
    idp.gate.set()
    _wait_for(lambda: rt.peek() is not None and rt.peek().token == "tok-2")  # type: ignore[union-attr]
    assert idp.calls == 2


def test_advisory_failures_are_logged_retried_with_backoff_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, idp, rt = make()
    rt.get()
    clock.advance(HOUR - 500)
    idp.failures = [NetworkError("down"), IdentityProviderError("busy", transient=True), NetworkError("down")]
    with caplog.at_level(logging.WARNING, logger="brickauth.lifecycle"):
        assert rt.get().token == "tok-1"  # failure 1, backoff 1 s (2 s base halved, no jitter)
        assert idp.calls == 2
        assert rt.get().token == "tok-1"  # within backoff: no new attempt
        assert idp.calls == 2
        clock.advance(1.0)
        assert rt.get().token == "tok-1"  # failure 2, backoff 2 s
        assert idp.calls == 3
        clock.advance(1.5)
        rt.get()
        assert idp.calls == 3
        clock.advance(0.5)
        rt.get()  # failure 3
        assert idp.calls == 4
        clock.advance(4.0)
        assert rt.get().token == "tok-1"  # success happens in the (synchronous) background run
        assert rt.get().token == "tok-5"
    assert sum("background token refresh failed" in r.getMessage() for r in caplog.records) == 3


def test_permanent_failure_in_advisory_window_is_not_raised() -> None:
    clock, idp, rt = make()
    rt.get()
    clock.advance(HOUR - 500)
    idp.failures = [InvalidClientError("bad secret")]
    assert rt.get().token == "tok-1"


def test_mandatory_transient_failure_keeps_usable_token_then_retries_after_hold() -> None:
    clock, idp, rt = make(spawn=lambda target: None)
    rt.get()
    clock.advance(HOUR - 100)  # mandatory window, token usable until HOUR-30
    idp.failures = [NetworkError("down")]
    assert rt.get().token == "tok-1"
    assert idp.calls == 2
    assert rt.get().token == "tok-1"  # hold: no new request within 2 s
    assert idp.calls == 2
    clock.advance(2.0)
    assert rt.get().token == "tok-3"


def test_mandatory_permanent_failure_is_raised() -> None:
    clock, idp, rt = make(spawn=lambda target: None)
    rt.get()
    clock.advance(HOUR - 100)
    idp.failures = [InvalidClientError("secret revoked")]
    with pytest.raises(InvalidClientError):
        rt.get()


def test_expired_token_is_never_handed_out() -> None:
    clock, idp, rt = make(spawn=lambda target: None)
    rt.get()
    clock.advance(HOUR - 20)  # past usable_until (HOUR - 30)
    idp.failures = [NetworkError("down")]
    with pytest.raises(NetworkError):
        rt.get()
    assert rt.get().token == "tok-3"


def test_cold_start_failure_is_raised() -> None:
    _, idp, rt = make()
    idp.failures = [InvalidClientError("bad")]
    with pytest.raises(InvalidClientError):
        rt.get()
    assert rt.get().token == "tok-2"


def test_32_threads_cold_cause_one_fetch() -> None:
    _, idp, rt = make(spawn=None)
    idp.gate = threading.Event()
    barrier = threading.Barrier(32)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(5)
        token = rt.get().token
        with lock:
            results.append(token)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    assert idp.entered.wait(5)
    idp.gate.set()
    for t in threads:
        t.join(10)
    assert results == ["tok-1"] * 32
    assert idp.calls == 1


def test_32_threads_in_mandatory_window_cause_one_fetch() -> None:
    clock, idp, rt = make(spawn=lambda target: None)
    rt.get()
    clock.advance(HOUR - 60)
    idp.gate = threading.Event()
    idp.entered.clear()
    out: list[str] = []
    threads = [threading.Thread(target=lambda: out.append(rt.get().token)) for _ in range(32)]
    for t in threads:
        t.start()
    assert idp.entered.wait(5)
    idp.gate.set()
    for t in threads:
        t.join(10)
    assert sorted(set(out)) == ["tok-2"] and len(out) == 32
    assert idp.calls == 2


def test_waiters_share_a_failed_cold_fetch() -> None:
    _, idp, rt = make(spawn=None)
    idp.gate = threading.Event()
    idp.failures = [InvalidClientError("bad secret")]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            rt.get()
        except InvalidClientError as exc:
            errors.append(exc)

    first = threading.Thread(target=worker)
    first.start()
    assert idp.entered.wait(5)
    others = [threading.Thread(target=worker) for _ in range(8)]
    for t in others:
        t.start()
    _wait_for(lambda: rt._refresh_lock.locked())
    idp.gate.set()
    for t in [first, *others]:
        t.join(10)
    assert idp.calls == 1
    assert len(errors) == 9


def test_fresh_path_takes_no_lock() -> None:
    _, _, rt = make()
    rt.get()
    with rt._refresh_lock, rt._flag_lock:  # held elsewhere: the fresh path must not wait for them
        done = threading.Event()
        threading.Thread(target=lambda: (rt.get(), done.set())).start()
        assert done.wait(2)


def test_invalidate_forces_refetch() -> None:
    _, _, rt = make()
    rt.get()
    rt.invalidate()
    assert rt.get().token == "tok-2"


def test_already_expired_token_warns_about_clock(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    idp = FakeIdP(clock, ttl=-10)
    rt = RefreshingToken(idp, clock=clock, spawn=sync_spawn)
    with caplog.at_level(logging.WARNING, logger="brickauth.lifecycle"):
        assert rt.get().token == "tok-1"
    assert "system clock" in caplog.text


def test_custom_policy() -> None:
    clock = FakeClock()
    idp = FakeIdP(clock, ttl=HOUR)
    rt = RefreshingToken(
        idp, clock=clock, policy=RefreshPolicy(advisory_lead=60, mandatory_lead=10), spawn=sync_spawn
    )
    rt.get()
    clock.advance(HOUR - 30 - 61)
    rt.get()
    assert idp.calls == 1
    clock.advance(2)
    rt.get()
    assert idp.calls == 2


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not predicate():
            if done.wait(0.005):
                raise AssertionError("condition not reached")
    finally:
        deadline.cancel()
