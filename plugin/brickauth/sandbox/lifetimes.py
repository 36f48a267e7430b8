"""Token lifetimes the sandbox's identity providers issue (settable down to a few seconds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenLifetimes:
    access_token_seconds: float = 3600.0
    # Entra: refresh tokens expire after 90 days of inactivity; SPA ones 24 h after sign-in.
    refresh_token_inactivity_seconds: float = 90 * 24 * 3600.0
    spa_refresh_token_seconds: float = 24 * 3600.0
    authorization_code_seconds: float = 600.0
    device_code_seconds: float = 900.0
