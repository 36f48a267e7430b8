"""The Entra ID v2.0 emulator as a WSGI app: discovery, JWKS, authorize (HTML), token, device code.

Every error follows from the directory state in ``tenants`` (see ``model.py``) and from the request, the
way Entra decides it; the AADSTS texts live in ``errors.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from brickauth.clock import Clock
from brickauth_sandbox.entra import errors, pages
from brickauth_sandbox.entra.assertions import (
    JWT_BEARER,
    issuer_of,
    verify_certificate_assertion,
    verify_federated_assertion,
)
from brickauth_sandbox.entra.errors import EntraError
from brickauth_sandbox.entra.model import (
    AZURE_CLI_CLIENT_ID,
    AZURE_DATABRICKS_RESOURCE_ID,
    AppRegistration,
    ClientSecret,
    Platform,
    RedirectUri,
    Tenant,
    User,
    new_guid,
)
from brickauth_sandbox.entra.tokens import (
    GUID_RE,
    KNOWN_RESOURCES,
    AuthCode,
    DeviceCodeRecord,
    GrantStore,
    RefreshTokenRecord,
    ScopeRequest,
    SignIn,
    TokenIssuer,
    b64u,
    client_info,
    new_opaque,
    new_user_code,
    parse_scope,
    permission_description,
    resource_display_name,
)
from brickauth_sandbox.lifetimes import TokenLifetimes
from brickauth_sandbox.signing import SigningKey

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]

MULTI_TENANT_SEGMENTS = frozenset({"common", "organizations"})
DNS_RE = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOGIN_TTL_SECONDS = 3600.0


@dataclass
class _Login:
    """An interactive sign-in in progress (the ``ctx`` the pages carry between steps)."""

    ctx: str
    kind: str  # "authorize" | "device"
    segment: str
    tenant: Tenant | None  # None until a /common or /organizations sign-in names the account
    app: AppRegistration
    scope: ScopeRequest
    created: float
    redirect_uri: str = ""
    platform: str = ""
    response_mode: str = "query"
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    prompt: str | None = None
    login_hint: str = ""
    device: DeviceCodeRecord | None = None
    sign_in: SignIn | None = None
    permissions: frozenset[str] = frozenset()


def _json(body: Any, status: int = 200) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store, no-cache"
    resp.headers["Pragma"] = "no-cache"
    return resp


def _html(text: str, status: int = 200) -> Response:
    return Response(text, status=status, content_type="text/html; charset=utf-8")


def _same_path(a: str, b: str) -> bool:
    return (a or "/").rstrip("/") == (b or "/").rstrip("/")


class EntraService:
    """Entra ID (login.microsoftonline.com) for the sandbox. Mutate ``tenants`` (or use the helpers) to set
    up and break the directory; every request reads the current state."""

    def __init__(
        self, *, base_url: str, signing_key: SigningKey, clock: Clock, lifetimes: TokenLifetimes
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_key = signing_key
        self.clock = clock
        self.lifetimes = lifetimes
        self.tenants: dict[str, Tenant] = {}
        self.grants = GrantStore()
        self.tokens = TokenIssuer(signing_key=signing_key, base_url=self.base_url)
        # Issuers of federated credentials (GitHub Actions, Kubernetes, ...): issuer URL -> public keys.
        self.federated_issuer_keys: dict[str, list[PublicKeyTypes]] = {}
        self._logins: dict[str, _Login] = {}
        self._lock = threading.RLock()
        self._url_map = Map(
            [
                Rule("/common/discovery/instance", endpoint="instance_discovery"),
                Rule("/devicelogin", endpoint="devicelogin", methods=["GET", "POST"]),
                Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="oidc_v2"),
                Rule("/<tenant>/.well-known/openid-configuration", endpoint="oidc_v1"),
                Rule("/<tenant>/discovery/v2.0/keys", endpoint="jwks"),
                Rule("/<tenant>/discovery/keys", endpoint="jwks"),
                Rule("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize", methods=["GET", "POST"]),
                Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
                Rule("/<tenant>/oauth2/token", endpoint="token_v1", methods=["POST"]),
                Rule("/<tenant>/oauth2/v2.0/devicecode", endpoint="devicecode", methods=["POST"]),
                Rule("/<tenant>/login", endpoint="login", methods=["POST"]),
                Rule("/<tenant>/mfa", endpoint="mfa", methods=["POST"]),
                Rule("/<tenant>/consent", endpoint="consent", methods=["POST"]),
            ],
            strict_slashes=False,
        )

    # ------------------------------------------------------------------ directory helpers (control API)

    def issuer_v1(self, tid: str) -> str:
        return self.tokens.issuer_v1(tid)

    def issuer_v2(self, tid: str) -> str:
        return self.tokens.issuer_v2(tid)

    def authority(self, tenant: Tenant | str) -> str:
        """What msal takes as ``authority=``."""
        tid = tenant.tenant_id if isinstance(tenant, Tenant) else tenant
        return f"{self.base_url}/{tid}"

    def add_tenant(
        self, *, tenant_id: str | None = None, domain: str | None = None, display_name: str = "Contoso"
    ) -> Tenant:
        """A tenant with the Azure Databricks resource and the Azure CLI (pre-consented) in it."""
        tid = (tenant_id or new_guid()).lower()
        dom = (
            domain or f"{re.sub(r'[^a-z0-9]', '', display_name.lower()) or 'tenant'}{tid[:4]}.onmicrosoft.com"
        )
        tenant = Tenant(tenant_id=tid, domain=dom, display_name=display_name)
        cli = AppRegistration(
            app_id=AZURE_CLI_CLIENT_ID,
            display_name="Microsoft Azure CLI",
            home_tenant_id="f8cdef31-a31e-4b4a-93e4-5f571e91255a",  # Microsoft Services
            multi_tenant=True,
            redirect_uris=[RedirectUri("http://localhost", "mobile_desktop")],
            allow_public_client_flows=True,
        )
        tenant.apps[cli.app_id] = cli
        tenant.admin_consent[(cli.app_id, AZURE_DATABRICKS_RESOURCE_ID)] = {"user_impersonation"}
        with self._lock:
            self.tenants[tid] = tenant
        return tenant

    def add_app(
        self,
        tenant: Tenant,
        display_name: str,
        *,
        app_id: str | None = None,
        redirect_uris: Iterable[tuple[str, Platform]] = (),
        public_client_flows: bool = False,
        multi_tenant: bool = False,
    ) -> AppRegistration:
        app = AppRegistration(
            app_id=(app_id or new_guid()).lower(),
            display_name=display_name,
            home_tenant_id=tenant.tenant_id,
            multi_tenant=multi_tenant,
            redirect_uris=[RedirectUri(uri, platform) for uri, platform in redirect_uris],
            allow_public_client_flows=public_client_flows,
        )
        tenant.apps[app.app_id] = app
        return app

    def add_secret(
        self, app: AppRegistration, *, value: str | None = None, expires_in: float = 365 * 86400.0
    ) -> ClientSecret:
        """A client secret like the portal makes: a 40-character value, a GUID secret ID, an expiry."""
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
        val = value or (
            "".join(secrets.choice(alphabet) for _ in range(3))
            + "8Q~"
            + "".join(secrets.choice(alphabet) for _ in range(34))
        )
        secret = ClientSecret(value=val, expires_at=self.clock.now() + expires_in)
        app.secrets.append(secret)
        return secret

    def add_user(self, tenant: Tenant, upn: str, password: str, **fields: Any) -> User:
        user = User(upn=upn, password=password, home_tenant_id=tenant.tenant_id, **fields)
        if not user.display_name:
            user.display_name = upn.split("@", 1)[0].replace(".", " ").title()
        tenant.users[upn.lower()] = user
        return user

    def grant_admin_consent(
        self,
        tenant: Tenant,
        app: AppRegistration,
        resource: str = AZURE_DATABRICKS_RESOURCE_ID,
        permissions: Iterable[str] | None = None,
    ) -> None:
        perms = (
            set(permissions)
            if permissions is not None
            else set(app.required_resource_access.get(resource, ()))
        )
        tenant.admin_consent.setdefault((app.app_id, resource), set()).update(perms)

    def revoke_consent(
        self, tenant: Tenant, app: AppRegistration, resource: str = AZURE_DATABRICKS_RESOURCE_ID
    ) -> None:
        tenant.admin_consent.pop((app.app_id, resource), None)
        for key in [k for k in tenant.user_consent if k[1] == app.app_id and k[2] == resource]:
            del tenant.user_consent[key]

    def reset_password(self, user: User, new_password: str) -> None:
        """A password reset: refresh tokens issued before now stop working (AADSTS50173)."""
        user.password = new_password
        user.tokens_valid_after = self.clock.now()

    def revoke_sign_in_sessions(self, user: User) -> None:
        user.tokens_valid_after = self.clock.now()

    def trust_federated_issuer(self, issuer: str, *keys: PublicKeyTypes) -> None:
        """Keys Entra would fetch from ``{issuer}/.well-known/openid-configuration``'s jwks_uri."""
        self.federated_issuer_keys.setdefault(issuer, []).extend(keys)

    def find_tenant(self, id_or_domain: str) -> Tenant | None:
        try:
            return self._resolve_tenant(id_or_domain)
        except EntraError:
            return None

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.signing_key.jwk()]}

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = self._url_map.bind_to_environ(environ).match()
            handler = getattr(self, f"_on_{endpoint}")
            response: Response = handler(request, **args)
        except HTTPException as exc:
            response = _json(
                {
                    "error": "not_found" if exc.code == 404 else "invalid_request",
                    "error_description": exc.description or "",
                },
                status=exc.code or 400,
            )
        return response(environ, start_response)

    # ------------------------------------------------------------------ resolution

    def _log(self, request: Request, **fields: str) -> None:
        log = request.environ.get("brickauth.log")
        if isinstance(log, dict):
            log.update({k: v for k, v in fields.items() if v})

    def _resolve_tenant(self, segment: str) -> Tenant | None:
        """The tenant a path segment names, or None for ``common``/``organizations``."""
        seg = segment.strip()
        low = seg.lower()
        if low in MULTI_TENANT_SEGMENTS:
            return None
        if GUID_RE.match(seg):
            tenant = self._tenant_by_id(low)
            if tenant is None:
                raise errors.tenant_not_found(seg)
            return tenant
        if DNS_RE.match(seg):
            for tenant in list(self.tenants.values()):
                if tenant.domain.lower() == low:
                    return tenant
            raise errors.tenant_not_found(seg)
        raise errors.malformed_tenant(seg)

    def _tenant_by_id(self, tid: str) -> Tenant | None:
        tenant = self.tenants.get(tid)
        if tenant is None:
            low = tid.lower()
            tenant = next((t for t in list(self.tenants.values()) if t.tenant_id.lower() == low), None)
        return tenant

    def _tenant_of(self, tid: str) -> Tenant:
        tenant = self._tenant_by_id(tid)
        if tenant is None:
            raise errors.tenant_not_found(tid)
        return tenant

    @staticmethod
    def _app_by_id(tenant: Tenant, cid: str) -> AppRegistration | None:
        """Client ids compare case-insensitively, as in Entra."""
        app = tenant.apps.get(cid)
        if app is None:
            app = next((a for a in list(tenant.apps.values()) if a.app_id.lower() == cid), None)
        return app

    def _find_app(self, tenant: Tenant | None, client_id: str, segment: str) -> AppRegistration:
        cid = client_id.strip().lower()
        if tenant is not None:
            app = self._app_by_id(tenant, cid)
            if app is not None and app.has_service_principal:
                return self._enabled(app)
            for other in list(self.tenants.values()):
                candidate = self._app_by_id(other, cid)
                if (
                    candidate is not None
                    and candidate.multi_tenant
                    and candidate.home_tenant_id == other.tenant_id
                ):
                    return self._enabled(candidate)
            raise errors.app_not_found(client_id, tenant.display_name)
        for other in list(self.tenants.values()):
            candidate = self._app_by_id(other, cid)
            if candidate is None:
                continue
            if not candidate.multi_tenant:
                raise EntraError(
                    50194,
                    "invalid_request",
                    f"Application '{candidate.app_id}'({candidate.display_name}) is not configured as a "
                    f"multi-tenant application. Usage of the /{segment} endpoint is not supported for such "
                    "applications created after '10/15/2018'. Use a tenant-specific endpoint or configure "
                    "the "
                    "application to be multi-tenant.",
                )
            return self._enabled(candidate)
        raise errors.app_not_found(client_id, segment)

    @staticmethod
    def _enabled(app: AppRegistration) -> AppRegistration:
        if not app.enabled:
            raise errors.app_disabled(app.app_id)
        return app

    def _app_in_tenant(self, tenant: Tenant, app: AppRegistration) -> None:
        """After a /common sign-in named the tenant: the app must be usable there."""
        local = self._app_by_id(tenant, app.app_id.lower())
        if (local is None or not local.has_service_principal) and not app.multi_tenant:
            raise errors.app_not_found(app.app_id, tenant.display_name)

    def _find_user(self, tenant: Tenant | None, upn: str, app: AppRegistration) -> tuple[Tenant, User]:
        """The account and the tenant it signs in to (its home, or a tenant that invited it as a guest)."""
        key = upn.strip().lower()
        homes = [(t, t.users[key]) for t in list(self.tenants.values()) if key in t.users]
        home = next(
            ((t, u) for t, u in homes if u.home_tenant_id == t.tenant_id), homes[0] if homes else None
        )
        if tenant is None:
            if home is None:
                raise errors.user_not_found(upn, key.rpartition("@")[2] or "common")
            return home
        if home is None:
            raise errors.user_not_found(upn, tenant.domain)
        _, user = home
        if user.home_tenant_id == tenant.tenant_id or tenant.tenant_id in user.guest_of:
            return tenant, user
        raise errors.user_from_other_tenant(
            upn, user.home_tenant_id, tenant.display_name, app.app_id, app.display_name
        )

    @staticmethod
    def _match_redirect(app: AppRegistration, uri: str) -> RedirectUri | None:
        for reg in app.redirect_uris:
            if reg.uri == uri:
                return reg
        parts = urlsplit(uri)
        if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
            # RFC 8252 7.3 / Entra: the port of a loopback redirect URI is ignored.
            for reg in app.redirect_uris:
                rp = urlsplit(reg.uri)
                if rp.scheme == "http" and rp.hostname == parts.hostname and _same_path(rp.path, parts.path):
                    return reg
        return None

    def _check_resource(self, tenant: Tenant, scope: ScopeRequest) -> str:
        rid = scope.resource_app_id
        if rid is not None:
            if rid in tenant.resource_apps:
                return rid
            local = self._app_by_id(tenant, rid)
            if local is not None and local.has_service_principal:
                return rid
        raise errors.resource_not_found(scope.resource or "", tenant.display_name)

    def _delegated_permissions(self, app: AppRegistration, scope: ScopeRequest) -> frozenset[str]:
        rid = scope.resource_app_id or ""
        if ".default" in scope.permissions:
            if len(scope.permissions) > 1:
                raise errors.scope_format_invalid(scope.raw)
            return frozenset(app.required_resource_access.get(rid, set()))
        known = KNOWN_RESOURCES.get(rid)
        for perm in scope.permissions:
            if known is not None and perm not in known[1]:
                raise errors.scope_not_on_resource(app.display_name, perm, scope.resource or rid)
        return frozenset(scope.permissions)

    @staticmethod
    def _granted(tenant: Tenant, app: AppRegistration, user: User, rid: str) -> set[str]:
        return tenant.admin_consent.get((app.app_id, rid), set()) | tenant.user_consent.get(
            (user.object_id, app.app_id, rid), set()
        )

    @staticmethod
    def _check_conditional_access(tenant: Tenant, remote_addr: str | None) -> None:
        if not tenant.trusted_locations:
            return
        try:
            addr = ipaddress.ip_address(remote_addr or "")
        except ValueError:
            raise errors.conditional_access_blocked() from None
        for cidr in tenant.trusted_locations:
            if addr in ipaddress.ip_network(cidr, strict=False):
                return
        raise errors.conditional_access_blocked()

    def _token_endpoints(self, tenant: Tenant) -> set[str]:
        out = set()
        for seg in (tenant.tenant_id, tenant.domain, "common", "organizations"):
            out.add(f"{self.base_url}/{seg}/oauth2/v2.0/token")
            out.add(f"{self.base_url}/{seg}/oauth2/token")
        return out

    # ------------------------------------------------------------------ discovery

    def _on_oidc_v2(self, request: Request, tenant: str) -> Response:
        try:
            t = self._resolve_tenant(tenant)
        except EntraError as exc:
            return self._error_json(request, exc)
        seg = t.tenant_id if t else tenant.lower()
        tid = t.tenant_id if t else "{tenantid}"
        base = self.base_url
        return _json(
            {
                "token_endpoint": f"{base}/{seg}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{seg}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{tid}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                "authorization_endpoint": f"{base}/{seg}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{seg}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{seg}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "cloud_instance_name",
                    "cloud_instance_host_name",
                    "cloud_graph_host_name",
                    "msgraph_host",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "acr",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "ver",
                    "at_hash",
                    "c_hash",
                    "email",
                ],
                "kerberos_endpoint": f"{base}/{seg}/kerberos",
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
        )

    def _on_oidc_v1(self, request: Request, tenant: str) -> Response:
        try:
            t = self._resolve_tenant(tenant)
        except EntraError as exc:
            return self._error_json(request, exc)
        seg = t.tenant_id if t else tenant.lower()
        base = self.base_url
        return _json(
            {
                "token_endpoint": f"{base}/{seg}/oauth2/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/common/discovery/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
                "scopes_supported": ["openid"],
                "issuer": f"https://sts.windows.net/{t.tenant_id if t else '{tenantid}'}/",
                "authorization_endpoint": f"{base}/{seg}/oauth2/authorize",
                "device_authorization_endpoint": f"{base}/{seg}/oauth2/devicecode?api-version=1.0",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{seg}/oauth2/logout",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
        )

    def _on_instance_discovery(self, request: Request) -> Response:
        endpoint = request.args.get("authorization_endpoint", "")
        parts = urlsplit(endpoint)
        segment = parts.path.strip("/").split("/", 1)[0] or "common"
        host = urlsplit(self.base_url).netloc
        discovery = f"{self.base_url}/{segment}/v2.0/.well-known/openid-configuration"
        return _json(
            {
                "tenant_discovery_endpoint": discovery,
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    def _on_jwks(self, request: Request, tenant: str) -> Response:
        try:
            self._resolve_tenant(tenant)
        except EntraError as exc:
            return self._error_json(request, exc)
        return _json(self.jwks())

    # ------------------------------------------------------------------ authorize + pages

    def _error_json(self, request: Request, exc: EntraError) -> Response:
        corr = request.headers.get("client-request-id")
        return _json(errors.error_body(exc, now=self.clock.now(), correlation_id=corr), status=exc.status)

    def _error_page(self, exc: EntraError, app: AppRegistration | None = None) -> Response:
        return _html(
            pages.error_page(
                aadsts_text=str(exc),
                request_id=str(uuid.uuid4()),
                correlation_id=str(uuid.uuid4()),
                timestamp=errors.entra_timestamp(self.clock.now()).replace(" ", "T"),
                app_name=app.display_name if app else "",
            ),
            status=400,
        )

    def _redirect(self, login: _Login, params: dict[str, str]) -> Response:
        if login.state is not None:
            params = {**params, "state": login.state}
        if login.response_mode == "form_post":
            return _html(pages.form_post(action=login.redirect_uri, fields=params))
        sep = "#" if login.response_mode == "fragment" else ("&" if "?" in login.redirect_uri else "?")
        resp = Response(status=302)
        resp.headers["Location"] = login.redirect_uri + sep + urlencode(params)
        return resp

    def _redirect_error(self, login: _Login, exc: EntraError) -> Response:
        body = errors.error_body(exc, now=self.clock.now())
        return self._redirect(
            login,
            {
                "error": exc.error,
                "error_description": body["error_description"],
                "error_uri": body["error_uri"],
            },
        )

    def _sign_in_page(self, login: _Login, *, error: str = "", details: str = "") -> Response:
        return _html(
            pages.sign_in(
                action=f"{self.base_url}/{login.segment}/login",
                ctx=login.ctx,
                app_name=login.app.display_name,
                login_hint=login.login_hint,
                error=error,
                details=details,
            )
        )

    def _new_login(self, **kw: Any) -> _Login:
        login = _Login(ctx=new_opaque("rQ", 24), created=self.clock.now(), **kw)
        with self._lock:
            self._logins[login.ctx] = login
        return login

    def _on_authorize(self, request: Request, tenant: str) -> Response:
        q = request.values
        try:
            t = self._resolve_tenant(tenant)
            client_id = q.get("client_id", "")
            if not client_id:
                raise errors.missing_parameter("client_id")
            app = self._find_app(t, client_id, tenant)
        except EntraError as exc:
            return self._error_page(exc)
        self._log(request, client_id=app.app_id, tenant=tenant, grant_type="authorize")
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri:
            if not app.redirect_uris:
                return self._error_page(
                    EntraError(
                        500113, "invalid_request", "No reply address is registered for the application."
                    ),
                    app,
                )
            redirect_uri = app.redirect_uris[0].uri
        reg = self._match_redirect(app, redirect_uri)
        if reg is None:
            return self._error_page(errors.redirect_uri_mismatch(redirect_uri, app.app_id), app)
        # From here on, errors go back to the (valid) redirect URI.
        response_mode = q.get("response_mode") or ("fragment" if reg.platform == "spa" else "query")
        probe = _Login(
            ctx="",
            kind="authorize",
            segment=tenant,
            tenant=t,
            app=app,
            scope=ScopeRequest("", None, None, (), frozenset()),
            created=0.0,
            redirect_uri=redirect_uri,
            response_mode=response_mode,
            state=q.get("state"),
        )
        try:
            response_type = q.get("response_type", "")
            if response_type != "code":
                raise EntraError(
                    700054 if response_type else 900144,
                    "unsupported_response_type" if response_type else "invalid_request",
                    f"response_type '{response_type}' is not enabled for the application."
                    if response_type
                    else "The request body must contain the following parameter: 'response_type'.",
                )
            scope = parse_scope(q.get("scope", ""))
            if t is not None and scope.resource is not None:
                self._check_resource(t, scope)
            if scope.resource is not None:
                self._delegated_permissions(app, scope)
            challenge = q.get("code_challenge") or None
            method = q.get("code_challenge_method") or ("plain" if challenge else None)
            if method not in (None, "plain", "S256"):
                raise EntraError(501491, "invalid_request", "Invalid code_challenge_method.")
            if reg.platform == "spa" and not challenge:
                raise EntraError(
                    9002325,
                    "invalid_request",
                    "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
                )
            if q.get("prompt") == "none":
                raise EntraError(
                    50058,
                    "login_required",
                    "A silent sign-in request was sent but no user is signed in. The cookies used to "
                    "represent the "
                    "user's session were not sent in the request to Azure AD.",
                )
        except EntraError as exc:
            return self._redirect_error(probe, exc)
        login = self._new_login(
            kind="authorize",
            segment=tenant,
            tenant=t,
            app=app,
            scope=scope,
            redirect_uri=redirect_uri,
            platform=reg.platform,
            response_mode=response_mode,
            state=q.get("state"),
            code_challenge=challenge,
            code_challenge_method=method,
            nonce=q.get("nonce"),
            prompt=q.get("prompt"),
            login_hint=q.get("login_hint", ""),
        )
        return self._sign_in_page(login)

    def _login_from(self, request: Request) -> _Login | None:
        """The sign-in a page's ``ctx`` names; abandoned ones expire after an hour (Entra's flow token)."""
        now = self.clock.now()
        with self._lock:
            for ctx in [c for c, lg in self._logins.items() if now - lg.created > LOGIN_TTL_SECONDS]:
                del self._logins[ctx]
            return self._logins.get(request.form.get("ctx", ""))

    def _expired_page(self) -> Response:
        return self._error_page(
            EntraError(
                50089,
                "invalid_grant",
                "Authentication failed due to flow token expired. Please sign in again.",
            )
        )

    def _on_login(self, request: Request, tenant: str) -> Response:
        login = self._login_from(request)
        if login is None:
            return self._expired_page()
        upn = request.form.get("loginfmt", "").strip()
        password = request.form.get("passwd", "")
        login.login_hint = upn
        try:
            res_tenant, user = self._find_user(login.tenant, upn, login.app)
        except EntraError as exc:
            if exc.code == 50034:
                return self._sign_in_page(
                    login,
                    error="This username may be incorrect. Make sure you typed it correctly. Otherwise, "
                    "contact your admin.",
                    details=str(exc),
                )
            return self._error_page(exc, login.app)
        self._log(request, principal=user.upn, client_id=login.app.app_id)
        try:
            if login.tenant is None:
                self._app_in_tenant(res_tenant, login.app)
                if login.scope.resource is not None:
                    self._check_resource(res_tenant, login.scope)
            if not user.enabled:
                raise errors.user_disabled()
        except EntraError as exc:
            return self._error_page(exc, login.app)
        if not hmac.compare_digest(user.password.encode(), password.encode()):
            return self._sign_in_page(
                login,
                error="Your account or password is incorrect. If you don't remember your password, reset "
                "it now.",
                details=str(errors.bad_password()),
            )
        try:
            self._check_conditional_access(res_tenant, request.remote_addr)
        except EntraError as exc:
            return self._error_page(exc, login.app)
        login.tenant = res_tenant
        login.sign_in = SignIn(
            tenant_id=res_tenant.tenant_id,
            user=user,
            amr=("pwd",),
            auth_time=self.clock.now(),
            ipaddr=request.remote_addr or "",
        )
        if user.mfa_required:
            return _html(
                pages.mfa(action=f"{self.base_url}/{login.segment}/mfa", ctx=login.ctx, upn=user.upn)
            )
        return self._after_authentication(login)

    def _on_mfa(self, request: Request, tenant: str) -> Response:
        login = self._login_from(request)
        if login is None or login.sign_in is None:
            return self._expired_page()
        user = login.sign_in.user
        if not hmac.compare_digest(request.form.get("otc", "").strip().encode(), user.mfa_code.encode()):
            return _html(
                pages.mfa(
                    action=f"{self.base_url}/{login.segment}/mfa",
                    ctx=login.ctx,
                    upn=user.upn,
                    error="You didn't enter the expected verification code. Please try again.",
                )
            )
        login.sign_in.amr = ("pwd", "mfa")
        return self._after_authentication(login)

    def _after_authentication(self, login: _Login) -> Response:
        assert login.tenant is not None and login.sign_in is not None
        tenant, user = login.tenant, login.sign_in.user
        rid = login.scope.resource_app_id
        perms = self._delegated_permissions(login.app, login.scope) if rid else frozenset()
        login.permissions = perms
        missing = perms - self._granted(tenant, login.app, user, rid) if rid else set()
        if missing or (login.prompt == "consent" and rid):
            if not tenant.users_may_consent and not user.is_admin:
                exc = errors.admin_approval_required(login.app.display_name)
                return self._error_page(exc, login.app)
            descriptions = [permission_description(rid or "", p) for p in sorted(perms)]
            if "profile" in login.scope.oidc:
                descriptions.append("View your basic profile")
            if "offline_access" in login.scope.oidc:
                descriptions.append("Maintain access to data you have given it access to")
            return _html(
                pages.consent(
                    action=f"{self.base_url}/{login.segment}/consent",
                    ctx=login.ctx,
                    upn=user.upn,
                    app_name=login.app.display_name,
                    publisher=f"unverified \u00b7 {resource_display_name(tenant, rid or '')}",
                    permissions=descriptions,
                    can_admin=user.is_admin,
                )
            )
        return self._complete(login)

    def _on_consent(self, request: Request, tenant: str) -> Response:
        login = self._login_from(request)
        if login is None or login.sign_in is None or login.tenant is None:
            return self._expired_page()
        if request.form.get("decision") != "accept":
            with self._lock:
                self._logins.pop(login.ctx, None)
            if login.device is not None:
                login.device.status = "declined"
                return _html(pages.device_declined(app_name=login.app.display_name))
            return self._redirect_error(login, errors.consent_declined())
        rid = login.scope.resource_app_id or ""
        user = login.sign_in.user
        if request.form.get("ConsentForOrg") == "true" and user.is_admin:
            login.tenant.admin_consent.setdefault((login.app.app_id, rid), set()).update(login.permissions)
        else:
            login.tenant.user_consent.setdefault((user.object_id, login.app.app_id, rid), set()).update(
                login.permissions
            )
        return self._complete(login)

    def _complete(self, login: _Login) -> Response:
        assert login.sign_in is not None
        with self._lock:
            self._logins.pop(login.ctx, None)
        if login.device is not None:
            with self.grants.lock:
                login.device.sign_in = login.sign_in
                login.device.permissions = login.permissions
                login.device.status = "approved"
            return _html(pages.device_done(app_name=login.app.display_name))
        code = AuthCode(
            code=new_opaque("1.AQ", 96),
            client_id=login.app.app_id,
            redirect_uri=login.redirect_uri,
            platform=login.platform,
            scope=login.scope,
            permissions=login.permissions,
            sign_in=login.sign_in,
            code_challenge=login.code_challenge,
            code_challenge_method=login.code_challenge_method,
            nonce=login.nonce,
            issued_at=self.clock.now(),
        )
        with self.grants.lock:
            self.grants.codes[code.code] = code
        return self._redirect(login, {"code": code.code, "session_state": str(uuid.uuid4())})

    # ------------------------------------------------------------------ device code

    def _on_devicecode(self, request: Request, tenant: str) -> Response:
        form = request.form
        self._log(request, client_id=form.get("client_id", ""), tenant=tenant, grant_type="devicecode")
        try:
            t = self._resolve_tenant(tenant)
            client_id = form.get("client_id", "")
            if not client_id:
                raise errors.missing_parameter("client_id")
            app = self._find_app(t, client_id, tenant)
            scope = parse_scope(form.get("scope", ""))
            if t is not None and scope.resource is not None:
                self._check_resource(t, scope)
            if scope.resource is not None:
                self._delegated_permissions(app, scope)
        except EntraError as exc:
            return self._error_json(request, exc)
        now = self.clock.now()
        rec = DeviceCodeRecord(
            device_code=new_opaque("DAQABIQEAAA", 96),
            user_code=new_user_code(),
            client_id=app.app_id,
            tenant_segment=tenant,
            scope=scope,
            issued_at=now,
            expires_at=now + self.lifetimes.device_code_seconds,
        )
        with self.grants.lock:
            self.grants.device_codes[rec.device_code] = rec
        uri = f"{self.base_url}/devicelogin"
        return _json(
            {
                "user_code": rec.user_code,
                "device_code": rec.device_code,
                "verification_uri": uri,
                "expires_in": int(self.lifetimes.device_code_seconds),
                "interval": max(1, round(self.lifetimes.device_code_interval_seconds)),
                "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
                f"{rec.user_code} to authenticate.",
            }
        )

    def _on_devicelogin(self, request: Request) -> Response:
        action = f"{self.base_url}/devicelogin"
        if request.method == "GET":
            return _html(pages.device_code_entry(action=action))
        rec = self.grants.device_by_user_code(request.form.get("otc", ""))
        if rec is None or rec.status != "pending" or self.clock.now() > rec.expires_at:
            return _html(
                pages.device_code_entry(
                    action=action, error="That code didn't work. Check the code and try again."
                )
            )
        try:
            t = self._resolve_tenant(rec.tenant_segment)
            app = self._find_app(t, rec.client_id, rec.tenant_segment)
        except EntraError as exc:
            return self._error_page(exc)
        login = self._new_login(
            kind="device", segment=rec.tenant_segment, tenant=t, app=app, scope=rec.scope, device=rec
        )
        return self._sign_in_page(login)

    # ------------------------------------------------------------------ token endpoint

    def _on_token(self, request: Request, tenant: str) -> Response:
        form = request.form
        grant_type = form.get("grant_type", "")
        client_id, basic_secret = self._basic_auth(request)
        client_id = form.get("client_id", "") or client_id
        self._log(request, grant_type=grant_type, client_id=client_id, tenant=tenant)
        handlers = {
            "client_credentials": self._grant_client_credentials,
            "authorization_code": self._grant_authorization_code,
            "refresh_token": self._grant_refresh_token,
            "password": self._grant_password,
            DEVICE_CODE_GRANT: self._grant_device_code,
        }
        try:
            t = self._resolve_tenant(tenant)
            if not grant_type:
                raise errors.missing_parameter("grant_type")
            handler = handlers.get(grant_type)
            if handler is None:
                raise errors.unsupported_grant_type(grant_type)
            if not client_id:
                raise errors.missing_parameter("client_id")
            body = handler(request, t, tenant, client_id, basic_secret)
        except EntraError as exc:
            return self._error_json(request, exc)
        return _json(body)

    @staticmethod
    def _basic_auth(request: Request) -> tuple[str, str | None]:
        auth = request.authorization
        if auth is not None and auth.type == "basic" and auth.username:
            return auth.username, auth.password
        return "", None

    def _client_auth(
        self,
        request: Request,
        app: AppRegistration,
        tenant: Tenant,
        *,
        public_allowed: bool,
        basic_secret: str | None,
    ) -> str:
        """Authenticate the client: "0" public, "1" secret, "2" assertion (``appidacr``)."""
        form = request.form
        secret = form.get("client_secret") or basic_secret
        assertion = form.get("client_assertion")
        if secret:
            now = self.clock.now()
            for candidate in app.secrets:
                if hmac.compare_digest(candidate.value.encode(), secret.encode()):
                    if candidate.expires_at < now:
                        raise errors.client_secret_expired(app.app_id)
                    return "1"
            raise errors.invalid_client_secret(app.app_id)
        if assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise EntraError(
                    90014,
                    "invalid_request",
                    "The required field 'client_assertion_type' is missing from the credential. Ensure "
                    "that you "
                    "have all the necessary parameters for the login request.",
                )
            if issuer_of(assertion) == app.app_id:
                verify_certificate_assertion(
                    assertion, app=app, token_endpoints=self._token_endpoints(tenant), now=self.clock.now()
                )
            else:
                verify_federated_assertion(
                    assertion, app=app, issuer_keys=self.federated_issuer_keys, now=self.clock.now()
                )
            return "2"
        if public_allowed:
            return "0"
        raise errors.client_credential_required()

    def _grant_client_credentials(
        self, request: Request, t: Tenant | None, segment: str, client_id: str, basic_secret: str | None
    ) -> dict[str, Any]:
        app = self._find_app(t, client_id, segment)
        tenant = t or self._tenant_of(app.home_tenant_id)
        acr = self._client_auth(request, app, tenant, public_allowed=False, basic_secret=basic_secret)
        raw = request.form.get("scope", "")
        scope = parse_scope(raw)
        if scope.resource is None or not scope.is_default:
            raise errors.client_credentials_scope(raw)
        rid = self._check_resource(tenant, scope)
        self._log(request, principal=app.app_id)
        life = self.lifetimes.access_token_seconds
        token = self.tokens.access_token(
            tenant=tenant,
            app=app,
            scope=scope,
            permissions=frozenset(),
            now=self.clock.now(),
            lifetime=life,
            sign_in=None,
            client_auth=acr,
            roles=frozenset(app.app_role_assignments.get(rid, set())),
        )
        return {
            "token_type": "Bearer",
            "expires_in": int(life),
            "ext_expires_in": int(life),
            "access_token": token,
        }

    def _grant_password(
        self, request: Request, t: Tenant | None, segment: str, client_id: str, basic_secret: str | None
    ) -> dict[str, Any]:
        form = request.form
        app = self._find_app(t, client_id, segment)
        for name in ("username", "password"):
            if not form.get(name):
                raise errors.missing_parameter(name)
        res_tenant, user = self._find_user(t, form["username"], app)
        if t is None:
            self._app_in_tenant(res_tenant, app)
        acr = self._client_auth(
            request, app, res_tenant, public_allowed=app.allow_public_client_flows, basic_secret=basic_secret
        )
        scope = parse_scope(form.get("scope", ""))
        if scope.resource is not None:
            self._check_resource(res_tenant, scope)
        perms = self._delegated_permissions(app, scope) if scope.resource else frozenset()
        self._log(request, principal=user.upn)
        if not user.enabled:
            raise errors.user_disabled()
        if not hmac.compare_digest(user.password.encode(), form["password"].encode()):
            raise errors.bad_password()
        self._check_conditional_access(res_tenant, request.remote_addr)
        if user.mfa_required:
            raise errors.mfa_required(scope.resource or "")
        if scope.resource_app_id and perms - self._granted(res_tenant, app, user, scope.resource_app_id):
            raise errors.consent_required(app.app_id, app.display_name)
        sign_in = SignIn(res_tenant.tenant_id, user, ("pwd",), self.clock.now(), request.remote_addr or "")
        return self._user_tokens(request, res_tenant, app, scope, perms, sign_in, acr, spa=False)

    def _grant_authorization_code(
        self, request: Request, t: Tenant | None, segment: str, client_id: str, basic_secret: str | None
    ) -> dict[str, Any]:
        form = request.form
        for name in ("code", "redirect_uri"):
            if not form.get(name):
                raise errors.missing_parameter(name)
        with self.grants.lock:
            rec = self.grants.codes.get(form["code"])
        tenant = self._tenant_by_id(rec.sign_in.tenant_id) if rec else t
        app = self._find_app(tenant, client_id, segment)
        redirect_uri = form["redirect_uri"]
        reg = self._match_redirect(app, redirect_uri)
        if reg is None:
            raise errors.redirect_uri_mismatch(redirect_uri, app.app_id)
        origin = request.headers.get("Origin")
        if reg.platform == "spa":
            if not origin:
                raise errors.spa_requires_cross_origin()
            if form.get("client_secret") or form.get("client_assertion"):
                raise errors.public_client_secret_sent()
            acr = "0"
        else:
            if origin:
                raise errors.cross_origin_not_spa()
            acr = self._client_auth(
                request,
                app,
                tenant or self._tenant_of(app.home_tenant_id),
                public_allowed=reg.platform == "mobile_desktop",
                basic_secret=basic_secret,
            )
        now = self.clock.now()
        with self.grants.lock:
            if rec is None:
                raise errors.code_invalid()
            if rec.client_id != app.app_id:
                raise errors.code_client_mismatch()
            if rec.redeemed:
                raise errors.code_redeemed()
            if now > rec.issued_at + self.lifetimes.authorization_code_seconds:
                raise errors.code_expired()
            if rec.redirect_uri != redirect_uri:
                raise errors.reply_address_differs(redirect_uri, rec.redirect_uri)
            if rec.code_challenge:
                verifier = form.get("code_verifier", "")
                if not verifier:
                    raise errors.pkce_verifier_missing()
                computed = (
                    b64u(hashlib.sha256(verifier.encode()).digest())
                    if (rec.code_challenge_method == "S256")
                    else verifier
                )
                if not hmac.compare_digest(computed.encode(), rec.code_challenge.encode()):
                    raise errors.pkce_mismatch()
            rec.redeemed = True
        res_tenant = self._tenant_of(rec.sign_in.tenant_id)
        self._log(request, principal=rec.sign_in.user.upn)
        return self._user_tokens(
            request,
            res_tenant,
            app,
            rec.scope,
            rec.permissions,
            rec.sign_in,
            acr,
            spa=reg.platform == "spa",
            nonce=rec.nonce,
        )

    def _grant_refresh_token(
        self, request: Request, t: Tenant | None, segment: str, client_id: str, basic_secret: str | None
    ) -> dict[str, Any]:
        form = request.form
        if not form.get("refresh_token"):
            raise errors.missing_parameter("refresh_token")
        with self.grants.lock:
            rec = self.grants.refresh_tokens.get(form["refresh_token"])
        if rec is None:
            raise errors.refresh_token_invalid()
        tenant = self._tenant_of(rec.sign_in.tenant_id)
        app = self._find_app(tenant, client_id, segment)
        if rec.client_id != app.app_id:
            raise errors.refresh_token_client_mismatch()
        if rec.spa:
            if not request.headers.get("Origin"):
                raise errors.spa_requires_cross_origin()
            acr = "0"
        else:
            acr = self._client_auth(
                request, app, tenant, public_allowed=rec.public_client, basic_secret=basic_secret
            )
        now = self.clock.now()
        user = rec.sign_in.user
        self._log(request, principal=user.upn)
        if rec.spa and now > rec.original_issued_at + self.lifetimes.spa_refresh_token_seconds:
            raise errors.spa_refresh_token_expired(
                rec.original_issued_at, self.lifetimes.spa_refresh_token_seconds
            )
        if not rec.spa and now - rec.last_used > self.lifetimes.refresh_token_inactivity_seconds:
            raise errors.refresh_token_inactive(
                rec.issued_at, self.lifetimes.refresh_token_inactivity_seconds
            )
        if user.tokens_valid_after > rec.sign_in.auth_time:
            raise errors.grant_revoked(rec.sign_in.auth_time, user.tokens_valid_after)
        if not user.enabled:
            raise errors.user_disabled()
        self._check_conditional_access(tenant, request.remote_addr)
        scope = parse_scope(form.get("scope", "") or " ".join(sorted(rec.oidc)))
        if scope.resource is not None:
            self._check_resource(tenant, scope)
        perms = self._delegated_permissions(app, scope) if scope.resource else frozenset()
        if user.mfa_required and "mfa" not in rec.sign_in.amr:
            raise errors.mfa_required(scope.resource or "")
        if scope.resource_app_id and perms - self._granted(tenant, app, user, scope.resource_app_id):
            raise errors.consent_required(app.app_id, app.display_name)
        with self.grants.lock:
            rec.last_used = now
        return self._user_tokens(
            request,
            tenant,
            app,
            scope,
            perms,
            rec.sign_in,
            acr,
            spa=rec.spa,
            original_issued_at=rec.original_issued_at,
        )

    def _grant_device_code(
        self, request: Request, t: Tenant | None, segment: str, client_id: str, basic_secret: str | None
    ) -> dict[str, Any]:
        form = request.form
        code = form.get("device_code") or form.get("code") or ""
        if not code:
            raise errors.missing_parameter("device_code")
        with self.grants.lock:
            rec = self.grants.device_codes.get(code)
        if rec is None or rec.client_id != client_id.strip().lower():
            raise errors.device_code_invalid()
        tenant = t or (self._tenant_by_id(rec.sign_in.tenant_id) if rec.sign_in else None)
        app = self._find_app(tenant, client_id, segment)
        acr = self._client_auth(
            request,
            app,
            tenant or self._tenant_of(app.home_tenant_id),
            public_allowed=app.allow_public_client_flows,
            basic_secret=basic_secret,
        )
        with self.grants.lock:
            if self.clock.now() > rec.expires_at:
                raise errors.device_code_expired()
            if rec.status == "pending":
                raise errors.authorization_pending()
            if rec.status == "declined":
                raise errors.device_code_declined()
            if rec.status == "redeemed" or rec.sign_in is None:
                raise errors.code_redeemed()
            rec.status = "redeemed"
            sign_in = rec.sign_in
        res_tenant = self._tenant_of(sign_in.tenant_id)
        self._log(request, principal=sign_in.user.upn)
        return self._user_tokens(
            request, res_tenant, app, rec.scope, rec.permissions, sign_in, acr, spa=False
        )

    def _user_tokens(
        self,
        request: Request,
        tenant: Tenant,
        app: AppRegistration,
        scope: ScopeRequest,
        perms: frozenset[str],
        sign_in: SignIn,
        acr: str,
        *,
        spa: bool,
        nonce: str | None = None,
        original_issued_at: float | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        life = self.lifetimes.access_token_seconds
        user = sign_in.user
        granted = [f"{scope.resource}/{p}" for p in sorted(perms)]
        if scope.is_default:
            granted.append(f"{scope.resource}/.default")
        token_scope = (
            scope
            if scope.resource
            else ScopeRequest(
                scope.raw,
                "00000003-0000-0000-c000-000000000000",
                "00000003-0000-0000-c000-000000000000",
                (),
                scope.oidc,
            )
        )
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(granted + sorted(s for s in scope.oidc if s != "offline_access")),
            "expires_in": int(life),
            "ext_expires_in": int(life),
            "access_token": self.tokens.access_token(
                tenant=tenant,
                app=app,
                scope=token_scope,
                permissions=perms,
                now=now,
                lifetime=life,
                sign_in=sign_in,
                client_auth=acr,
            ),
        }
        if "offline_access" in scope.oidc:
            rt = RefreshTokenRecord(
                token=new_opaque("1.AQ", 180),
                client_id=app.app_id,
                sign_in=sign_in,
                resource_app_id=scope.resource_app_id,
                public_client=acr == "0",
                spa=spa,
                issued_at=now,
                original_issued_at=original_issued_at if original_issued_at is not None else now,
                last_used=now,
                oidc=scope.oidc,
            )
            with self.grants.lock:
                self.grants.refresh_tokens[rt.token] = rt
            body["refresh_token"] = rt.token
            if spa:
                body["refresh_token_expires_in"] = int(
                    rt.original_issued_at + self.lifetimes.spa_refresh_token_seconds - now
                )
        if "openid" in scope.oidc:
            body["id_token"] = self.tokens.id_token(
                app=app, sign_in=sign_in, now=now, lifetime=life, nonce=nonce
            )
        if request.form.get("client_info") == "1":
            body["client_info"] = client_info(user.object_id, user.home_tenant_id)
        return body

    # ------------------------------------------------------------------ v1 token endpoint (resource=)

    def _on_token_v1(self, request: Request, tenant: str) -> Response:
        """``/oauth2/token`` with ``resource=``: client credentials and refresh (v1 response shape)."""
        form = request.form
        grant_type = form.get("grant_type", "")
        client_id, basic_secret = self._basic_auth(request)
        client_id = form.get("client_id", "") or client_id
        self._log(request, grant_type=grant_type, client_id=client_id, tenant=tenant)
        try:
            t = self._resolve_tenant(tenant)
            if grant_type not in ("client_credentials", "refresh_token"):
                raise (
                    errors.unsupported_grant_type(grant_type)
                    if grant_type
                    else errors.missing_parameter("grant_type")
                )
            if not client_id:
                raise errors.missing_parameter("client_id")
            resource = form.get("resource", "").rstrip("/")
            if not resource:
                raise errors.missing_parameter("resource")
            v2 = _V2FormRequest(request, {"scope": f"{resource}/.default"})
            if grant_type == "client_credentials":
                body = self._grant_client_credentials(v2, t, tenant, client_id, basic_secret)  # type: ignore[arg-type]
            else:
                body = self._grant_refresh_token(v2, t, tenant, client_id, basic_secret)  # type: ignore[arg-type]
        except EntraError as exc:
            return self._error_json(request, exc)
        now = int(self.clock.now())
        body.pop("scope", None)
        body.update(
            resource=resource,
            expires_on=str(now + int(body["expires_in"])),
            not_before=str(now),
            expires_in=str(body["expires_in"]),
            ext_expires_in=str(body["ext_expires_in"]),
        )
        return _json(body)


class _V2FormRequest:
    """A request seen through the v2 token code with some form fields overridden (v1 ``resource=``)."""

    def __init__(self, request: Request, overrides: dict[str, str]) -> None:
        self._request = request
        self.form = {**request.form.to_dict(), **overrides}
        self.headers = request.headers
        self.environ = request.environ
        self.remote_addr = request.remote_addr
