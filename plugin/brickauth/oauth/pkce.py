"""PKCE (RFC 7636): a one-time code verifier and its S256 challenge, plus OAuth ``state``."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from brickauth.secret import Secret

# RFC 7636 4.1: 43..128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_verifier(entropy_bytes: int = 32) -> str:
    """A high-entropy verifier: base64url of ``entropy_bytes`` random octets (32 -> 43 characters)."""
    return _b64url(secrets.token_bytes(entropy_bytes))


def challenge_s256(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` (RFC 7636 4.2)."""
    if not _VERIFIER_RE.match(verifier):
        raise ValueError("a PKCE code verifier is 43-128 characters of A-Z a-z 0-9 - . _ ~")
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    """An unguessable ``state`` value binding the redirect to this sign-in (RFC 6749 10.12)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class PKCEPair:
    verifier: Secret
    challenge: str
    method: str = "S256"

    @classmethod
    def generate(cls) -> PKCEPair:
        verifier = new_verifier()
        return cls(verifier=Secret(verifier), challenge=challenge_s256(verifier))
