"""What the Entra emulator issues and remembers: scopes, JWTs, codes, refresh tokens, device codes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from brickauth_sandbox.entra import errors
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID, AppRegistration, Tenant, User
from brickauth_sandbox.signing import SigningKey

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# First-party resources the emulator knows: display name and delegated permissions (with the consent
# page's wording).
KNOWN_RESOURCES: dict[str, tuple[str, dict[str, str]]] = {
    AZURE_DATABRICKS_RESOURCE_ID: (
        "AzureDatabricks",
        {"user_impersonation": "Have full access to Azure Databricks"},
    ),
}


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_opaque(prefix: str, nbytes: int = 48) -> str:
    return prefix + b64u(secrets.token_bytes(nbytes))


@dataclass(frozen=True)
class ScopeRequest:
    """A parsed ``scope`` parameter: one resource (or none), its permissions, and OIDC scopes."""

    raw: str
    resource: str | None  # as written in the request (GUID or URI), e.g. "2ff814a6-..." or "api://..."
    resource_app_id: str | None  # the resource's app id, when it could be resolved
    permissions: tuple[str, ...]  # ".default" or named delegated permissions / roles
    oidc: frozenset[str]

    @property
    def is_default(self) -> bool:
        return self.permissions == (".default",)


def parse_scope(raw: str) -> ScopeRequest:
    """Split and validate a v2.0 ``scope`` (format only; the tenant decides whether the resource exists)."""
    items = [s for s in raw.split(" ") if s]
    if not items:
        raise errors.scope_missing()
    oidc = frozenset(s for s in items if s in OIDC_SCOPES)
    resource: str | None = None
    perms: list[str] = []
    for item in items:
        if item in OIDC_SCOPES:
            continue
        res, _, perm = item.rpartition("/")
        valid_res = bool(res) and (GUID_RE.match(res) is not None or "://" in res)
        if not valid_res or not perm:
            raise errors.scope_format_invalid(raw)
        if resource is not None and res.lower() != resource.lower():
            raise errors.scope_several_resources(raw)
        resource = res
        perms.append(perm)
    app_id = None
    if resource is not None:
        guid = resource.rsplit("/", 1)[-1] if resource.lower().startswith("api://") else resource
        app_id = guid.lower() if GUID_RE.match(guid) else None
    return ScopeRequest(
        raw=raw, resource=resource, resource_app_id=app_id, permissions=tuple(perms), oidc=oidc
    )


def resource_display_name(tenant: Tenant, app_id: str) -> str:
    if app_id in KNOWN_RESOURCES:
        return KNOWN_RESOURCES[app_id][0]
    app = tenant.apps.get(app_id)
    return app.display_name if app else app_id


def permission_description(app_id: str, perm: str) -> str:
    known = KNOWN_RESOURCES.get(app_id)
    if known and perm in known[1]:
        return known[1][perm]
    return f"Access {perm}"


@dataclass
class SignIn:
    """A completed user sign-in (interactive, device code or password grant)."""

    tenant_id: str  # the tenant the token is for (the user's home tenant or the one they are a guest of)
    user: User
    amr: tuple[str, ...]
    auth_time: float
    ipaddr: str


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    platform: str
    scope: ScopeRequest
    permissions: frozenset[str]
    sign_in: SignIn
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    issued_at: float
    redeemed: bool = False


@dataclass
class RefreshTokenRecord:
    token: str
    client_id: str
    sign_in: SignIn
    resource_app_id: str | None
    public_client: bool
    spa: bool
    issued_at: float  # this token
    original_issued_at: float  # the sign-in that started the chain (SPA lifetime is fixed from it)
    last_used: float
    oidc: frozenset[str]


@dataclass
class DeviceCodeRecord:
    device_code: str
    user_code: str
    client_id: str
    tenant_segment: str
    scope: ScopeRequest
    issued_at: float
    expires_at: float
    status: str = "pending"  # pending | approved | declined | redeemed
    sign_in: SignIn | None = None
    permissions: frozenset[str] = frozenset()


@dataclass
class GrantStore:
    """Codes, refresh tokens and device codes; thread-safe (the server is threaded)."""

    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshTokenRecord] = field(default_factory=dict)
    device_codes: dict[str, DeviceCodeRecord] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def device_by_user_code(self, user_code: str) -> DeviceCodeRecord | None:
        wanted = user_code.strip().upper().replace("-", "")
        with self.lock:
            for rec in self.device_codes.values():
                if rec.user_code == wanted:
                    return rec
        return None


def new_user_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(9))


def client_info(oid: str, tid: str) -> str:
    return b64u(json.dumps({"uid": oid, "utid": tid}, separators=(",", ":")).encode())


def pairwise_sub(oid: str, client_id: str) -> str:
    return b64u(hashlib.sha256(f"{oid}|{client_id}".encode()).digest()[:32])


@dataclass
class TokenIssuer:
    """Builds Entra-shaped JWTs. v1 tokens (``iss`` sts.windows.net) for resources that accept v1 (Azure
    Databricks does), v2 tokens otherwise."""

    signing_key: SigningKey
    base_url: str
    v1_resources: set[str] = field(default_factory=lambda: {AZURE_DATABRICKS_RESOURCE_ID})

    def issuer_v1(self, tid: str) -> str:
        return f"https://sts.windows.net/{tid}/"

    def issuer_v2(self, tid: str) -> str:
        return f"{self.base_url}/{tid}/v2.0"

    def access_token(
        self,
        *,
        tenant: Tenant,
        app: AppRegistration,
        scope: ScopeRequest,
        permissions: frozenset[str],
        now: float,
        lifetime: float,
        sign_in: SignIn | None,
        client_auth: str,  # "0" public, "1" secret, "2" certificate/assertion
        roles: frozenset[str] = frozenset(),
    ) -> str:
        tid = tenant.tenant_id
        resource_id = scope.resource_app_id or ""
        v1 = resource_id in self.v1_resources
        iat = int(now)
        claims: dict[str, Any] = {
            "aud": (scope.resource or resource_id) if v1 else resource_id,
            "iss": self.issuer_v1(tid) if v1 else self.issuer_v2(tid),
            "iat": iat,
            "nbf": iat,
            "exp": int(now + lifetime),
            "aio": b64u(secrets.token_bytes(24)),
            "tid": tid,
            "uti": b64u(uuid.uuid4().bytes),
            "rh": "0.AAAA" + b64u(secrets.token_bytes(12)) + ".",
            "ver": "1.0" if v1 else "2.0",
        }
        if v1:
            claims.update(appid=app.app_id, appidacr=client_auth)
        else:
            claims.update(azp=app.app_id, azpacr=client_auth)
        if sign_in is None:
            claims.update(oid=app.sp_object_id, sub=app.sp_object_id, idtyp="app")
            if v1:
                claims["idp"] = self.issuer_v1(tid)
            if roles:
                claims["roles"] = sorted(roles)
        else:
            user = sign_in.user
            claims.update(
                oid=user.object_id,
                sub=pairwise_sub(user.object_id, app.app_id),
                scp=" ".join(sorted(permissions)),
                amr=list(sign_in.amr),
                name=user.display_name or user.upn,
                ipaddr=sign_in.ipaddr,
            )
            if v1:
                claims.update(acr="1", unique_name=user.upn)
                if user.home_tenant_id == tid:
                    claims["upn"] = user.upn
                else:  # a guest: Entra sends the home identity provider and the email, no upn
                    claims.update(idp=self.issuer_v1(user.home_tenant_id), email=user.upn)
            else:
                claims["preferred_username"] = user.upn
        return self.signing_key.sign(claims)

    def id_token(
        self, *, app: AppRegistration, sign_in: SignIn, now: float, lifetime: float, nonce: str | None
    ) -> str:
        user = sign_in.user
        tid = sign_in.tenant_id
        iat = int(now)
        claims: dict[str, Any] = {
            "aud": app.app_id,
            "iss": self.issuer_v2(tid),
            "iat": iat,
            "nbf": iat,
            "exp": int(now + lifetime),
            "name": user.display_name or user.upn,
            "oid": user.object_id,
            "preferred_username": user.upn,
            "rh": "0.AAAA" + b64u(secrets.token_bytes(12)) + ".",
            "sub": pairwise_sub(user.object_id, app.app_id),
            "tid": tid,
            "uti": b64u(uuid.uuid4().bytes),
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return self.signing_key.sign(claims)
