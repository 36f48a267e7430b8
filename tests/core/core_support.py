"""Shared helpers for the core tests: canary secrets, ids, certificate files."""

from __future__ import annotations

from pathlib import Path

# Used as the secret in every core test; it must never show in output or logs.
CANARY_ENTRA_SECRET = "Cny8Q~CANARYcanary0123456789abcdefghijklmnop"
CANARY_DATABRICKS_SECRET = "dose" + "c4a9a7" * 6
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
AZ_HOST = "adb-1234567890123456.7.azuredatabricks.net"

_PEM_CACHE: dict[tuple[bool, bytes | None], bytes] = {}


def make_cert(directory: Path, *, with_key: bool = True, password: bytes | None = None) -> Path:
    """A self-signed certificate PEM (with its private key unless ``with_key=False``); cached per shape."""
    path = directory / ("cert.pem" if with_key else "cert-only.pem")
    if (with_key, password) not in _PEM_CACHE:
        _PEM_CACHE[(with_key, password)] = _make_pem(with_key, password)
    path.write_bytes(_PEM_CACHE[(with_key, password)])
    return path


def _make_pem(with_key: bool, password: bytes | None) -> bytes:
    from cryptography.hazmat.primitives import serialization

    from brickauth_sandbox.tls import self_signed_certificate

    key, cert = self_signed_certificate("brickauth-test")
    data = cert.public_bytes(serialization.Encoding.PEM)
    if with_key:
        enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        data += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    return data


class FakeIdPServer:
    """A scripted HTTPS server on a fresh loopback address standing in for an identity provider.

    ``script`` holds (status, headers, body) answers used in order; the last one repeats. Requests are
    recorded (method, path, form, authorization header) in ``requests``.
    """

    def __init__(self, tmp: Path) -> None:
        import threading

        from brickauth_sandbox.server import HttpsServer, pick_loopback_address
        from brickauth_sandbox.tls import CertificateAuthority

        self.script: list[tuple[int, dict[str, str], object]] = [(200, {}, {})]
        self.handler: object = None  # optional callable(environ, form) -> (status, headers, body)
        self.requests: list[dict[str, object]] = []
        self._lock = threading.Lock()
        ca = CertificateAuthority.create(tmp / "ca")
        self.ca_bundle = str(ca.write_ca_bundle())
        self.address = pick_loopback_address()
        cert = ca.issue([self.address], name="fake-idp")
        self.server = HttpsServer(self._app, self.address, 443, cert.ssl_context(), name="fake-idp")
        self.server.start()
        self.url = f"https://{self.address}"

    def _app(self, environ: dict[str, object], start_response: object) -> list[bytes]:
        import json
        from urllib.parse import parse_qsl

        length = int(str(environ.get("CONTENT_LENGTH") or 0))
        body = environ["wsgi.input"].read(length).decode() if length else ""  # type: ignore[attr-defined]
        form = dict(parse_qsl(body))
        with self._lock:
            self.requests.append(
                {
                    "method": environ["REQUEST_METHOD"],
                    "path": environ["PATH_INFO"],
                    "form": form,
                    "authorization": environ.get("HTTP_AUTHORIZATION"),
                }
            )
            if callable(self.handler):
                status, headers, payload = self.handler(environ, form)
            else:
                status, headers, payload = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        ctype = "text/html" if isinstance(payload, str) else "application/json"
        start_response(
            f"{status} X",
            [
                ("Content-Type", ctype),
                ("Content-Length", str(len(data))),  # type: ignore[operator]
                *headers.items(),
            ],
        )
        return [data]

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path is None or r["path"] == path)

    def stop(self) -> None:
        self.server.stop()
