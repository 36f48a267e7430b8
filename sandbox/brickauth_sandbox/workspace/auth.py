"""Who is calling: bearer tokens (Entra ID or the workspace's own OIDC) to a workspace principal.

Authentication answers the front-door refusals (invalid or expired token, wrong audience or tenant,
IP access list, unknown or inactive principal); the services then check entitlements and grants.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from brickauth.clock import Clock
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.workspace import errors
from brickauth_sandbox.workspace.model import Workspace, WorkspacePrincipal

ENTRA_AUDIENCES = (AZURE_DATABRICKS_RESOURCE_ID, f"api://{AZURE_DATABRICKS_RESOURCE_ID}")


class EntraTrust(Protocol):
    """What the workspace needs from the Entra emulator to trust its tokens."""

    @property
    def signing_key(self) -> SigningKey: ...

    def issuer_v1(self, tenant_id: str) -> str: ...

    def issuer_v2(self, tenant_id: str) -> str: ...


@dataclass(frozen=True)
class Caller:
    principal: WorkspacePrincipal
    source: str  # "entra", "databricks" or "pat"
    scopes: frozenset[str]  # Databricks token scopes; Entra tokens count as all-apis
    claims: dict[str, Any]

    @property
    def key(self) -> str:
        return self.principal.key


def bearer_token(environ: dict[str, Any]) -> str | None:
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def check_ip(workspace: Workspace, environ: dict[str, Any]) -> None:
    if not workspace.ip_access_list_enabled:
        return
    ip = str(environ.get("REMOTE_ADDR", ""))
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise errors.ip_blocked(ip, workspace.workspace_id) from None
    for cidr in workspace.ip_allow_list:
        if addr in ipaddress.ip_network(cidr, strict=False):
            return
    raise errors.ip_blocked(ip, workspace.workspace_id)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise errors.invalid_token() from None


class Authenticator:
    def __init__(
        self,
        *,
        workspace: Workspace,
        entra: EntraTrust,
        signing_key: SigningKey,
        issuer: str,
        clock: Clock,
    ) -> None:
        self.workspace = workspace
        self.entra = entra
        self.signing_key = signing_key
        self.issuer = issuer
        self.clock = clock

    def entra_issuers(self) -> tuple[str, str]:
        tid = self.workspace.tenant_id
        return self.entra.issuer_v1(tid), self.entra.issuer_v2(tid)

    def verify_entra(self, token: str) -> dict[str, Any]:
        """Claims of an Entra access token this workspace accepts (signature, tenant, audience, time)."""
        _, claims = _unverified(token)
        try:
            # Time is checked below, against the injected clock.
            verified = jwt.decode(
                token,
                self.entra.signing_key.private_key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            raise errors.invalid_token() from None
        if verified.get("iss") not in self.entra_issuers():
            tid = verified.get("tid")
            if tid and tid != self.workspace.tenant_id:
                raise errors.wrong_tenant(self.entra.issuer_v1(self.workspace.tenant_id), verified.get("iss"))
            raise errors.invalid_token()
        aud = verified.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not any(a in ENTRA_AUDIENCES for a in auds):
            raise errors.wrong_audience(aud)
        self._check_time(claims)
        return verified

    def verify_own(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.signing_key.private_key.public_key(),
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            raise errors.invalid_token() from None
        self._check_time(claims)
        return claims

    def _check_time(self, claims: dict[str, Any]) -> None:
        now = self.clock.now()
        exp = float(claims.get("exp", 0))
        nbf = float(claims.get("nbf", 0))
        if nbf > now + 300:  # five minutes of clock skew, as Entra's resource servers allow
            raise errors.invalid_token()
        if exp <= now:
            raise errors.token_expired()
        margin = self.workspace.token_expiry_margin_seconds
        if margin > 0 and exp - now < margin:
            raise errors.token_expiring(margin)

    def authenticate(self, environ: dict[str, Any]) -> Caller:
        """The calling principal, or a ``Refusal`` (front door: IP list, token, membership)."""
        check_ip(self.workspace, environ)
        token = bearer_token(environ)
        if token is None:
            raise errors.no_credentials()
        if hashlib.sha256(token.encode()).hexdigest() in self.workspace.rejected_tokens:
            raise errors.token_rejected()
        pat_owner = self.workspace.personal_access_tokens.get(token)
        if pat_owner is not None:
            return self._member(pat_owner, "pat", frozenset({"all-apis", "sql"}), {})
        header, unverified = _unverified(token)
        if unverified.get("iss") == self.issuer and header.get("kid") == self.signing_key.kid:
            claims = self.verify_own(token)
            key = str(claims.get("sub", ""))
            scopes = frozenset(str(claims.get("scope", "")).split())
            source = "databricks"
        else:
            claims = self.verify_entra(token)
            key = principal_key_of_entra(claims)
            scopes = frozenset({"all-apis", "sql"})
            source = "entra"
        return self._member(key, source, scopes, claims)

    def _member(self, key: str, source: str, scopes: frozenset[str], claims: dict[str, Any]) -> Caller:
        principal = self.workspace.principals.get(key)
        if principal is None:
            raise errors.not_in_workspace()
        if not principal.active:
            raise errors.inactive(principal.key)
        return Caller(principal=principal, source=source, scopes=scopes, claims=claims)


def principal_key_of_entra(claims: dict[str, Any]) -> str:
    """Users by ``upn``/``preferred_username`` (lower case), service principals by ``appid``/``azp``."""
    for name in ("upn", "preferred_username", "unique_name"):
        value = claims.get(name)
        if value and claims.get("idtyp") != "app":
            return str(value).lower()
    return str(claims.get("appid") or claims.get("azp") or "")
