"""TLS, HTTPS server, request log and fault injection: the ground the sandbox services stand on."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509

from brickauth.clock import FakeClock
from brickauth_sandbox.faults import TOKEN_PATHS, Faults, instrument
from brickauth_sandbox.requestlog import LoggedRequest, RequestLog
from brickauth_sandbox.server import HttpsServer, pick_loopback_address
from brickauth_sandbox.tls import CertificateAuthority, system_ca_bundle


def hello_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["brickauth.log"]["principal"] = "someone@example.com"
    body = json.dumps({"path": environ["PATH_INFO"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def bundle(ca: CertificateAuthority) -> Path:
    return ca.write_ca_bundle()


class Served:
    def __init__(self, server: HttpsServer, log: RequestLog, faults: Faults, clock: FakeClock) -> None:
        self.server, self.log, self.faults, self.clock = server, log, faults, clock
        self.url = server.url


@pytest.fixture
def served(ca: CertificateAuthority) -> Iterator[Served]:
    address = pick_loopback_address()
    cert = ca.issue([address, "localhost"])
    log, faults, clock = RequestLog(), Faults(), FakeClock()
    app = instrument(hello_app, "svc", log, faults, clock)
    server = HttpsServer(app, address, 443, cert.ssl_context(), name="test", on_stop=faults.clear)
    server.start()
    yield Served(server, log, faults, clock)
    server.stop()


def get(url: str, bundle: Path, **kw: Any) -> requests.Response:
    kw.setdefault("timeout", 10)
    return requests.get(url, verify=str(bundle), **kw)


# -- TLS ----------------------------------------------------------------------------------------
def test_certificate_has_ip_and_dns_sans(ca: CertificateAuthority) -> None:
    cert = ca.issue(["127.9.8.7", "workspace.sandbox"])
    san = cert.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.9.8.7"]
    assert san.get_values_for_type(x509.DNSName) == ["workspace.sandbox"]
    assert cert.key_path.stat().st_mode & 0o077 == 0


def test_ca_bundle_is_system_bundle_plus_our_ca(ca: CertificateAuthority, bundle: Path) -> None:
    text = bundle.read_text()
    assert text.endswith(ca.cert_pem.decode())
    system = system_ca_bundle()
    assert system is not None
    assert text.startswith(system.read_text()[:200])


def test_https_on_port_443_of_fresh_loopback_address(served: Served, bundle: Path) -> None:
    assert served.url.startswith("https://127.")
    assert not served.url.startswith("https://127.0.0.")
    assert ":443" not in served.url
    r = get(served.url + "/x/y?code=abc", bundle)
    assert r.status_code == 200
    assert r.json() == {"path": "/x/y"}


def test_untrusted_ca_is_refused(served: Served) -> None:
    system = system_ca_bundle()
    with pytest.raises(requests.exceptions.SSLError):
        get(served.url, Path(str(system)))


def test_pick_loopback_address_is_random_and_not_127_0_0_x() -> None:
    addresses = {pick_loopback_address() for _ in range(5)}
    assert len(addresses) > 1
    for a in addresses:
        parts = [int(p) for p in a.split(".")]
        assert parts[0] == 127 and parts[1] != 0 and 1 <= parts[3] <= 254


def test_silent_tcp_client_does_not_stall_server(served: Served, bundle: Path) -> None:
    # A client that connects and never sends a ClientHello must not block the accept loop.
    with socket.create_connection((served.server.address, 443), timeout=5):
        assert get(served.url + "/after", bundle).status_code == 200


# -- request log --------------------------------------------------------------------------------
def test_request_log_records_service_path_status_time_and_app_fields(served: Served, bundle: Path) -> None:
    get(served.url + "/a?secret=zzz", bundle)
    served.clock.advance(10)
    get(served.url + "/b", bundle)
    entries = served.log.all()
    assert [(e.service, e.method, e.path, e.status) for e in entries] == [
        ("svc", "GET", "/a", 200), ("svc", "GET", "/b", 200)]
    assert entries[1].time - entries[0].time == 10
    assert entries[0].fields == {"principal": "someone@example.com"}
    assert "zzz" not in repr(entries)
    assert served.log.count(service="svc", principal="someone@example.com") == 2
    assert served.log.count(path="/a") == 1
    assert served.log.count(principal="nobody") == 0


def test_request_log_filters_and_wait_for() -> None:
    log = RequestLog()
    token_path = "/t/oauth2/v2.0/token"
    log.record(LoggedRequest("entra", "POST", token_path, 200, 1.0, {"grant_type": "client_credentials"}))
    log.record(LoggedRequest("workspace", "GET", "/api/2.0/x", 403, 2.0))
    assert log.count(grant_type="client_credentials") == 1
    assert log.count(status=lambda s: s >= 400) == 1
    assert log.count(path_prefix="/api/") == 1
    assert log.count(path_contains="oauth2") == 1
    assert log.count(since=1.5) == 1
    assert log.wait_for(2, timeout=0.01)
    assert not log.wait_for(3, timeout=0.01)
    done = threading.Event()

    def late() -> None:
        done.wait(5)
        log.record(LoggedRequest("entra", "GET", "/z", 200, 3.0))

    threading.Thread(target=late, daemon=True).start()
    done.set()
    assert log.wait_for(1, path="/z", timeout=5)
    log.clear()
    assert len(log) == 0


# -- faults -------------------------------------------------------------------------------------
def test_fail_next_n_then_recover(served: Served, bundle: Path) -> None:
    served.faults.fail_next(2, status=502)
    assert [get(served.url, bundle).status_code for _ in range(3)] == [502, 502, 200]
    assert served.log.count(status=502, fault="fail") == 2
    assert served.faults.rules() == []


def test_rate_limit_sends_retry_after(served: Served, bundle: Path) -> None:
    served.faults.rate_limit(1, retry_after=7)
    r = get(served.url, bundle)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "7"
    assert r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert get(served.url, bundle).status_code == 200


def test_fault_limited_to_path_prefix_and_pattern(served: Served, bundle: Path) -> None:
    served.faults.fail_next(5, path_prefix="/oidc/v1/token")
    served.faults.fail_next(5, status=500, path_prefix=TOKEN_PATHS["entra"])
    assert get(served.url + "/api/2.0/x", bundle).status_code == 200
    assert get(served.url + "/oidc/v1/token", bundle).status_code == 503
    assert get(served.url + "/tenant-1/oauth2/v2.0/token", bundle).status_code == 500
    assert get(served.url + "/tenant-1/oauth2/v2.0/authorize", bundle).status_code == 200


def test_random_failures_are_reproducible_with_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        f = Faults()
        f.fail_randomly(0.5, seed=seed)
        return [f.decide("GET", "/").response is not None for _ in range(40)]

    first = pattern(42)
    assert first == pattern(42)
    assert 5 < sum(first) < 35
    assert first != pattern(43)


def test_latency_delays_response(served: Served, bundle: Path) -> None:
    served.faults.latency(0.3, count=1)
    t0 = time.monotonic()
    assert get(served.url, bundle).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    assert served.log.last().fields["fault"] == "latency"  # type: ignore[union-attr]


def test_hang_blocks_until_released(served: Served, bundle: Path) -> None:
    served.faults.hang(path_prefix="/slow")
    result: dict[str, int] = {}

    def call() -> None:
        result["status"] = get(served.url + "/slow", bundle).status_code

    t = threading.Thread(target=call, daemon=True)
    t.start()
    assert served.faults.wait_hung(1, timeout=5)
    assert get(served.url + "/fast", bundle).status_code == 200
    assert "status" not in result
    served.faults.release()
    t.join(5)
    assert result == {"status": 200}


def test_stop_does_not_hang_with_hung_request_open(ca: CertificateAuthority, bundle: Path) -> None:
    address = pick_loopback_address()
    faults, log = Faults(), RequestLog()
    server = HttpsServer(instrument(hello_app, "svc", log, faults), address, 443,
                         ca.issue([address]).ssl_context(), on_stop=faults.clear).start()
    faults.hang()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            get(server.url + "/hang", bundle, timeout=30)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    assert faults.wait_hung(1, timeout=5)
    t0 = time.monotonic()
    assert server.stop()  # the serving thread ended (stop did not give up on it)
    # Generous: only a stop that waited for the hung request (the client's 30 s timeout) fails this.
    assert time.monotonic() - t0 < 10
    t.join(5)
    assert not t.is_alive()
    with pytest.raises(requests.exceptions.ConnectionError):
        get(server.url, bundle, timeout=2)


def test_plain_ssl_client_verifies_ip_san(served: Served, ca: CertificateAuthority) -> None:
    ctx = ca.client_context()
    with socket.create_connection((served.server.address, 443), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=served.server.address) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(ssl.SSLCertVerificationError), \
            socket.create_connection((served.server.address, 443), timeout=5) as raw2:
        ctx.wrap_socket(raw2, server_hostname="127.1.1.1")
