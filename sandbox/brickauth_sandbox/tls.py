"""A private certificate authority for the sandbox: server certificates with IP SANs and a CA bundle.

EC P-256 keys: generating one takes about a millisecond, so start-up stays fast. Every client we drive
(urllib3/requests, msal, the SQL connector, Chromium) accepts ECDSA server certificates.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SYSTEM_BUNDLE_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, some BSDs
)


def system_ca_bundle() -> Path | None:
    """The platform's CA bundle file (OpenSSL's default or a well-known path, else certifi's), or None.

    ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE`` are deliberately not consulted: they may point at the
    bundle of an earlier sandbox.
    """
    default = ssl.get_default_verify_paths().openssl_cafile
    for candidate in (default, *SYSTEM_BUNDLE_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    try:
        import certifi
    except ImportError:
        return None
    path = Path(certifi.where())
    return path if path.is_file() else None


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def self_signed_certificate(
    common_name: str = "brickauth-test", *, days: int = 30
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA key and a self-signed certificate for it: a client certificate credential, as an app
    registration in Entra ID takes (RSA: what Entra signs client assertions with)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


@dataclass(frozen=True)
class ServerCertificate:
    """A server certificate and key written to files, for one set of host names/addresses."""

    hosts: tuple[str, ...]
    cert_path: Path
    key_path: Path
    certificate: x509.Certificate

    def ssl_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting this certificate (TLS 1.2+)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.cert_path), str(self.key_path))
        return ctx


class CertificateAuthority:
    """A self-signed root CA kept in ``directory`` (a fresh temporary directory by default)."""

    def __init__(
        self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, directory: Path
    ) -> None:
        self._key = key
        self.certificate = certificate
        self.directory = directory
        self.cert_path = directory / "sandbox-ca.pem"
        self.cert_path.write_bytes(self.cert_pem)

    @classmethod
    def create(
        cls, directory: str | os.PathLike[str] | None = None, *, common_name: str = "brickauth sandbox CA"
    ) -> CertificateAuthority:
        path = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="brickauth-sbx-"))
        path.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "brickauth sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ])
        now = _utcnow()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert, path)

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, hosts: list[str], *, name: str | None = None) -> ServerCertificate:
        """A server certificate for ``hosts`` (IP addresses become IP SANs, names DNS SANs)."""
        if not hosts:
            raise ValueError("issue() needs at least one host")
        key = ec.generate_private_key(ec.SECP256R1())
        now = _utcnow()
        ca_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        stem = name or hosts[0].replace(":", "_")
        cert_path = self.directory / f"{stem}.crt"
        key_path = self.directory / f"{stem}.key"
        # Key file first, private to this user.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_key_pem(key))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return ServerCertificate(hosts=tuple(hosts), cert_path=cert_path, key_path=key_path, certificate=cert)

    def write_ca_bundle(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write system bundle + this CA to ``path`` (default ``<directory>/ca-bundle.pem``).

        Point ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` at it: real hosts still verify, and so do ours.
        """
        target = Path(path) if path is not None else self.directory / "ca-bundle.pem"
        system = system_ca_bundle()
        parts: list[bytes] = []
        if system is not None:
            data = system.read_bytes()
            parts.append(data if data.endswith(b"\n") else data + b"\n")
        parts.append(b"# brickauth sandbox CA\n" + self.cert_pem)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(b"".join(parts))
        os.replace(tmp, target)
        return target

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts only this CA (for tests)."""
        ctx = ssl.create_default_context(cadata=self.cert_pem.decode())
        return ctx
