"""Look up a cached U2M sign-in without a browser (doctor never starts an interactive login)."""

from __future__ import annotations

import os

from brickauth.doctor.plan import Plan


def cached_token(plan: Plan) -> str | None:
    """An access token for the plan's U2M flow if one can be had silently, else None.

    ``BRICKAUTH_DOCTOR_ACCESS_TOKEN`` (e.g. ``$(brickauth token)``) hands one in. Reading the token
    store directly is left to the store's own API once it is settled (see the report for the lead).
    """
    del plan
    return os.environ.get("BRICKAUTH_DOCTOR_ACCESS_TOKEN") or None
