"""Identity provider error responses -> classified ``IdentityProviderError`` with one cause and fix.

``from_entra`` reads msal's error dict (Entra's JSON: ``error``, ``error_description`` starting
``AADSTSnnnn:``, ``error_codes``); ``from_oauth`` reads an RFC 6749 error body from Databricks OIDC.
The known AADSTS numbers, with their BA code, short cause and fix, are ``brickauth.entra_codes``; the
doctor holds the long explanations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from brickauth.entra_codes import ENTRA_CODES as ENTRA_CODES
from brickauth.errors import IdentityProviderError, InvalidClientError, InvalidGrantError

_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error", "slow_down"})
_AADSTS = re.compile(r"AADSTS(\d+)")


def from_entra(response: Mapping[str, Any]) -> IdentityProviderError:
    """Classify an msal error dict."""
    error = str(response.get("error") or "unknown_error")
    description = str(response.get("error_description") or "")
    codes: tuple[int, ...] = tuple(
        int(c) for c in (response.get("error_codes") or []) if isinstance(c, int) or str(c).isdigit()
    )
    if not codes:
        codes = tuple(int(m) for m in _AADSTS.findall(description)[:1])
    known = next((ENTRA_CODES[c] for c in codes if c in ENTRA_CODES), None)
    label = f"AADSTS{codes[0]}" if codes else error
    if known is not None:
        return known.cls(
            f"Entra ID refused the token request ({label}): {known.cause}.",
            fix=known.fix,
            code=known.code,
            idp_error=error,
            idp_error_codes=codes,
            transient=known.transient,
        )
    summary = first_sentence(description) or error
    transient = error in _TRANSIENT_ERRORS
    cls = _class_for(error)
    return cls(
        f"Entra ID refused the token request ({label}): {summary}",
        fix="Retry later."
        if transient
        else "Run 'brickauth doctor explain " + label + "' for causes and fixes.",
        code="BA209" if transient else _code_for(error, "BA200"),
        idp_error=error,
        idp_error_codes=codes,
        transient=transient,
    )


_OAUTH_FIXES: dict[str, tuple[str, str, str]] = {
    "invalid_client": (
        "BA240",
        "client authentication failed (wrong client id or OAuth secret, or the secret expired)",
        "Check DATABRICKS_CLIENT_ID (the service principal's application id) and DATABRICKS_CLIENT_SECRET "
        "(a Databricks OAuth secret, dose..., of that service principal, not expired).",
    ),
    "invalid_grant": (
        "BA241",
        "the refresh token or authorization code is expired, revoked or already used",
        "Sign in again: brickauth login.",
    ),
    "invalid_scope": (
        "BA242",
        "the requested scope is not allowed for this client",
        "Leave scopes unset (brickauth asks for all-apis), or enable the scope on the OAuth app.",
    ),
    "unauthorized_client": (
        "BA243",
        "this client may not use this grant type",
        "Use a service principal with an OAuth secret for databricks-m2m, or a U2M app for sign-in.",
    ),
    "access_denied": (
        "BA244",
        "access was denied",
        "Check that the service principal is added to this workspace and is active.",
    ),
    "invalid_request": (
        "BA245",
        "the token request was rejected as malformed",
        "Check client id, redirect URI and scopes; run 'brickauth doctor' for details.",
    ),
    "unsupported_grant_type": (
        "BA246",
        "the token endpoint does not support this grant",
        "Check that the host is a Databricks workspace URL (not the account console).",
    ),
}


def from_oauth(
    body: Mapping[str, Any] | str | None, status: int, *, issuer: str = "Databricks"
) -> IdentityProviderError:
    """Classify an OAuth 2.0 token-endpoint error (RFC 6749 §5.2) from Databricks OIDC or another server."""
    data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    error = str(data.get("error") or "")
    description = first_sentence(str(data.get("error_description") or ""))
    if status == 429 or status >= 500 or error in _TRANSIENT_ERRORS:
        return IdentityProviderError(
            f"{issuer} OAuth token endpoint is unavailable (HTTP {status}{', ' + error if error else ''}).",
            fix="Retry later; brickauth already retried with backoff.",
            code="BA250",
            idp_error=error or None,
            transient=True,
        )
    if not error:
        what = "an HTML page" if isinstance(body, str) and "<html" in body.lower() else "no OAuth error"
        return IdentityProviderError(
            f"{issuer} OAuth token endpoint answered HTTP {status} with {what}.",
            fix="Check that the host is your workspace URL and that OAuth is enabled for it "
            "(https://<workspace>/oidc/.well-known/oauth-authorization-server must answer).",
            code="BA247" if status == 404 else "BA248",
        )
    kind = error
    if error == "invalid_request" and "refresh token" in description.lower():
        # Databricks answers a dead refresh token with invalid_request "Refresh token is invalid"
        # (databricks/cli#667): an expired grant, so the fix is to sign in again.
        kind = "invalid_grant"
    known = _OAUTH_FIXES.get(kind)
    cls = _class_for(kind)
    if known is None:
        return cls(
            f"{issuer} refused the token request ({error}): {description or 'no description'}",
            fix="Run 'brickauth doctor' for causes and fixes.",
            code=_code_for(error, "BA249"),
            idp_error=error,
        )
    code, cause, fix = known
    detail = f" [{description}]" if description and description.lower() not in cause else ""
    return cls(
        f"{issuer} refused the token request ({error}): {cause}{detail}.", fix=fix, code=code, idp_error=error
    )


def _class_for(error: str) -> type[IdentityProviderError]:
    if error == "invalid_client":
        return InvalidClientError
    if error == "invalid_grant":
        return InvalidGrantError
    return IdentityProviderError


def _code_for(error: str, default: str) -> str:
    return {"invalid_client": "BA201", "invalid_grant": "BA202"}.get(error, default)


def first_sentence(text: str) -> str:
    """The first line/sentence of an IdP description, without trace and correlation ids."""
    line = text.strip().split("\n", 1)[0].strip()
    line = re.split(r"\s*(Trace ID|Correlation ID|Timestamp):", line, maxsplit=1)[0].strip()
    return line[:300]
