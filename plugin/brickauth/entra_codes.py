"""Entra ID's error codes (AADSTS numbers) as brickauth knows them: the one table.

Each known number has brickauth's stable code (``BAnnn``), the exception class, a short cause and a
short fix (what the library's error says: ``brickauth.idp_errors``) and whether a retry may help. The
doctor's knowledge base (``brickauth/doctor/causes.yaml``) explains causes at length and lists the
AADSTS numbers each explains; the BA code of a number comes from here, never from the YAML (a test
keeps the two in step). Where numbers share a BA code, the first of them in this table is the one the
code stands for in the doctor (``PRIMARY_NUMBER``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from brickauth.entra import AZURE_DATABRICKS_SCOPE
from brickauth.errors import IdentityProviderError, InvalidClientError, InvalidGrantError


@dataclass(frozen=True)
class EntraCode:
    cls: type[IdentityProviderError]
    code: str
    cause: str
    fix: str
    transient: bool = False


_TABLE: dict[int, EntraCode] = {
    700016: EntraCode(
        InvalidClientError,
        "BA210",
        "the application (client) id is not registered in this tenant",
        "Check AZURE_CLIENT_ID (Application ID of the app registration) and AZURE_TENANT_ID (the tenant "
        "where it is registered).",
    ),
    7000215: EntraCode(
        InvalidClientError,
        "BA211",
        "the client secret is wrong (often the secret ID was pasted instead of its value)",
        "Copy the secret's Value (not its Secret ID) from Certificates & secrets, or create a new secret.",
    ),
    7000222: EntraCode(
        InvalidClientError,
        "BA212",
        "the client secret has expired",
        "Create a new client secret in the app registration's Certificates & secrets page and update "
        "AZURE_CLIENT_SECRET.",
    ),
    7000218: EntraCode(
        InvalidClientError,
        "BA213",
        "the request carried no client secret or assertion",
        "Set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE; for user "
        "sign-in enable 'Allow public client flows' on the app registration.",
    ),
    90002: EntraCode(
        IdentityProviderError,
        "BA214",
        "the tenant does not exist",
        "Set AZURE_TENANT_ID to the Directory (tenant) ID shown on the app registration's Overview page.",
    ),
    900023: EntraCode(
        IdentityProviderError,
        "BA215",
        "the tenant id is malformed",
        "Set AZURE_TENANT_ID to the tenant GUID or its domain (contoso.onmicrosoft.com).",
    ),
    500011: EntraCode(
        IdentityProviderError,
        "BA216",
        "the Azure Databricks resource is not in this tenant (or the scope names a wrong resource)",
        f"Use scope {AZURE_DATABRICKS_SCOPE} and a tenant with Azure Databricks.",
    ),
    70011: EntraCode(
        IdentityProviderError,
        "BA217",
        "the requested scope is invalid",
        f"Leave scopes unset (brickauth asks for {AZURE_DATABRICKS_SCOPE}).",
    ),
    50034: EntraCode(
        IdentityProviderError,
        "BA218",
        "the user account does not exist in this tenant",
        "Sign in with an account of this tenant, or set the tenant the account belongs to.",
    ),
    50126: EntraCode(
        IdentityProviderError,
        "BA219",
        "the user name or password is wrong",
        "Sign in again with the right password.",
    ),
    700082: EntraCode(
        InvalidGrantError,
        "BA220",
        "the refresh token expired after 90 days without use",
        "Sign in again: brickauth login.",
    ),
    50173: EntraCode(
        InvalidGrantError,
        "BA221",
        "the sign-in is no longer valid (password changed or sessions revoked)",
        "Sign in again: brickauth login.",
    ),
    700024: EntraCode(
        InvalidClientError,
        "BA222",
        "the federated token (client assertion) is expired or not yet valid",
        "Check that AZURE_FEDERATED_TOKEN_FILE is refreshed by the platform and this machine's clock is "
        "right.",
    ),
    700027: EntraCode(
        InvalidClientError,
        "BA223",
        "the client certificate is not registered on the app (signature check failed)",
        "Upload the certificate's public part to the app registration's Certificates & secrets page.",
    ),
    70021: EntraCode(
        InvalidClientError,
        "BA224",
        "no federated credential on the app matches the token's issuer and subject",
        "Add a federated credential with this issuer/subject/audience to the app registration.",
    ),
    700084: EntraCode(
        InvalidGrantError,
        "BA225",
        "the single-page-app refresh token expired (24 h limit)",
        "Sign in again, and register the redirect URI as Mobile and desktop rather than SPA.",
    ),
    65001: EntraCode(
        IdentityProviderError,
        "BA226",
        "consent to Azure Databricks has not been granted for this app",
        "Grant consent (an admin can use 'Grant admin consent' on the app's API permissions page).",
    ),
    50076: EntraCode(
        IdentityProviderError,
        "BA227",
        "multi-factor authentication is required",
        "Sign in interactively in a browser (brickauth login).",
    ),
    50079: EntraCode(
        IdentityProviderError,
        "BA227",
        "multi-factor authentication enrolment is required",
        "Sign in interactively in a browser (brickauth login).",
    ),
    53003: EntraCode(
        IdentityProviderError,
        "BA228",
        "a Conditional Access policy blocked the sign-in",
        "Ask your Entra admin which policy applies (sign-in logs) and run from an allowed network/device.",
    ),
    50020: EntraCode(
        IdentityProviderError,
        "BA229",
        "the account is not a member or guest of this tenant",
        "Invite the account as a guest, or set the tenant the account belongs to.",
    ),
    50011: EntraCode(
        IdentityProviderError,
        "BA230",
        "the redirect URI is not registered on the app",
        "Add http://localhost (Mobile and desktop platform) as a redirect URI of the app registration.",
    ),
    9002326: EntraCode(
        IdentityProviderError,
        "BA231",
        "the redirect URI is registered as a single-page app",
        "Register the redirect URI under 'Mobile and desktop applications', not 'Single-page application'.",
    ),
}
ENTRA_CODES: Mapping[int, EntraCode] = MappingProxyType(_TABLE)

# Codes meaning "the refresh token can no longer be used: sign in again" (U2M refresh).
RESIGN_IN_CODES = frozenset({700082, 50173, 700084, 70043, 700081, 50076, 50078, 50079, 65001})


# BA code -> the AADSTS number it stands for (the first number in the table with that code).
PRIMARY_NUMBER: Mapping[str, int] = MappingProxyType(
    {known.code: number for number, known in reversed(_TABLE.items())}
)


def codes_for(numbers: Iterable[int]) -> tuple[str, ...]:
    """The BA codes that stand for some of these AADSTS numbers (the doctor's ``codes`` of a cause)."""
    return tuple(k.code for n in numbers if (k := _TABLE.get(n)) is not None and PRIMARY_NUMBER[k.code] == n)
