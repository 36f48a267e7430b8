"""Entra ID (AADSTS) errors: the exact JSON body Entra sends, and the texts it uses.

Each helper is named after the situation, returns an ``EntraError`` and is raised by the endpoint that
detects that situation in the directory state. Wording follows Microsoft's published messages.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

ERROR_URI = "https://login.microsoftonline.com/error?code={code}"


@dataclass
class EntraError(Exception):
    """An AADSTS error. ``status`` is the HTTP status the token endpoint answers with."""

    code: int
    error: str
    text: str
    status: int = 400
    suberror: str | None = None

    def __str__(self) -> str:
        return f"AADSTS{self.code}: {self.text}"


def entra_timestamp(now: float) -> str:
    """``2024-01-09 02:02:12Z``, as in ``timestamp`` and the description's Timestamp line."""
    return datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def iso_time(epoch: float) -> str:
    """``2024-01-09T02:02:12.0000000Z`` (how Entra prints issue times inside messages)."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.0000000Z"
    )


def error_body(err: EntraError, *, now: float, correlation_id: str | None = None) -> dict[str, Any]:
    """The JSON body of a token endpoint error, field for field as Entra sends it."""
    trace_id = str(uuid.uuid4())
    corr = correlation_id or str(uuid.uuid4())
    stamp = entra_timestamp(now)
    body: dict[str, Any] = {
        "error": err.error,
        "error_description": (
            f"AADSTS{err.code}: {err.text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {corr}\r\nTimestamp: "
            f"{stamp}"
        ),
        "error_codes": [err.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": corr,
        "error_uri": ERROR_URI.format(code=err.code),
    }
    if err.suberror:
        body["suberror"] = err.suberror
    return body


# --- tenant ---------------------------------------------------------------------------------------


def tenant_not_found(tenant: str) -> EntraError:
    return EntraError(
        90002,
        "invalid_tenant",
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
        "into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no "
        "active "
        "subscriptions for the tenant.",
    )


def malformed_tenant(tenant: str) -> EntraError:
    return EntraError(
        900023,
        "invalid_request",
        f"Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain.",
    )


# --- request shape --------------------------------------------------------------------------------


def missing_parameter(name: str) -> EntraError:
    return EntraError(
        900144, "invalid_request", f"The request body must contain the following parameter: '{name}'."
    )


def unsupported_grant_type(grant_type: str) -> EntraError:
    return EntraError(
        70003, "unsupported_grant_type", f"The app requested an unsupported grant type '{grant_type}'."
    )


# --- client -----------------------------------------------------------------------------------------


def app_not_found(client_id: str, tenant_name: str) -> EntraError:
    return EntraError(
        700016,
        "unauthorized_client",
        f"Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented "
        "to by "
        "any user in the tenant. You may have sent your authentication request to the wrong tenant.",
    )


def app_disabled(client_id: str) -> EntraError:
    return EntraError(7000112, "unauthorized_client", f"Application '{client_id}' is disabled.")


def client_credential_required() -> EntraError:
    return EntraError(
        7000218,
        "invalid_client",
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        status=401,
    )


def invalid_client_secret(client_id: str) -> EntraError:
    return EntraError(
        7000215,
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
        "value, "
        f"not the client secret ID, for a secret added to app '{client_id}'.",
        status=401,
    )


def client_secret_expired(client_id: str) -> EntraError:
    return EntraError(
        7000222,
        "invalid_client",
        f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to "
        "create new "
        "keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
        "added "
        "security: https://aka.ms/certCreds.",
        status=401,
    )


def public_client_secret_sent() -> EntraError:
    return EntraError(
        700025,
        "invalid_client",
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        status=401,
    )


def assertion_time_range(now: float, nbf: float | None, exp: float | None) -> EntraError:
    return EntraError(
        700024,
        "invalid_client",
        f"Client assertion is not within its valid time range. Current time: {iso_time(now)}, assertion "
        "valid "
        f"from {iso_time(nbf) if nbf is not None else 'unspecified'}, expiry time of assertion "
        f"{iso_time(exp) if exp is not None else 'unspecified'}. Review the documentation at "
        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
        status=401,
    )


def assertion_key_not_found(client_id: str, thumbprint: str) -> EntraError:
    return EntraError(
        700027,
        "invalid_client",
        "The certificate with identifier used to sign the client assertion is not registered on application. "
        f"[Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit "
        "the "
        "Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id "
        f"'{client_id}'.]",
        status=401,
    )


def assertion_signature_invalid() -> EntraError:
    return EntraError(700027, "invalid_client", "Client assertion failed signature validation.", status=401)


def assertion_malformed(reason: str) -> EntraError:
    return EntraError(50027, "invalid_request", f"JWT token is invalid or malformed. {reason}")


def assertion_audience_invalid(audience: object) -> EntraError:
    return EntraError(
        700027,
        "invalid_client",
        f"Client assertion contains an invalid audience '{audience}': it must be the token endpoint of the "
        "tenant.",
        status=401,
    )


def federated_issuer_unmatched(issuer: str) -> EntraError:
    return EntraError(
        700211,
        "invalid_client",
        f"No matching federated identity record found for presented assertion issuer '{issuer}'. Please "
        "check "
        "your federated identity credential Subject, Audience and Issuer against the presented assertion. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        status=401,
    )


def federated_audience_unmatched(audience: object) -> EntraError:
    return EntraError(
        700212,
        "invalid_client",
        f"No matching federated identity record found for presented assertion audience '{audience}'. Please "
        "check your federated identity credential Subject, Audience and Issuer against the presented "
        "assertion. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        status=401,
    )


def federated_subject_unmatched(subject: str) -> EntraError:
    return EntraError(
        700213,
        "invalid_client",
        f"No matching federated identity record found for presented assertion subject '{subject}'. Please "
        "check "
        "your federated identity credential Subject, Audience and Issuer against the presented assertion. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        status=401,
    )


def federated_subject_case(subject: str) -> EntraError:
    return EntraError(
        7002138,
        "invalid_client",
        f"No matching federated identity record found for presented assertion subject '{subject}'. The "
        "subject "
        "matches with case-insensitive comparison, but not with case-sensitive comparison. Please check your "
        "federated identity credential Subject, Audience and Issuer against the presented assertion. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        status=401,
    )


def federated_issuer_keys_unavailable(issuer: str) -> EntraError:
    return EntraError(
        50166,
        "invalid_client",
        f"Request to External OIDC endpoint failed. The signing keys of issuer '{issuer}' could not be "
        "retrieved.",
        status=401,
    )


# --- redirect URI -----------------------------------------------------------------------------------


def redirect_uri_mismatch(redirect_uri: str, client_id: str) -> EntraError:
    return EntraError(
        50011,
        "invalid_request",
        f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
        "configured "
        f"for the application '{client_id}'. Make sure the redirect URI sent in the request matches one "
        "added to "
        "your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to "
        "learn more "
        "about how to fix this.",
    )


def reply_address_differs(sent: str, original: str) -> EntraError:
    return EntraError(
        500112,
        "invalid_grant",
        f"The reply address '{sent}' does not match the reply address '{original}' provided when requesting "
        "Authorization code.",
    )


def cross_origin_not_spa() -> EntraError:
    return EntraError(
        9002326,
        "invalid_request",
        "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type.",
    )


def spa_requires_cross_origin() -> EntraError:
    return EntraError(
        9002327,
        "invalid_request",
        "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin "
        "requests.",
    )


# --- scopes, resources, consent -------------------------------------------------------------------


def scope_missing() -> EntraError:
    return EntraError(
        900144, "invalid_request", "The request body must contain the following parameter: 'scope'."
    )


def scope_format_invalid(scope: str) -> EntraError:
    return EntraError(
        70011,
        "invalid_scope",
        "The provided request must include a 'scope' input parameter. The provided value for the input "
        "parameter "
        f"'scope' is not valid. The scope {scope} is not valid. The scope format is invalid. Scope must be "
        "in a "
        "valid URI form <https://example/scope> or a valid Guid <guid/scope>.",
    )


def scope_several_resources(scope: str) -> EntraError:
    return EntraError(
        28000,
        "invalid_scope",
        f"Provided value for the input parameter scope '{scope}' is not valid because it contains more "
        "than one "
        "resource. Scope is not valid.",
    )


def client_credentials_scope(scope: str) -> EntraError:
    return EntraError(
        1002012,
        "invalid_scope",
        f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
        "value with "
        "/.default suffixed to the resource identifier (application ID URI).",
    )


def resource_not_found(resource: str, tenant_name: str) -> EntraError:
    return EntraError(
        500011,
        "invalid_resource",
        f"The resource principal named {resource} was not found in the tenant named {tenant_name}. This "
        "can happen "
        "if the application has not been installed by the administrator of the tenant or consented to by "
        "any user "
        "in the tenant. You might have sent your authentication request to the wrong tenant.",
    )


def scope_not_on_resource(client_name: str, permission: str, resource: str) -> EntraError:
    return EntraError(
        650053,
        "invalid_client",
        f"The application '{client_name}' asked for scope '{permission}' that doesn't exist on the resource "
        f"'{resource}'. Contact the app vendor.",
    )


def consent_required(client_id: str, client_name: str) -> EntraError:
    return EntraError(
        65001,
        "invalid_grant",
        f"The user or administrator has not consented to use the application with ID '{client_id}' named "
        f"'{client_name}'. Send an interactive authorization request for this user and resource.",
        suberror="consent_required",
    )


def consent_declined() -> EntraError:
    return EntraError(65004, "access_denied", "User declined to consent to access the app.")


def admin_approval_required(client_name: str) -> EntraError:
    return EntraError(
        90094,
        "access_denied",
        f"The grant requires admin permission. '{client_name}' needs permission to access resources in your "
        "organization that only an admin can grant. Please ask an admin to grant permission to this app "
        "before "
        "you can use it.",
    )


# --- users ----------------------------------------------------------------------------------------


def user_not_found(upn: str, tenant_name: str) -> EntraError:
    return EntraError(
        50034,
        "invalid_grant",
        f"The user account {upn} does not exist in the {tenant_name} directory. To sign into this "
        "application, "
        "the account must be added to the directory.",
    )


def user_from_other_tenant(
    upn: str, home_tenant_id: str, tenant_name: str, client_id: str, client_name: str
) -> EntraError:
    return EntraError(
        50020,
        "invalid_grant",
        f"User account '{upn}' from identity provider 'https://sts.windows.net/{home_tenant_id}/' does not "
        "exist "
        f"in tenant '{tenant_name}' and cannot access the application '{client_id}'({client_name}) in that "
        "tenant. "
        "The account needs to be added as an external user in the tenant first. Sign out and sign in "
        "again with a "
        "different Azure Active Directory user account.",
    )


def bad_password() -> EntraError:
    return EntraError(
        50126, "invalid_grant", "Error validating credentials due to invalid username or password."
    )


def user_disabled() -> EntraError:
    return EntraError(50057, "invalid_grant", "The user account is disabled.")


def mfa_required(resource: str) -> EntraError:
    return EntraError(
        50076,
        "invalid_grant",
        "Due to a configuration change made by your administrator, or because you moved to a new "
        "location, you "
        f"must use multi-factor authentication to access '{resource}'.",
        suberror="basic_action",
    )


def mfa_code_wrong() -> EntraError:
    return EntraError(500121, "invalid_grant", "Authentication failed during strong authentication request.")


def conditional_access_blocked() -> EntraError:
    return EntraError(
        53003,
        "invalid_grant",
        "Access has been blocked by Conditional Access policies. The access policy does not allow token "
        "issuance.",
        suberror="message_only",
    )


# --- grants ---------------------------------------------------------------------------------------


def code_invalid() -> EntraError:
    return EntraError(
        9002313, "invalid_grant", "Invalid request. Request is malformed or invalid.", suberror="bad_token"
    )


def code_redeemed() -> EntraError:
    return EntraError(
        54005,
        "invalid_grant",
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
        "existing "
        "refresh token.",
    )


def code_expired() -> EntraError:
    return EntraError(
        70008,
        "invalid_grant",
        "The provided authorization code or refresh token has expired due to inactivity. Send a new "
        "interactive "
        "authorization request for this user and resource.",
    )


def code_client_mismatch() -> EntraError:
    return EntraError(70000, "invalid_grant", "The provided value for the 'code' parameter is not valid.")


def pkce_mismatch() -> EntraError:
    return EntraError(
        501481,
        "invalid_grant",
        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    )


def pkce_verifier_missing() -> EntraError:
    return EntraError(
        501481,
        "invalid_grant",
        "The Code_Verifier is missing: the authorization request supplied a code_challenge (PKCE).",
    )


def refresh_token_invalid() -> EntraError:
    return EntraError(
        9002313, "invalid_grant", "Invalid request. Request is malformed or invalid.", suberror="bad_token"
    )


def refresh_token_client_mismatch() -> EntraError:
    return EntraError(
        70000,
        "invalid_grant",
        "Provided grant is invalid or malformed. The refresh token was issued to a different client.",
        suberror="bad_token",
    )


def refresh_token_inactive(issued_at: float, inactive_seconds: float) -> EntraError:
    return EntraError(
        700082,
        "invalid_grant",
        f"The refresh token has expired due to inactivity. The token was issued on {iso_time(issued_at)} "
        "and was "
        f"inactive for {timespan(inactive_seconds)}.",
        suberror="bad_token",
    )


def spa_refresh_token_expired(issued_at: float, lifetime_seconds: float) -> EntraError:
    return EntraError(
        700084,
        "invalid_grant",
        "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited "
        "lifetime of "
        f"{timespan(lifetime_seconds)}, which can't be extended. It is now expired and a new sign in "
        "request must "
        f"be sent by the SPA to the sign in page. The token was issued on {iso_time(issued_at)}.",
        suberror="bad_token",
    )


def grant_revoked(issued_at: float, valid_from: float) -> EntraError:
    return EntraError(
        50173,
        "invalid_grant",
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
        "might have "
        f"changed or reset their password. The grant was issued on '{iso_time(issued_at)}' and the "
        "TokensValidFrom "
        f"date (before which tokens are not valid) for this user is '{iso_time(valid_from)}'.",
        suberror="bad_token",
    )


def authorization_pending() -> EntraError:
    return EntraError(
        70016,
        "authorization_pending",
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    )


def device_code_expired() -> EntraError:
    return EntraError(70019, "expired_token", "Verification code expired.")


def device_code_declined() -> EntraError:
    return EntraError(70017, "authorization_declined", "The end user denied the authorization request.")


def device_code_invalid() -> EntraError:
    return EntraError(
        70000, "invalid_grant", "The provided value for the input parameter 'device_code' is not valid."
    )


def timespan(seconds: float) -> str:
    """.NET TimeSpan text, as Entra prints it: ``90.00:00:00`` or ``1.00:00:00`` or ``00:00:30``."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{clock}" if days else clock
