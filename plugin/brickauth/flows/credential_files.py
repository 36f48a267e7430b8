"""Credential material from files, read when a flow needs it: an Entra client certificate (PEM, key
optionally encrypted) and a federated token file (a JWT, read afresh each time)."""

from __future__ import annotations

from pathlib import Path

from brickauth.config.coerce import source_label
from brickauth.errors import ConfigurationError
from brickauth.secret import Secret


def check_certificate(path: str, password: Secret | None, source: str) -> None:
    """Fail early on a certificate file that is missing, not PEM, or holds no (usable) private key."""
    load_certificate(path, password, source)


def load_certificate(path: str, password: Secret | None, source: str) -> tuple[bytes, str, bytes]:
    """(private key PEM unencrypted, SHA-1 thumbprint hex, certificate PEM) from a PEM file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    label = source_label("client_certificate_path", source)
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) does not exist.",
            fix=f"Point {label} at the PEM file holding the certificate and its private key.",
            code="BA140",
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) cannot be read ({type(exc).__name__}).",
            fix=f"Make {file} readable by this user.",
            code="BA141",
        ) from None
    if b"-----BEGIN" not in data:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) is not PEM (a .pfx/.der file?).",
            fix="Convert it: openssl pkcs12 -in cert.pfx -out cert.pem -nodes "
            "(PEM with certificate and key).",
            code="BA141",
        )
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) holds no certificate.",
            fix="Put the certificate (BEGIN CERTIFICATE) and its private key in one PEM file.",
            code="BA141",
        ) from None
    if b"PRIVATE KEY-----" not in data:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) has a certificate but no private key.",
            fix="Append the private key (BEGIN PRIVATE KEY) to the file: "
            "cat cert.pem key.pem > combined.pem.",
            code="BA142",
        )
    try:
        key = serialization.load_pem_private_key(data, password.reveal().encode() if password else None)
    except TypeError:
        raise ConfigurationError(
            f"The private key in {file} ({label}) is encrypted and no password is set.",
            fix="Set AZURE_CLIENT_CERTIFICATE_PASSWORD to the key's password.",
            code="BA143",
        ) from None
    except ValueError:
        raise ConfigurationError(
            f"The private key in {file} ({label}) cannot be loaded (wrong password or corrupt key).",
            fix="Check AZURE_CLIENT_CERTIFICATE_PASSWORD, or re-export the key as PEM.",
            code="BA143",
        ) from None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise ConfigurationError(
            f"The private key in {file} ({label}) does not belong to its certificate.",
            fix="Put the certificate together with its own private key in the PEM file.",
            code="BA144",
        )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's x5t is SHA-1
    return key_pem, thumbprint, cert.public_bytes(serialization.Encoding.PEM)


def check_federated_token_file(path: str, source: str) -> str:
    """The federated token (a JWT) from its file, read afresh; raises if missing or empty."""
    label = source_label("federated_token_file", source)
    return read_jwt_file(
        path, what="federated token file", label=label, codes=("BA145", "BA146"),
        missing_fix=f"Point {label} at the projected service account token (workload identity) file.",
        bad_fix=f"Point {label} at the file holding the identity token (three dot-separated parts); "
        "check the workload identity token projection (it writes a JWT into this file).",
    )  # fmt: skip


def read_jwt_file(path: str, *, what: str, label: str, codes: tuple[str, str], missing_fix: str,
                  bad_fix: str) -> str:  # fmt: skip
    """A JWT (federated or subject token) read afresh from ``path``: ``codes[0]`` when the file is
    missing or unreadable, ``codes[1]`` when it is empty or not three dot-separated parts."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigurationError(f"The {what} {file} ({label}) does not exist.", fix=missing_fix,
                                 code=codes[0]) from None  # fmt: skip
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"The {what} {file} ({label}) cannot be read ({type(exc).__name__}).",
            fix=f"Make {file} readable by this user.",
            code=codes[0],
        ) from None
    if not text or text.count(".") != 2:
        problem = "is empty" if not text else "does not hold a JWT"
        raise ConfigurationError(f"The {what} {file} ({label}) {problem}.", fix=bad_fix, code=codes[1])
    return text
