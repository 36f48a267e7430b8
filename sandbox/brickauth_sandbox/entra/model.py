"""The Entra ID emulator's directory: tenants, app registrations, users, consent.

Plain mutable dataclasses: tests and the admin API change them, the endpoints read them. Every error
the emulator returns must follow from this state (a missing redirect URI, an expired secret, a user
with MFA required...), never from a flag named after an AADSTS code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from brickauth.entra import (  # the one definition, in the library
    AZURE_DATABRICKS_RESOURCE_ID as AZURE_DATABRICKS_RESOURCE_ID,
)

# Well-known public client (Azure CLI), present in every tenant.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

Platform = Literal["mobile_desktop", "web", "spa"]


def new_guid() -> str:
    return str(uuid.uuid4())


@dataclass
class RedirectUri:
    uri: str
    platform: Platform = "mobile_desktop"


@dataclass
class ClientSecret:
    """A client secret: the value is shown once; the secret ID is a GUID users paste by mistake."""

    value: str = field(repr=False)
    secret_id: str = field(default_factory=new_guid)
    expires_at: float = 4_102_444_800.0  # 2100-01-01
    description: str = "secret"


@dataclass
class ClientCertificate:
    thumbprint_sha1_hex: str  # x5t is base64url of the SHA-1 of the DER
    public_pem: bytes
    expires_at: float = 4_102_444_800.0


@dataclass
class FederatedCredential:
    issuer: str
    subject: str
    audience: str = "api://AzureADTokenExchange"
    name: str = "federated"


@dataclass
class AppRegistration:
    """An app registration and (when ``has_service_principal``) its enterprise app in the tenant."""

    app_id: str  # the client id
    display_name: str
    home_tenant_id: str
    sp_object_id: str = field(default_factory=new_guid)
    multi_tenant: bool = False
    redirect_uris: list[RedirectUri] = field(default_factory=list)
    allow_public_client_flows: bool = False  # "Allow public client flows" (device code, ROPC)
    secrets: list[ClientSecret] = field(default_factory=list)
    certificates: list[ClientCertificate] = field(default_factory=list)
    federated_credentials: list[FederatedCredential] = field(default_factory=list)
    # API permissions the app requests: resource app id -> delegated scope names.
    required_resource_access: dict[str, set[str]] = field(
        default_factory=lambda: {AZURE_DATABRICKS_RESOURCE_ID: {"user_impersonation"}}
    )
    has_service_principal: bool = True
    enabled: bool = True
    # Application permissions (app roles) granted to this app's service principal: resource -> roles.
    app_role_assignments: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class User:
    upn: str
    password: str = field(repr=False)
    home_tenant_id: str
    object_id: str = field(default_factory=new_guid)
    display_name: str = ""
    mfa_required: bool = False
    enabled: bool = True
    # Tenants this user was invited to as a guest (B2B).
    guest_of: set[str] = field(default_factory=set)
    # The code the user's authenticator shows (the sandbox's second factor).
    mfa_code: str = field(default="123456", repr=False)
    # Entra's "TokensValidFrom": refresh tokens issued before this time are rejected (password reset,
    # revokeSignInSessions). Epoch seconds.
    tokens_valid_after: float = 0.0
    # A Global Administrator may grant consent on behalf of the organization.
    is_admin: bool = False


@dataclass
class Tenant:
    tenant_id: str
    domain: str  # e.g. contoso.onmicrosoft.com
    display_name: str = "Contoso"
    apps: dict[str, AppRegistration] = field(default_factory=dict)  # by app_id
    users: dict[str, User] = field(default_factory=dict)  # by upn (lower case)
    # Consent: (client_id, resource_app_id) -> granted scopes; admin consent applies to everyone,
    # user consent to one user object id.
    admin_consent: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    user_consent: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)  # (oid, client, res)
    users_may_consent: bool = True
    # Conditional Access: sign-ins from addresses outside these CIDRs are blocked (empty: no policy).
    trusted_locations: list[str] = field(default_factory=list)
    # Resource apps (service principals of first-party APIs) present in the tenant.
    resource_apps: set[str] = field(default_factory=lambda: {AZURE_DATABRICKS_RESOURCE_ID})
