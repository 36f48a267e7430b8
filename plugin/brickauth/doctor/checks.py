"""``brickauth doctor`` checks, run in order with bounded time.

Each check runs in a daemon worker thread and is given ``step_timeout`` seconds (5 s by default); the
whole run has a hard ``deadline`` (20 s). A check that does not return in time is reported as a hang
of the service it was talking to and its thread is abandoned. A failed check skips the checks that
depend on it; the others still run. Findings carry a knowledge-base cause id and never a secret.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from brickauth.bounded import run_bounded
from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.doctor.knowledge import KnowledgeBase, load
from brickauth.doctor.plan import Plan, Problem
from brickauth.doctor.redact import Redactor
from brickauth.entra import AZURE_DATABRICKS_RESOURCE_ID as AZURE_DATABRICKS_RESOURCE
from brickauth.hosts import is_ip_address
from brickauth.token import decode_jwt_claims

Status = Literal["ok", "warn", "fail", "skip"]
Target = Literal["local", "workspace", "idp", "dns", "keyring"]
STATUS_RANK = {"ok": 0, "skip": 1, "warn": 2, "fail": 3}
DEFAULT_STEP_TIMEOUT = 5.0
DEFAULT_DEADLINE = 20.0
PROBE_CODE = "brickauth-doctor-probe"  # a code Entra cannot know: the answer tells how it sees the app


@dataclass
class Outcome:
    status: Status
    summary: str
    cause_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    check: str
    title: str
    status: Status
    summary: str
    cause_id: str | None = None
    cause_title: str | None = None
    meaning: str | None = None
    fix: str | None = None
    links: list[str] = field(default_factory=list)
    duration_ms: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    func: Callable[[Context], Outcome | list[Outcome]]
    requires: tuple[str, ...] = ()
    target: Target = "local"
    # Returns a reason to skip (not applicable), or None to run.
    skip_if: Callable[[Context], str | None] = lambda ctx: None
    timeout_factor: float = 1.0


@dataclass
class Context:
    plan: Plan
    kb: KnowledgeBase
    redact: Redactor
    clock: Clock
    step_timeout: float
    state: dict[str, Any] = field(default_factory=dict)
    refresh: bool = False  # U2M: refresh the cached sign-in even when its access token is fresh

    # --- HTTP helpers (requests imported lazily: CLI modules stay light) ---------------------------
    def session(self) -> Any:
        """A requests session trusting the plan's CA bundle (passed per request: requests lets
        REQUESTS_CA_BUNDLE in os.environ override a session-level ``verify``)."""
        import requests

        ca_bundle = self.plan.ca_bundle

        class Session(requests.Session):
            def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                if ca_bundle:
                    kwargs.setdefault("verify", ca_bundle)
                return super().request(method, url, *args, **kwargs)

        return Session()

    def timeouts(self) -> tuple[float, float]:
        return (self.step_timeout, self.step_timeout)

    def evidence(self, response: Any) -> str:
        """What a refusal said, for the knowledge base: status, reason headers and body."""
        parts = [f"HTTP {response.status_code} {response.reason or ''}".strip()]
        for header in ("x-databricks-reason-phrase", "x-thriftserver-error-message", "www-authenticate"):
            if response.headers.get(header):
                parts.append(f"{header}: {response.headers[header]}")
        parts.append(response.text[:4000])
        return "\n".join(parts)

    def refusal(self, what: str, text: str, fallback: str | None = None) -> Outcome:
        """Classify a refusal with the knowledge base; an unknown one is shown, not guessed."""
        masked = self.redact(text)
        unknown = [m for m in self.kb.classify(text) if m.cause is None]
        cause = self.kb.best(text)
        first = masked.strip().splitlines()[0] if masked.strip() else ""
        excerpt = _one_line(masked, 240)
        if cause is not None:
            return Outcome("fail", f"{what}: {excerpt}", cause.id)
        if unknown:
            return Outcome(
                "fail", f"{what}: AADSTS{unknown[0].aadsts} (not in brickauth's knowledge base): {excerpt}"
            )
        return Outcome("fail", f"{what}: {excerpt or first}", fallback)


def _is_guid(text: str) -> bool:
    import uuid

    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


# ---------------------------------------------------------------------------------------------------
# Settings


def _problems(problems: list[Problem], ok: str) -> list[Outcome]:
    if not problems:
        return [Outcome("ok", ok)]
    return [Outcome("fail" if p.fatal else "warn", p.message, p.cause_id) for p in problems]


def check_host(ctx: Context) -> list[Outcome]:
    plan = ctx.plan
    port = "" if plan.port == 443 else f":{plan.port}"
    desc = f"{plan.hostname}{port} (cloud: {plan.cloud}, from {plan.source('host')})"
    return _problems(plan.host_problems, desc)


def check_http_path(ctx: Context) -> list[Outcome]:
    plan = ctx.plan
    what = f"warehouse {plan.warehouse_id}" if plan.warehouse_id else "a cluster"
    return _problems(plan.path_problems, f"{plan.http_path} ({what}, from {plan.source('http_path')})")


def check_auth(ctx: Context) -> list[Outcome]:
    plan = ctx.plan
    parts = [f"{plan.auth_type or '?'} ({plan.auth_reason})"]
    if plan.tenant_id:
        parts.append(f"tenant {plan.tenant_id}")
    if plan.client_id:
        parts.append(f"client {plan.client_id}")
    if plan.client_secret is not None:
        parts.append("secret set")
    return _problems(plan.auth_problems, ", ".join(parts))


# ---------------------------------------------------------------------------------------------------
# Network: DNS, TCP, TLS (for the workspace and, for Entra flows, the authority)


def _endpoints(ctx: Context) -> list[tuple[str, str, int]]:
    plan = ctx.plan
    out: list[tuple[str, str, int]] = []
    if plan.hostname:
        out.append(("workspace", plan.hostname, plan.port))
    if plan.is_azure_flow and plan.authority_hostname and plan.auth_type not in FLEET_TYPES:
        out.append(("identity provider", plan.authority_hostname, plan.authority_port))
    return out


def _talking_to(ctx: Context, role: str) -> None:
    """Record which service a multi-endpoint check is waiting on, so a hang names the right one."""
    ctx.state["talking_to"] = "idp" if role == "identity provider" else "workspace"


def _proxy_for(host: str, port: int) -> str | None:
    import urllib.request

    if urllib.request.proxy_bypass(host):  # honours NO_PROXY
        return None
    return urllib.request.getproxies().get("https")  # HTTPS_PROXY / https_proxy


def check_dns(ctx: Context) -> Outcome:
    lines = []
    for role, host, port in _endpoints(ctx):
        proxy = _proxy_for(host, port)
        if proxy:
            lines.append(f"{role} {host}: through proxy {Redactor()(proxy)}")
            continue
        if is_ip_address(host):
            lines.append(f"{role} {host}: an IP address")
            continue
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            return ctx.refusal(f"{role} {host} does not resolve", str(exc), "network.dns")
        lines.append(f"{role} {host}: {infos[0][4][0]}")
    return Outcome("ok", "; ".join(lines) or "nothing to resolve")


def check_tcp(ctx: Context) -> Outcome:
    lines = []
    for role, host, port in _endpoints(ctx):
        _talking_to(ctx, role)
        proxy = _proxy_for(host, port)
        target = (host, port)
        if proxy:
            from urllib.parse import urlsplit

            parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            target = (parts.hostname or "", parts.port or 8080)
        try:
            with socket.create_connection(target, timeout=ctx.step_timeout):
                pass
        except OSError as exc:
            what = f"cannot connect to {role} {target[0]}:{target[1]}" + (" (the proxy)" if proxy else "")
            return ctx.refusal(what, f"{exc}", "network.connection_refused")
        lines.append(f"{role} {target[0]}:{target[1]} open" + (" (proxy)" if proxy else ""))
    return Outcome("ok", "; ".join(lines))


def check_tls(ctx: Context) -> Outcome:
    lines = []
    cafile = ctx.plan.ca_bundle
    for role, host, port in _endpoints(ctx):
        _talking_to(ctx, role)
        if _proxy_for(host, port):
            try:
                ctx.session().head(f"https://{host}:{port}/", timeout=ctx.timeouts(), allow_redirects=False)
            except Exception as exc:
                return ctx.refusal(f"TLS to {role} {host} through the proxy failed", str(exc), None)
            lines.append(f"{role} {host}: certificate trusted (through proxy)")
            continue
        context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
        try:
            with socket.create_connection((host, port), timeout=ctx.step_timeout) as raw:
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    version = tls.version()
        except ssl.SSLError as exc:
            bundle = f" (CA bundle: {cafile})" if cafile else " (system CA store; REQUESTS_CA_BUNDLE not set)"
            return ctx.refusal(f"TLS to {role} {host} failed{bundle}", str(exc), None)
        except OSError as exc:
            return ctx.refusal(f"TLS to {role} {host} failed", str(exc), None)
        lines.append(f"{role} {host}: {version}, certificate trusted")
    return Outcome("ok", "; ".join(lines))


# ---------------------------------------------------------------------------------------------------
# Identity provider


def _json(response: Any) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def check_discovery(ctx: Context) -> Outcome:
    plan = ctx.plan
    if plan.auth_type in FLEET_TYPES:
        return Outcome("ok", f"not used: {plan.auth_type} gets its token from {FLEET_TYPES[plan.auth_type]}")
    if plan.is_azure_flow:
        url = f"{plan.authority_host}/{plan.tenant_id}/v2.0/.well-known/openid-configuration"
        what = "Entra ID discovery"
    else:
        url = f"{plan.base_url}/oidc/.well-known/oauth-authorization-server"
        what = "workspace OAuth discovery"
    response = ctx.session().get(url, timeout=ctx.timeouts())
    data = _json(response)
    if response.status_code != 200 or data is None or "token_endpoint" not in data:
        if response.status_code == 200 and data is None:
            return Outcome(
                "fail", f"{what} at {url} returned a non-JSON page", "databricks.html_instead_of_json"
            )
        return ctx.refusal(f"{what} at {url} refused", ctx.evidence(response), None)
    ctx.state["discovery"] = data
    return Outcome(
        "ok", f"{what}: token endpoint {data['token_endpoint']}", details={"issuer": data.get("issuer")}
    )


def check_client_registration(ctx: Context) -> Outcome:
    """U2M: ask the IdP how it sees the app, without a browser."""
    plan = ctx.plan
    session = ctx.session()
    if plan.auth_type == "azure-u2m":
        # A code redemption with a code Entra cannot know: a public client gets invalid_grant for the
        # code; an app whose redirect URI is registered as Web is told to send a secret (AADSTS7000218).
        data = {
            "client_id": plan.client_id,
            "grant_type": "authorization_code",
            "code": PROBE_CODE,
            "redirect_uri": f"http://localhost:{plan.redirect_port or 8020}",
            "scope": f"{AZURE_DATABRICKS_RESOURCE}/user_impersonation offline_access",
            "code_verifier": "x" * 43,
        }
        response = session.post(ctx.state["discovery"]["token_endpoint"], data=data, timeout=ctx.timeouts())
        body = _json(response) or {}
        if body.get("error") == "invalid_grant":
            return Outcome("ok", "the app accepts browser sign-in as a public client (Mobile and desktop)")
        return ctx.refusal("the app registration refuses public-client sign-in", ctx.evidence(response), None)
    # databricks-u2m: the authorize endpoint checks client id and redirect URL before any sign-in.
    port = plan.redirect_port or 8020
    params = {
        "client_id": plan.client_id,
        "redirect_uri": f"http://localhost:{port}",
        "response_type": "code",
        "state": "doctor",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        "scope": "all-apis offline_access",
    }
    url = ctx.state["discovery"].get("authorization_endpoint") or f"{plan.base_url}/oidc/v1/authorize"
    response = session.get(url, params=params, timeout=ctx.timeouts(), allow_redirects=False)
    if response.status_code in (200, 302, 303):
        return Outcome("ok", f"OAuth app {plan.client_id} accepts redirect http://localhost:{port}")
    return ctx.refusal(
        f"OAuth app {plan.client_id} refused the sign-in request", ctx.evidence(response), None
    )


def check_token(ctx: Context) -> Outcome:
    plan = ctx.plan
    if plan.auth_type == "pat":
        assert plan.token is not None
        ctx.state["token"] = plan.token.reveal()
        return Outcome("ok", "personal access token from " + plan.source("token"))
    if plan.is_u2m:
        return _cached_u2m_token(ctx)
    if plan.auth_type in FLEET_TYPES:
        return _fleet_token(ctx)
    token_endpoint = ctx.state["discovery"]["token_endpoint"]
    session = ctx.session()
    if plan.auth_type == "azure-m2m":
        data = {
            "client_id": plan.client_id,
            "grant_type": "client_credentials",
            "scope": f"{AZURE_DATABRICKS_RESOURCE}/.default",
        }
        if plan.client_secret is not None:
            data["client_secret"] = plan.client_secret.reveal()
        elif plan.federated_token_file:
            try:
                with open(plan.federated_token_file, encoding="utf-8") as handle:
                    assertion = handle.read().strip()
            except OSError as exc:
                return Outcome(
                    "fail", f"cannot read AZURE_FEDERATED_TOKEN_FILE: {exc}", "config.missing_setting"
                )
            ctx.redact.add(assertion)
            data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            data["client_assertion"] = assertion
        else:
            return _certificate_token(ctx)
        response = session.post(token_endpoint, data=data, timeout=ctx.timeouts())
    else:
        response = session.post(
            token_endpoint,
            data={"grant_type": "client_credentials", "scope": "all-apis"},
            auth=(plan.client_id or "", plan.client_secret.reveal() if plan.client_secret else ""),
            timeout=ctx.timeouts(),
        )
    body = _json(response) or {}
    if response.status_code == 200 and body.get("access_token"):
        token = str(body["access_token"])
        ctx.redact.add(token)
        ctx.state["token"] = token
        return Outcome("ok", f"{plan.auth_type} token issued (expires in {body.get('expires_in', '?')} s)")
    return ctx.refusal("the token request was refused", ctx.evidence(response), None)


# fleet (issue 12): these flows get their token from the platform; doctor runs the flow itself and
# classifies its one-line error ([BA27x]/[BA28x], causes.yaml "fleet.*").
FLEET_TYPES = {
    "azure-msi": "the host's managed identity endpoint",
    "databricks-oidc": "a workload OIDC token exchanged at the workspace",
    "azure-cli": "az account get-access-token",
}


def _fleet_token(ctx: Context) -> Outcome:
    from brickauth.errors import BrickauthError
    from brickauth.provider import build_source

    plan = ctx.plan
    if plan.settings is None:
        return Outcome("skip", "no settings")
    try:
        source = build_source(plan.settings)
        token = source.fetch()
    except BrickauthError as exc:
        return ctx.refusal(f"{plan.auth_type} could not get a token", f"{type(exc).__name__}: {exc}", None)
    ctx.redact.add(token.token)
    ctx.state["token"] = token.token
    left = int(token.expires_at - ctx.clock.now())
    return Outcome("ok", f"{source.describe()}: token issued (expires in {left} s)")


def _certificate_token(ctx: Context) -> Outcome:
    plan = ctx.plan
    try:
        import msal
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
    except ImportError:  # pragma: no cover
        return Outcome("skip", "certificate credentials need msal and cryptography")
    path = plan.client_certificate_path or ""
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
        cert = x509.load_pem_x509_certificate(pem)
        key = serialization.load_pem_private_key(pem, password=None)
    except (OSError, ValueError) as exc:
        return Outcome(
            "fail",
            f"AZURE_CLIENT_CERTIFICATE_PATH {path}: {exc.__class__.__name__}: needs a PEM with the "
            "private key and the certificate",
            "config.missing_setting",
        )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    app = msal.ConfidentialClientApplication(
        plan.client_id,
        authority=f"{plan.authority_host}/{plan.tenant_id}",
        client_credential={"private_key": key_pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()},  # noqa: S303
        http_client=ctx.session(),
        timeout=ctx.step_timeout,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[f"{AZURE_DATABRICKS_RESOURCE}/.default"])
    if "access_token" in result:
        ctx.redact.add(result["access_token"])
        ctx.state["token"] = result["access_token"]
        return Outcome("ok", "azure-m2m token issued with the certificate")
    return ctx.refusal("the token request was refused", json.dumps(result), None)


def _cached_u2m_token(ctx: Context) -> Outcome:
    """U2M needs a prior `brickauth login`; doctor reads the token store and never opens a browser."""
    from brickauth.doctor.u2m import cached_sign_in

    return cached_sign_in(ctx)


def check_claims(ctx: Context) -> Outcome:
    plan = ctx.plan
    claims = decode_jwt_claims(ctx.state["token"])
    if not claims:
        return Outcome("ok", "opaque token (not a JWT): nothing to decode")
    identity = (
        claims.get("upn")
        or claims.get("preferred_username")
        or claims.get("unique_name")
        or claims.get("appid")
        or claims.get("azp")
        or claims.get("client_id")
        or claims.get("sub")
    )
    now = ctx.clock.now()
    exp = claims.get("exp")
    shown = {
        k: claims[k]
        for k in ("aud", "iss", "tid", "appid", "azp", "oid", "upn", "sub", "exp", "scp", "roles")
        if k in claims
    }
    expires = f"expires in {int(exp - now)} s" if isinstance(exp, (int, float)) else "no expiry"
    summary = f"identity {identity}, {expires}"
    iss = str(claims.get("iss", ""))
    entra = "sts.windows.net" in iss or "login." in iss or bool(claims.get("tid"))
    if isinstance(exp, (int, float)) and exp <= now:
        return Outcome(
            "fail",
            f"the token expired {int(now - exp)} s ago ({summary})",
            "databricks.token_expired",
            details={"claims": shown},
        )
    if entra and plan.is_azure_flow:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not any(a in (AZURE_DATABRICKS_RESOURCE, f"api://{AZURE_DATABRICKS_RESOURCE}") for a in auds):
            return Outcome(
                "fail",
                f"audience is {aud}, not Azure Databricks ({summary})",
                "token.wrong_audience",
                details={"claims": shown},
            )
        tid = claims.get("tid")
        if tid and plan.tenant_id and _is_guid(plan.tenant_id) and tid.lower() != plan.tenant_id.lower():
            return Outcome(
                "warn",
                f"token tenant {tid} differs from the configured tenant {plan.tenant_id}",
                "token.wrong_tenant",
                details={"claims": shown},
            )
    ctx.state["identity"] = identity
    return Outcome(
        "ok",
        summary + (f", audience {claims.get('aud')}" if claims.get("aud") else ""),
        details={"claims": shown},
    )


# ---------------------------------------------------------------------------------------------------
# Workspace


def _get(ctx: Context, path: str) -> Any:
    return ctx.session().get(
        f"{ctx.plan.base_url}{path}",
        headers={"Authorization": f"Bearer {ctx.state['token']}"},
        timeout=ctx.timeouts(),
    )


def check_membership(ctx: Context) -> Outcome:
    response = _get(ctx, "/api/2.0/preview/scim/v2/Me")
    me = _json(response)
    if response.status_code != 200 or me is None:
        return ctx.refusal("the workspace refused SCIM Me", ctx.evidence(response), None)
    ctx.state["me"] = me
    name = me.get("userName") or me.get("applicationId") or me.get("displayName")
    groups = [g.get("display") for g in me.get("groups", []) if isinstance(g, dict)]
    return Outcome(
        "ok",
        f"member as {name}" + (f" (groups: {', '.join(map(str, groups))})" if groups else ""),
        details={"user_name": name, "groups": groups},
    )


def _entitlements(me: dict[str, Any]) -> set[str] | None:
    if "entitlements" not in me:
        return None
    return {str(e.get("value")) for e in me.get("entitlements") or [] if isinstance(e, dict)}


def check_entitlement(ctx: Context) -> Outcome:
    me = ctx.state["me"]
    groups = [str(g.get("display")) for g in me.get("groups", []) if isinstance(g, dict)]
    if "admins" in groups:
        return Outcome("ok", "workspace admin (all entitlements)")
    entitlements = _entitlements(me)
    if entitlements is None:
        return Outcome("skip", "SCIM Me did not list entitlements; the SQL probe tests access")
    if "databricks-sql-access" in entitlements:
        return Outcome("ok", "Databricks SQL access granted")
    if groups:
        return Outcome(
            "warn",
            f"Databricks SQL access is not granted directly (it may come from groups {', '.join(groups)})",
            "databricks.missing_sql_entitlement",
        )
    return Outcome(
        "fail", "the identity has no Databricks SQL access entitlement", "databricks.missing_sql_entitlement"
    )


def check_warehouse(ctx: Context) -> Outcome:
    warehouse_id = ctx.plan.warehouse_id
    response = _get(ctx, f"/api/2.0/sql/warehouses/{warehouse_id}")
    data = _json(response)
    if response.status_code == 404:
        return Outcome(
            "fail",
            f"warehouse {warehouse_id} does not exist in this workspace (HTTP 404)",
            "databricks.warehouse_not_found",
        )
    if response.status_code != 200 or data is None:
        return ctx.refusal(f"cannot read warehouse {warehouse_id}", ctx.evidence(response), None)
    state = str(data.get("state", "?"))
    name = data.get("name", warehouse_id)
    ctx.state["warehouse"] = data
    if state in ("DELETED", "DELETING"):
        return Outcome("fail", f"warehouse {name} is {state}", "databricks.warehouse_not_found")
    if state in ("STOPPED", "STOPPING", "STARTING"):
        auto = data.get("auto_stop_mins")
        return Outcome(
            "warn",
            f"warehouse {name} is {state}: the first query waits for it to start"
            + (f" (auto stop after {auto} min)" if auto else ""),
            "databricks.warehouse_stopped",
        )
    return Outcome("ok", f"warehouse {name} is {state}")


def check_can_use(ctx: Context) -> Outcome:
    warehouse_id = ctx.plan.warehouse_id
    response = _get(ctx, f"/api/2.0/permissions/warehouses/{warehouse_id}")
    data = _json(response)
    if response.status_code in (401, 403):
        return Outcome(
            "skip", "cannot read the warehouse's permissions (needs CAN MANAGE); the SQL probe tests access"
        )
    if response.status_code != 200 or data is None:
        return ctx.refusal("cannot read the warehouse's permissions", ctx.evidence(response), None)
    me = ctx.state.get("me") or {}
    names = {str(me.get(k)).lower() for k in ("userName", "applicationId", "id") if me.get(k)}
    groups = {str(g.get("display")).lower() for g in me.get("groups", []) if isinstance(g, dict)} | {"users"}
    usable = {"CAN_USE", "CAN_MANAGE", "IS_OWNER"}
    for entry in data.get("access_control_list", []):
        principal = str(entry.get("user_name") or entry.get("service_principal_name") or "").lower()
        group = str(entry.get("group_name") or "").lower()
        levels = {str(p.get("permission_level")) for p in entry.get("all_permissions", [])}
        if levels & usable and ((principal and principal in names) or (group and group in groups)):
            via = f"group {group}" if group else principal
            return Outcome("ok", f"{'/'.join(sorted(levels & usable))} through {via}")
    who = next(iter(sorted(names)), "this identity")
    return Outcome(
        "fail", f"{who} has no CAN USE on warehouse {warehouse_id}", "databricks.no_can_use_warehouse"
    )


# ---------------------------------------------------------------------------------------------------
# SQL through the real connector


def _connect(ctx: Context) -> Any:
    from databricks import sql

    plan = ctx.plan
    kwargs: dict[str, Any] = {
        "server_hostname": plan.hostname,
        "http_path": plan.http_path,
        "access_token": ctx.state["token"],
        "_socket_timeout": ctx.step_timeout,
        "_retry_stop_after_attempts_count": 1,
        "_retry_stop_after_attempts_duration": ctx.step_timeout,
        "enable_telemetry": False,
    }
    if plan.port != 443:
        kwargs["_port"] = plan.port
    if plan.ca_bundle:
        kwargs["_tls_trusted_ca_file"] = plan.ca_bundle
    return sql.connect(**kwargs)


def check_sql(ctx: Context) -> Outcome:
    try:
        connection = _connect(ctx)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user()")
                row = cursor.fetchone()
        finally:
            ctx.state["sql_connection"] = connection
    except ImportError:
        return Outcome(
            "skip", "databricks-sql-connector is not installed (pip install 'brickauth[connector]')"
        )
    except Exception as exc:
        return ctx.refusal("SELECT current_user() failed", f"{type(exc).__name__}: {exc}", None)
    user = row[0] if row else "?"
    ctx.state["current_user"] = user
    return Outcome("ok", f"SELECT current_user() = {user}")


def check_table_owners(ctx: Context) -> Outcome:
    plan = ctx.plan
    connection = ctx.state["sql_connection"]
    catalog, schema = plan.catalog or "hive_metastore", plan.schema
    query = (
        f"SELECT table_name, table_owner FROM {catalog}.information_schema.tables "  # noqa: S608 (dbt target names)
        f"WHERE table_schema = '{str(schema).replace(chr(39), '')}'"
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            rows = cursor.fetchall()
    except Exception as exc:
        return Outcome(
            "skip", f"cannot list table owners in {catalog}.{schema}: {_one_line(ctx.redact(str(exc)), 160)}"
        )
    me = str(ctx.state.get("current_user", "")).lower()
    foreign = [(r[0], r[1]) for r in rows if r[1] and str(r[1]).lower() != me]
    if not foreign:
        return Outcome("ok", f"{len(rows)} tables in {catalog}.{schema}, none owned by another identity")
    shown = ", ".join(f"{t} (owner {o})" for t, o in foreign[:5])
    return Outcome(
        "warn",
        f"{len(foreign)} table(s) in {catalog}.{schema} are owned by another identity, so dbt "
        f"cannot replace them as {me}: {shown}",
        "databricks.table_not_owner",
        details={"tables": [{"table": t, "owner": o} for t, o in foreign]},
    )


# ---------------------------------------------------------------------------------------------------
# Token store


PROBE_KEY_AUTHORITY = "https://brickauth-doctor.invalid"


def check_store(ctx: Context) -> list[Outcome]:
    """The token store the library would use: keyring backend, entry size limit, a bounded read and
    write, and the cross-process lock (each keyring call and the lock wait bounded)."""
    from brickauth.errors import TokenStoreError
    from brickauth.store import StoreKey
    from brickauth.store.keyring_store import KeyringStore

    plan = ctx.plan
    needed = plan.is_u2m
    settings = plan.settings
    mode = settings.token_store if settings else "auto"
    bound = max(min(ctx.step_timeout / 4, 3.0), 0.05)
    outcomes: list[Outcome] = []
    if mode in ("file", "memory"):
        outcomes.append(Outcome("ok", f"token store: {mode} (BRICKAUTH_TOKEN_STORE); keyring not used"))
        store: Any = None
    else:
        try:
            store = KeyringStore(timeout=bound)
        except TokenStoreError as err:
            if err.code == "BA401":  # finding the backend hung
                return [Outcome("fail", f"{err.message}", "store.keyring_locked")]
            import logging

            from brickauth.store import open_store

            store_log = logging.getLogger("brickauth.store")
            level = store_log.level
            store_log.setLevel(logging.ERROR)  # its fallback warning is this finding
            try:
                fallback = open_store(
                    settings.token_store if settings else None,
                    allow_plaintext=(settings.allow_plaintext_store or None) if settings else None,
                ) if mode == "auto" else None  # fmt: skip
            finally:
                store_log.setLevel(level)
            where = f"; sign-ins are kept in {fallback.name}" if fallback is not None else ""
            outcomes.append(Outcome(
                "warn" if needed else "ok",
                f"no usable keyring backend ({err.message.split('(', 1)[-1].rstrip(').')}){where}"
                + ("" if needed else ": not needed for M2M"),
                "store.no_keyring_backend" if needed else None,
            ))  # fmt: skip
            store = fallback
        else:
            try:
                store.load(StoreKey(PROBE_KEY_AUTHORITY, "doctor-probe", flow="doctor"))  # a bounded read
                store.probe()  # a bounded write of a long entry: shows a size limit
            except TokenStoreError as err:
                cause = "store.keyring_locked" if err.code == "BA401" else None
                return [ctx.refusal(f"keyring {store.name} failed", str(err), cause)]
            chunk = store.chunk_size
            limit = (f"entries over {chunk} characters are split into chunks" if chunk
                     else "no entry size limit met")  # fmt: skip
            outcomes.append(Outcome(
                "ok", f"{store.name} answers a read and a write within {bound:g} s; {limit}",
                details={"backend": store.name, "chunk_size": chunk, "bound_s": bound},
            ))  # fmt: skip
    outcomes.append(_check_lock(ctx, store, bound))
    return outcomes


def _check_lock(ctx: Context, store: Any, bound: float) -> Outcome:
    """Take and release the cross-process lock sign-in and refresh hold (the plan's U2M key)."""
    from brickauth.errors import TokenStoreError
    from brickauth.store import StoreKey
    from brickauth.store.base import FileLocks

    key = StoreKey(PROBE_KEY_AUTHORITY, "doctor-probe", flow="doctor")
    if ctx.plan.is_u2m and ctx.plan.settings is not None:
        from brickauth.doctor.u2m import u2m_source

        key = u2m_source(ctx).key
    locks = store if store is not None else FileLocks()
    try:
        with locks.lock(key, timeout=bound):
            pass
    except TokenStoreError as err:
        return Outcome("fail", err.message, "store.lock_held")
    return Outcome("ok", f"cross-process lock taken and released within {bound:g} s")


# ---------------------------------------------------------------------------------------------------
# The plan of checks


def _needs_path(ctx: Context) -> str | None:
    return None if ctx.plan.warehouse_id else "no SQL warehouse in http_path"


def _needs_sql_path(ctx: Context) -> str | None:
    return None if ctx.plan.http_path else "no http_path"


CHECKS: tuple[Check, ...] = (
    Check("settings.host", "Workspace host", check_host),
    Check("settings.http_path", "HTTP path", check_http_path),
    Check("settings.auth", "Auth settings", check_auth),
    Check("network.dns", "DNS", check_dns, ("settings.host",), target="dns"),
    Check("network.tcp", "TCP connect", check_tcp, ("network.dns",), target="workspace"),
    Check("network.tls", "TLS and CA trust", check_tls, ("network.tcp",), target="workspace"),
    Check(
        "idp.discovery",
        "Identity provider discovery",
        check_discovery,
        ("network.tls", "settings.auth"),
        target="idp",
        skip_if=lambda ctx: "not used with a PAT" if ctx.plan.auth_type == "pat" else None,
    ),
    Check(
        "idp.client",
        "App registration (browser sign-in)",
        check_client_registration,
        ("idp.discovery",),
        target="idp",
        skip_if=lambda ctx: None if ctx.plan.is_u2m else "M2M",
    ),
    Check(
        "token.acquire", "Token acquisition", check_token, ("settings.auth", "idp.discovery"), target="idp"
    ),
    Check("token.claims", "Token claims", check_claims, ("token.acquire",)),
    Check(
        "workspace.membership",
        "Workspace membership (SCIM Me)",
        check_membership,
        ("token.acquire", "settings.host", "network.tls"),
        target="workspace",
    ),
    Check(
        "workspace.sql_entitlement",
        "Databricks SQL entitlement",
        check_entitlement,
        ("workspace.membership",),
    ),
    Check(
        "warehouse.state",
        "Warehouse exists and state",
        check_warehouse,
        ("workspace.membership", "settings.http_path"),
        target="workspace",
        skip_if=_needs_path,
    ),
    Check(
        "warehouse.can_use",
        "Warehouse CAN USE",
        check_can_use,
        ("warehouse.state",),
        target="workspace",
        skip_if=_needs_path,
    ),
    Check(
        "sql.probe",
        "SQL probe (SELECT current_user())",
        check_sql,
        ("workspace.membership", "settings.http_path", "warehouse.state"),
        target="workspace",
        skip_if=_needs_sql_path,
        timeout_factor=2.0,
    ),
    Check(
        "sql.table_owners",
        "Table owners in the dbt schema",
        check_table_owners,
        ("sql.probe",),
        target="workspace",
        skip_if=lambda ctx: None if ctx.plan.schema else "no dbt schema",
    ),
    Check("store.keyring", "Token store (keyring, lock)", check_store, target="keyring"),
)

_HANG_CAUSE = {
    "idp": "entra.unresponsive",
    "workspace": "databricks.unresponsive",
    "dns": "network.timeout",
    "keyring": "store.keyring_locked",
    "local": "network.timeout",
}


def _hang_outcome(ctx: Context, check: Check, seconds: float) -> Outcome:
    plan = ctx.plan
    target = ctx.state.pop("talking_to", check.target)
    cause = _HANG_CAUSE[target]
    if target == "idp" and not plan.is_azure_flow:
        cause, where = "databricks.unresponsive", f"the workspace {plan.hostname}"
    elif target == "idp":
        where = f"the identity provider {plan.authority_hostname}"
    elif target == "workspace":
        where = f"the workspace {plan.hostname}"
    elif target == "keyring":
        where = "the keyring"
    else:
        where = "the network"
    return Outcome("fail", f"no answer from {where} within {seconds:.1f} s (hang)", cause)


def run_checks(
    plan: Plan,
    *,
    checks: Sequence[Check] = CHECKS,
    kb: KnowledgeBase | None = None,
    redactor: Redactor | None = None,
    clock: Clock = SYSTEM_CLOCK,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    on_start: Callable[[Check], None] | None = None,
    on_finding: Callable[[Finding], None] | None = None,
    refresh: bool = False,
) -> list[Finding]:
    kb = kb or load()
    redact = redactor or Redactor(plan.secrets())
    for secret in plan.secrets():
        redact.add(secret)
    ctx = Context(plan, kb, redact, clock, step_timeout, refresh=refresh)
    started = clock.monotonic()
    worst: dict[str, Status] = {}
    findings: list[Finding] = []

    def emit(check: Check, outcome: Outcome, duration: float) -> None:
        cause = kb[outcome.cause_id] if outcome.cause_id and outcome.cause_id in kb else None
        finding = Finding(
            check=check.id,
            title=check.title,
            status=outcome.status,
            summary=redact(outcome.summary),
            cause_id=outcome.cause_id,
            cause_title=cause.title if cause else None,
            meaning=cause.explanation if cause else None,
            fix=cause.fix if cause else None,
            links=list(cause.links) if cause else [],
            duration_ms=int(duration * 1000),
            details=json.loads(redact(json.dumps(outcome.details, default=str))),
        )
        findings.append(finding)
        if STATUS_RANK[outcome.status] >= STATUS_RANK[worst.get(check.id, "ok")]:
            worst[check.id] = outcome.status
        if on_finding:
            on_finding(finding)

    for check in checks:
        reason = check.skip_if(ctx)
        if reason is None:
            blocked = [dep for dep in check.requires if worst.get(dep, "skip") in ("fail", "skip")]
            if blocked:
                reason = f"skipped: {blocked[0]} did not pass"
        else:
            reason = f"not applicable: {reason}"
        if reason is None:
            remaining = deadline - (clock.monotonic() - started)
            if remaining <= 0.05:
                reason = f"skipped: doctor's {deadline:.0f} s deadline reached"
        if reason is not None:
            emit(check, Outcome("skip", reason), 0.0)
            continue
        ctx.state.pop("talking_to", None)
        if on_start:
            on_start(check)
        budget = min(step_timeout * check.timeout_factor, remaining)
        t0 = clock.monotonic()
        returned = run_bounded(partial(check.func, ctx), budget, name="brickauth-doctor-check")
        elapsed = clock.monotonic() - t0
        if returned is None:
            emit(check, _hang_outcome(ctx, check, budget), elapsed)
            continue
        if returned.error is not None:
            emit(check, _exception_outcome(ctx, check, returned.error), elapsed)
            continue
        result = returned.get()
        for outcome in result if isinstance(result, list) else [result]:
            emit(check, outcome, elapsed)
    connection = ctx.state.get("sql_connection")
    if connection is not None:
        run_bounded(connection.close, min(step_timeout, 2.0), name="brickauth-doctor-close")
    return findings


def _exception_outcome(ctx: Context, check: Check, exc: BaseException) -> Outcome:
    text = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ == "ReadTimeout" or "Read timed out" in text:
        return _hang_outcome(ctx, check, ctx.step_timeout)
    return ctx.refusal(f"{check.title} failed", text, None)


def top_finding(findings: Sequence[Finding]) -> Finding | None:
    """The first failure in check order (the root cause: later ones depend on it), else the first warning."""
    for status in ("fail", "warn"):
        for finding in findings:
            if finding.status == status:
                return finding
    return None
