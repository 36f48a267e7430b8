"""HttpClient against real local servers: retries, Retry-After, permanent errors, TLS, timeouts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_support import FakeIdPServer

from brickauth.errors import NetworkError
from brickauth.http import NO_RETRY, HttpClient, RetryPolicy, parse_retry_after, post_form


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[FakeIdPServer]:
    server = FakeIdPServer(tmp_path)
    yield server
    server.stop()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(idp: FakeIdPServer, sleeps: Sleeps, **kw: object) -> HttpClient:
    return HttpClient(verify=idp.ca_bundle, sleep=sleeps, jitter=lambda: 0.5, timeout=5, **kw)  # type: ignore[arg-type]


def test_5xx_then_success_is_retried(idp: FakeIdPServer) -> None:
    idp.script = [(503, {}, {}), (502, {}, {}), (200, {}, {"ok": True})]
    sleeps = Sleeps()
    resp = post_form(idp.url + "/token", {"a": "b"}, client=client(idp, sleeps))
    assert resp.status_code == 200 and resp.json() == {"ok": True}
    assert idp.count() == 3 and len(sleeps) == 2
    assert sleeps[0] < sleeps[1] <= 4.0  # exponential, bounded
    assert idp.requests[0]["form"] == {"a": "b"}


def test_retry_after_is_honoured_and_capped(idp: FakeIdPServer) -> None:
    idp.script = [(429, {"Retry-After": "3"}, {}), (429, {"Retry-After": "1000"}, {}), (200, {}, {})]
    sleeps = Sleeps()
    assert post_form(idp.url + "/t", {}, client=client(idp, sleeps)).status_code == 200
    assert sleeps[0] == 3.0
    assert sleeps[1] == RetryPolicy().retry_after_max


def test_permanent_status_is_returned_at_once(idp: FakeIdPServer) -> None:
    idp.script = [(401, {}, {"error": "invalid_client"})]
    sleeps = Sleeps()
    resp = post_form(idp.url + "/t", {}, client=client(idp, sleeps))
    assert resp.status_code == 401 and idp.count() == 1 and sleeps == []


def test_retries_are_bounded(idp: FakeIdPServer) -> None:
    idp.script = [(503, {}, {})]
    sleeps = Sleeps()
    resp = post_form(idp.url + "/t", {}, client=client(idp, sleeps))
    assert resp.status_code == 503
    assert idp.count() == RetryPolicy().attempts and len(sleeps) == RetryPolicy().attempts - 1


def test_no_retry_policy(idp: FakeIdPServer) -> None:
    idp.script = [(503, {}, {})]
    sleeps = Sleeps()
    assert post_form(idp.url + "/t", {}, client=client(idp, sleeps), retry=NO_RETRY).status_code == 503
    assert idp.count() == 1


def test_deadline_stops_retries(idp: FakeIdPServer) -> None:
    idp.script = [(429, {"Retry-After": "10"}, {})]
    sleeps = Sleeps()
    c = client(idp, sleeps, retry=RetryPolicy(deadline=5))
    assert post_form(idp.url + "/t", {}, client=c).status_code == 429
    assert idp.count() == 1


def test_untrusted_tls_fails_once_with_ca_fix(idp: FakeIdPServer, tmp_path: Path) -> None:
    sleeps = Sleeps()
    c = HttpClient(verify=True, sleep=sleeps)  # certifi: does not trust the fake's private CA
    with pytest.raises(NetworkError) as info:
        c.request("POST", idp.url + "/t")
    assert info.value.code == "BA510" and "REQUESTS_CA_BUNDLE" in str(info.value)
    assert sleeps == []


def test_explicit_verify_beats_requests_ca_bundle(
    idp: FakeIdPServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # would reject the private CA
    assert client(idp, Sleeps()).request("GET", idp.url + "/x").status_code == 200


def _serve_raw(behaviour: str) -> tuple[str, threading.Event, list[int]]:
    """A TCP server that resets or stalls every connection."""
    from brickauth_sandbox.server import pick_loopback_address

    address = pick_loopback_address(8080)
    sock = socket.socket()
    sock.bind((address, 8080))
    sock.listen(16)
    stop = threading.Event()
    accepted: list[int] = []

    def loop() -> None:
        held = []
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            if behaviour == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
            else:
                held.append(conn)
        for c in held:
            c.close()
        sock.close()

    threading.Thread(target=loop, daemon=True).start()
    return f"http://{address}:8080", stop, accepted


def test_connection_resets_are_retried_then_network_error() -> None:
    url, stop, accepted = _serve_raw("reset")
    sleeps = Sleeps()
    try:
        with pytest.raises(NetworkError) as info:
            HttpClient(sleep=sleeps, retry=RetryPolicy(attempts=3)).request("POST", url + "/t")
    finally:
        stop.set()
    assert info.value.code == "BA502" and "3 tries" in str(info.value)
    assert len(accepted) == 3 and len(sleeps) == 2


def test_read_timeouts_are_retried_then_network_error() -> None:
    url, stop, accepted = _serve_raw("stall")
    sleeps = Sleeps()
    try:
        with pytest.raises(NetworkError) as info:
            HttpClient(sleep=sleeps, timeout=0.2, retry=RetryPolicy(attempts=2)).request("POST", url + "/t")
    finally:
        stop.set()
    assert info.value.code == "BA501" and "timed out" in str(info.value)
    assert len(accepted) == 2


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
