"""Token lifetimes the sandbox's identity providers issue (settable down to a few seconds), and the
device code polling interval."""

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
    # The ``interval`` a device code answer asks clients to poll at (Entra: 5 s). Sent as whole seconds,
    # at least 1 (msal truncates it to an int); tests set 1 so that a real-time poll loop is quick.
    device_code_interval_seconds: float = 5.0
