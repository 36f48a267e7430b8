"""Client assertions: certificate credentials (RFC 7523, x5t / x5t#S256) and federated credentials."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from brickauth_sandbox.entra import errors
from brickauth_sandbox.entra.model import AppRegistration, ClientCertificate

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "PS256", "ES256"]
SKEW_SECONDS = 300.0  # Entra tolerates five minutes of clock skew on assertions


def _thumbprint_bytes(text: str) -> bytes | None:
    """A header thumbprint as bytes: base64url per RFC 7515 (clients also send padded/standard base64)."""
    if len(text) in (40, 64) and all(ch in "0123456789abcdefABCDEF" for ch in text):
        return bytes.fromhex(text)
    try:
        std = text.replace("-", "+").replace("_", "/")
        return base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
    except (ValueError, binascii.Error):
        return None


def _cert_key(cert: ClientCertificate) -> tuple[PublicKeyTypes, set[bytes]]:
    """The public key and the thumbprints (SHA-1, SHA-256 of the DER) a registered certificate answers to."""
    prints = {bytes.fromhex(cert.thumbprint_sha1_hex)}
    try:
        c = x509.load_pem_x509_certificate(cert.public_pem)
    except ValueError:
        return serialization.load_pem_public_key(cert.public_pem), prints
    der = c.public_bytes(serialization.Encoding.DER)
    prints |= {hashlib.sha1(der).digest(), hashlib.sha256(der).digest()}
    return c.public_key(), prints


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise errors.assertion_malformed(str(exc)) from None
    return header, claims


def _check_time(claims: dict[str, Any], now: float) -> None:
    nbf = claims.get("nbf")
    exp = claims.get("exp")
    if (
        exp is None
        or now > float(exp) + SKEW_SECONDS
        or (nbf is not None and now + SKEW_SECONDS < float(nbf))
    ):
        raise errors.assertion_time_range(
            now, float(nbf) if nbf is not None else None, float(exp) if exp else None
        )


def _verify_with(assertion: str, keys: Iterable[PublicKeyTypes]) -> bool:
    for key in keys:
        try:
            jwt.decode(
                assertion,
                key,  # type: ignore[arg-type]
                algorithms=ALGORITHMS,
                options={"verify_exp": False, "verify_nbf": False, "verify_aud": False, "verify_iat": False},
            )
            return True
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError:
            continue
    return False


def issuer_of(assertion: str) -> str:
    return str(_unverified(assertion)[1].get("iss", ""))


def verify_certificate_assertion(
    assertion: str, *, app: AppRegistration, token_endpoints: set[str], now: float
) -> None:
    """An assertion the app signed with one of its registered certificates (``iss`` = ``sub`` = client id)."""
    header, claims = _unverified(assertion)
    if claims.get("iss") != app.app_id or claims.get("sub") != app.app_id:
        raise errors.EntraError(
            700021,
            "invalid_client",
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the "
            "documentation "
            "at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
            status=401,
        )
    thumb = str(header.get("x5t#S256") or header.get("x5t") or "")
    wanted = _thumbprint_bytes(thumb) if thumb else None
    match: ClientCertificate | None = None
    key: PublicKeyTypes | None = None
    for cert in app.certificates:
        k, prints = _cert_key(cert)
        if wanted is not None and wanted in prints:
            match, key = cert, k
            break
    if match is None or key is None:
        raise errors.assertion_key_not_found(app.app_id, thumb or "(none: the assertion has no x5t header)")
    _check_time(claims, now)
    if match.expires_at < now:
        raise errors.EntraError(
            700027,
            "invalid_client",
            "Client assertion contains an invalid signature. [Reason - The key used is expired., "
            "Thumbprint of key "
            f"used by client: '{thumb}', Found key 'Start=..., End={errors.iso_time(match.expires_at)}']",
            status=401,
        )
    if not _verify_with(assertion, [key]):
        raise errors.assertion_signature_invalid()
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a.rstrip("/") in token_endpoints for a in auds):
        raise errors.assertion_audience_invalid(aud)


def verify_federated_assertion(
    assertion: str, *, app: AppRegistration, issuer_keys: dict[str, list[PublicKeyTypes]], now: float
) -> str:
    """A token from an external issuer that one of the app's federated credentials trusts. Returns the
    matched credential's name."""
    _, claims = _unverified(assertion)
    iss = str(claims.get("iss", ""))
    creds = [c for c in app.federated_credentials if c.issuer == iss]
    if not creds:
        raise errors.federated_issuer_unmatched(iss)
    _check_time(claims, now)
    keys = issuer_keys.get(iss)
    if not keys:
        raise errors.federated_issuer_keys_unavailable(iss)
    if not _verify_with(assertion, keys):
        raise errors.EntraError(
            5002738,
            "invalid_client",
            f"Invalid JWT token. The assertion from issuer '{iss}' failed signature validation.",
            status=401,
        )
    sub = str(claims.get("sub", ""))
    by_subject = [c for c in creds if c.subject == sub]
    if not by_subject:
        if any(c.subject.lower() == sub.lower() for c in creds):
            raise errors.federated_subject_case(sub)
        raise errors.federated_subject_unmatched(sub)
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    for cred in by_subject:
        if cred.audience in auds:
            return cred.name
    raise errors.federated_audience_unmatched(aud)
