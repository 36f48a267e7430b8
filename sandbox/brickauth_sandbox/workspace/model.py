"""The Databricks workspace emulator's state: principals, entitlements, warehouses, grants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from brickauth_sandbox.signing import SigningKey

PrincipalKind = Literal["user", "service_principal"]
WarehouseState = Literal["RUNNING", "STOPPED", "STARTING", "STOPPING", "DELETED"]

DATABRICKS_SQL_ACCESS = "databricks-sql-access"
WORKSPACE_ACCESS = "workspace-access"


@dataclass
class WorkspacePrincipal:
    """A user (by user name / UPN) or service principal (by application id) added to the workspace."""

    key: str  # user name (lower case) or application id; what current_user() returns
    kind: PrincipalKind
    display_name: str = ""
    scim_id: str = field(default_factory=lambda: str(uuid.uuid4().int)[:16])
    entitlements: set[str] = field(default_factory=lambda: {DATABRICKS_SQL_ACCESS, WORKSPACE_ACCESS})
    active: bool = True
    admin: bool = False
    # Password for the sandbox's own U2M sign-in page (/oidc/v1/authorize); None: cannot sign in there.
    password: str | None = field(default=None, repr=False)


@dataclass
class OAuthSecret:
    """A Databricks OAuth secret of a service principal (``dose...`` value)."""

    value: str = field(repr=False)
    secret_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    expires_at: float = 4_102_444_800.0


@dataclass
class DatabricksServicePrincipal:
    """An account-level service principal that may hold Databricks OAuth secrets."""

    application_id: str
    display_name: str = ""
    secrets: list[OAuthSecret] = field(default_factory=list)


@dataclass
class OAuthAppIntegration:
    """A Databricks OAuth app connection (custom or published, e.g. ``databricks-cli``, ``dbt``)."""

    client_id: str
    name: str
    redirect_urls: list[str] = field(default_factory=list)
    confidential: bool = False
    client_secret: str | None = field(default=None, repr=False)
    scopes: set[str] = field(default_factory=lambda: {"all-apis", "offline_access", "sql"})
    # Refresh token time-to-live, minutes (Databricks default: 10080 = 7 days).
    refresh_token_ttl_minutes: int = 10080


@dataclass
class Warehouse:
    warehouse_id: str
    name: str = "Starter Warehouse"
    state: WarehouseState = "RUNNING"
    start_delay_seconds: float = 0.0
    can_use: set[str] = field(default_factory=set)  # principal keys
    can_manage: set[str] = field(default_factory=set)
    auto_start: bool = True
    # While STARTING: clock time at which the warehouse becomes RUNNING.
    running_at: float | None = None


@dataclass
class Workspace:
    workspace_id: str  # numeric string, as in adb-<id>.<n>.azuredatabricks.net
    tenant_id: str  # the Entra tenant the workspace trusts
    principals: dict[str, WorkspacePrincipal] = field(default_factory=dict)  # by key
    account_service_principals: dict[str, DatabricksServicePrincipal] = field(default_factory=dict)
    oauth_apps: dict[str, OAuthAppIntegration] = field(default_factory=dict)
    warehouses: dict[str, Warehouse] = field(default_factory=dict)
    # IP access list: when enabled, only these CIDRs may call the workspace.
    ip_access_list_enabled: bool = False
    ip_allow_list: list[str] = field(default_factory=list)
    # Unity Catalog: (principal key, securable, privilege) grants, e.g. ("a@x", "main", "USE CATALOG").
    uc_grants: set[tuple[str, str, str]] = field(default_factory=set)
    default_catalog: str = "main"
    account_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Token federation policies (RFC 8693 exchange at /oidc/v1/token); none by default.
    federation_policies: list[FederationPolicy] = field(default_factory=list)
    # Workspace files (dbt's Python-model folders): path -> object.
    objects: dict[str, WorkspaceObject] = field(default_factory=dict)
    # Tokens are refused this many seconds before their ``exp`` (real workspaces use 30 s; 0 keeps
    # short sandbox lifetimes usable).
    token_expiry_margin_seconds: float = 0.0
    # Personal access tokens (``dapi...``): token -> principal key. brickauth never uses them; doctor
    # tests one when it is the only credential.
    personal_access_tokens: dict[str, str] = field(default_factory=dict)
    # SHA-256 (hex) of access tokens the workspace refuses with 401 although they are unexpired, as after
    # a token revocation or a user's sessions being reset (Sandbox.reject_access_token).
    rejected_tokens: set[str] = field(default_factory=set)


@dataclass
class FederationPolicy:
    """An account-wide (``service_principal`` None: subject claim = user name) or service principal policy."""

    issuer: str
    audiences: list[str] = field(default_factory=list)  # empty: the account id
    subject_claim: str = "sub"
    service_principal: str | None = None  # application id, for workload identity federation
    subject: str | None = None  # required ``sub`` for a service principal policy
    # Key that signs the issuer's tokens; None: the sandbox's Entra key (for Entra issuers).
    signing_key: SigningKey | None = field(default=None, repr=False)


@dataclass
class WorkspaceObject:
    path: str
    object_type: Literal["DIRECTORY", "NOTEBOOK", "FILE"] = "DIRECTORY"
    object_id: int = field(default_factory=lambda: uuid.uuid4().int >> 76)
    language: str | None = None
    content: bytes = b""
