"""Identity provider error responses -> classified ``IdentityProviderError`` with one cause and fix.

``from_entra`` reads msal's error dict (Entra's JSON: ``error``, ``error_description`` starting
``AADSTSnnnn:``, ``error_codes``); ``from_oauth`` reads an RFC 6749 error body from Databricks OIDC.
The doctor holds the long explanations; here is the short fix for the common causes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from brickauth.entra import AZURE_DATABRICKS_SCOPE
from brickauth.errors import IdentityProviderError, InvalidClientError, InvalidGrantError


@dataclass(frozen=True)
class _Known:
    cls: type[IdentityProviderError]
    code: str
    cause: str
    fix: str
    transient: bool = False


ENTRA_CODES: dict[int, _Known] = {
    700016: _Known(
        InvalidClientError,
        "BA210",
        "the application (client) id is not registered in this tenant",
        "Check AZURE_CLIENT_ID (Application ID of the app registration) and AZURE_TENANT_ID (the tenant "
        "where it is registered).",
    ),
    7000215: _Known(
        InvalidClientError,
        "BA211",
        "the client secret is wrong (often the secret ID was pasted instead of its value)",
        "Copy the secret's Value (not its Secret ID) from Certificates & secrets, or create a new secret.",
    ),
    7000222: _Known(
        InvalidClientError,
        "BA212",
        "the client secret has expired",
        "Create a new client secret in the app registration's Certificates & secrets page and update "
        "AZURE_CLIENT_SECRET.",
    ),
    7000218: _Known(
        InvalidClientError,
        "BA213",
        "the request carried no client secret or assertion",
        "Set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE; for user "
        "sign-in enable 'Allow public client flows' on the app registration.",
    ),
    90002: _Known(
        IdentityProviderError,
        "BA214",
        "the tenant does not exist",
        "Set AZURE_TENANT_ID to the Directory (tenant) ID shown on the app registration's Overview page.",
    ),
    900023: _Known(
        IdentityProviderError,
        "BA215",
        "the tenant id is malformed",
        "Set AZURE_TENANT_ID to the tenant GUID or its domain (contoso.onmicrosoft.com).",
    ),
    500011: _Known(
        IdentityProviderError,
        "BA216",
        "the Azure Databricks resource is not in this tenant (or the scope names a wrong resource)",
        f"Use scope {AZURE_DATABRICKS_SCOPE} and a tenant with Azure Databricks.",
    ),
    70011: _Known(
        IdentityProviderError,
        "BA217",
        "the requested scope is invalid",
        f"Leave scopes unset (brickauth asks for {AZURE_DATABRICKS_SCOPE}).",
    ),
    50034: _Known(
        IdentityProviderError,
        "BA218",
        "the user account does not exist in this tenant",
        "Sign in with an account of this tenant, or set the tenant the account belongs to.",
    ),
    50126: _Known(
        IdentityProviderError,
        "BA219",
        "the user name or password is wrong",
        "Sign in again with the right password.",
    ),
    700082: _Known(
        InvalidGrantError,
        "BA220",
        "the refresh token expired after 90 days without use",
        "Sign in again: brickauth login.",
    ),
    50173: _Known(
        InvalidGrantError,
        "BA221",
        "the sign-in is no longer valid (password changed or sessions revoked)",
        "Sign in again: brickauth login.",
    ),
    700024: _Known(
        InvalidClientError,
        "BA222",
        "the federated token (client assertion) is expired or not yet valid",
        "Check that AZURE_FEDERATED_TOKEN_FILE is refreshed by the platform and this machine's clock is "
        "right.",
    ),
    700027: _Known(
        InvalidClientError,
        "BA223",
        "the client certificate is not registered on the app (signature check failed)",
        "Upload the certificate's public part to the app registration's Certificates & secrets page.",
    ),
    70021: _Known(
        InvalidClientError,
        "BA224",
        "no federated credential on the app matches the token's issuer and subject",
        "Add a federated credential with this issuer/subject/audience to the app registration.",
    ),
    700084: _Known(
        InvalidGrantError,
        "BA225",
        "the single-page-app refresh token expired (24 h limit)",
        "Sign in again, and register the redirect URI as Mobile and desktop rather than SPA.",
    ),
    65001: _Known(
        IdentityProviderError,
        "BA226",
        "consent to Azure Databricks has not been granted for this app",
        "Grant consent (an admin can use 'Grant admin consent' on the app's API permissions page).",
    ),
    50076: _Known(
        IdentityProviderError,
        "BA227",
        "multi-factor authentication is required",
        "Sign in interactively in a browser (brickauth login).",
    ),
    50079: _Known(
        IdentityProviderError,
        "BA227",
        "multi-factor authentication enrolment is required",
        "Sign in interactively in a browser (brickauth login).",
    ),
    53003: _Known(
        IdentityProviderError,
        "BA228",
        "a Conditional Access policy blocked the sign-in",
        "Ask your Entra admin which policy applies (sign-in logs) and run from an allowed network/device.",
    ),
    50020: _Known(
        IdentityProviderError,
        "BA229",
        "the account is not a member or guest of this tenant",
        "Invite the account as a guest, or set the tenant the account belongs to.",
    ),
    50011: _Known(
        IdentityProviderError,
        "BA230",
        "the redirect URI is not registered on the app",
        "Add http://localhost (Mobile and desktop platform) as a redirect URI of the app registration.",
    ),
    9002326: _Known(
        IdentityProviderError,
        "BA231",
        "the redirect URI is registered as a single-page app",
        "Register the redirect URI under 'Mobile and desktop applications', not 'Single-page application'.",
    ),
}
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
