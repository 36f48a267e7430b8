"""The access token value object."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AccessToken:
    """An OAuth access token and what we know about it. The token never shows in a repr."""

    token: str = field(repr=False)
    expires_at: float
    token_type: str = "Bearer"
    scopes: tuple[str, ...] = ()
    # Refresh token, when the flow issued one; kept only in the token store.
    refresh_token: str | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return f"AccessToken(expires_at={self.expires_at:.0f})"


def expires_at_for(access_token: str, requested_at: float, expires_in: Any) -> float:
    """The one expiry rule for a token from a token endpoint: ``requested_at + expires_in``
    (conservative: the request's start; one hour when the server sent no usable ``expires_in``), or
    the JWT's ``exp`` when that is earlier (servers floor ``exp``)."""
    lifetime = 3600.0
    if expires_in is not None and not isinstance(expires_in, bool):
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            lifetime = 3600.0
    expiry = requested_at + (lifetime if lifetime > 0 else 3600.0)
    exp = decode_jwt_claims(access_token).get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and requested_at < exp < expiry:
        return float(exp)
    return expiry


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, decoded and NOT verified (for display and expiry only).

    Returns {} when the token is not a JWT (Databricks tokens may be opaque).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}
