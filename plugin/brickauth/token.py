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

    def expires_in(self, now: float) -> float:
        return self.expires_at - now

    def header(self) -> dict[str, str]:
        return {"Authorization": f"{self.token_type} {self.token}"}

    def __str__(self) -> str:
        return f"AccessToken(expires_at={self.expires_at:.0f})"


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
