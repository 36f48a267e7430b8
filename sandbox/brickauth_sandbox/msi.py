"""The managed identity endpoint of one Azure host: IMDS shape and App Service shape, plain HTTP.

Real clients reach it through the variables they honour (msal 1.3x ``managed_identity.py``):
- IMDS (VMs, AKS pod identity): ``GET {AZURE_POD_IDENTITY_AUTHORITY_HOST or http://169.254.169.254}
  /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id|object_id|msi_res_id]``
  with ``Metadata: true``; answer ``{"access_token", "expires_in", "expires_on", "resource",
  "token_type", ...}`` (``expires_in`` relative, as IMDS sends it).
- App Service / Functions: ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R[&client_id|
  object_id|mi_res_id]`` with ``X-IDENTITY-HEADER: {IDENTITY_HEADER}``; answer with ``expires_on``
  as epoch seconds (msal derives ``expires_in`` from its own clock).

Error bodies, as seen:
- IMDS, no such identity on the host (wrong user-assigned id, or no system-assigned identity):
  HTTP 400 ``{"error":"invalid_request","error_description":"Identity not found"}``
  (Azure/aad-pod-identity#778, #1054).
- App Service, unknown identity: HTTP 400 ``{"statusCode":400,"message":"Unable to load the proper
  Managed Identity.","correlationId":"..."}`` (Azure/azure-sdk-for-net#43691).
- IMDS without ``Metadata: true``: HTTP 400 ``{"error":"invalid_request","error_description":
  "Required metadata header not specified"}`` (Azure IMDS docs, error handling table).
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from brickauth.clock import Clock
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID, AppRegistration, Tenant
from brickauth_sandbox.entra.tokens import ScopeRequest, TokenIssuer
from brickauth_sandbox.lifetimes import TokenLifetimes

IMDS_PATH = "/metadata/identity/oauth2/token"
APP_SERVICE_PATH = "/msi/token"
KNOWN_RESOURCES = {
    AZURE_DATABRICKS_RESOURCE_ID,
    f"api://{AZURE_DATABRICKS_RESOURCE_ID}",
    "https://management.azure.com/",
    "https://management.azure.com",
}


@dataclass
class ManagedIdentity:
    """A managed identity: its service principal is an enterprise app whose app id is the client id."""

    client_id: str
    object_id: str
    resource_id: str
    display_name: str
    user_assigned: bool


@dataclass
class ManagedIdentityHost:
    """The Azure resource the process runs on and the identities assigned to it."""

    system_assigned: ManagedIdentity | None = None
    user_assigned: list[ManagedIdentity] = field(default_factory=list)
    # App Service's per-site secret (IDENTITY_HEADER); None: App Service shape disabled.
    identity_header: str | None = field(default_factory=lambda: secrets.token_hex(16), repr=False)

    def find(
        self, client_id: str | None, object_id: str | None, resource_id: str | None
    ) -> ManagedIdentity | None:
        if client_id or object_id or resource_id:
            for mi in self.user_assigned + ([self.system_assigned] if self.system_assigned else []):
                if (
                    (client_id and mi.client_id.lower() == client_id.lower())
                    or (object_id and mi.object_id.lower() == object_id.lower())
                    or (resource_id and mi.resource_id.lower() == resource_id.lower())
                ):
                    return mi
            return None
        if self.system_assigned is not None:
            return self.system_assigned
        # IMDS: with exactly one user-assigned identity and no system-assigned one, that one answers
        # (msal's docstring notes this service-side behaviour).
        return self.user_assigned[0] if len(self.user_assigned) == 1 else None


class ManagedIdentityService:
    """WSGI app for the managed identity endpoint (both shapes on one plain-HTTP address)."""

    def __init__(
        self,
        *,
        host: ManagedIdentityHost,
        tenant: Callable[[], Tenant],
        issuer: Callable[[], TokenIssuer],
        clock: Clock,
        lifetimes: TokenLifetimes,
    ) -> None:
        self.host = host
        self._tenant = tenant
        self._issuer = issuer
        self.clock = clock
        self.lifetimes = lifetimes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        log: dict[str, Any] = environ.setdefault("brickauth.log", {})
        if request.path == IMDS_PATH:
            log["shape"] = "imds"
            response = self._imds(request, log)
        elif request.path == APP_SERVICE_PATH:
            log["shape"] = "app_service"
            response = self._app_service(request, log)
        else:
            response = Response("Not Found", 404, content_type="text/plain")
        return response(environ, start_response)

    # -- shapes -----------------------------------------------------------------------------------

    def _imds(self, request: Request, log: dict[str, Any]) -> Response:
        if request.headers.get("Metadata", "").lower() != "true":
            return _json(
                {"error": "invalid_request", "error_description": "Required metadata header not specified"},
                400,
            )
        args = request.args
        mi = self.host.find(args.get("client_id"), args.get("object_id"), args.get("msi_res_id"))
        if mi is None:
            log["error_code"] = "identity_not_found"
            return _json({"error": "invalid_request", "error_description": "Identity not found"}, 400)
        resource = args.get("resource", "")
        if resource not in KNOWN_RESOURCES:
            log["error_code"] = "invalid_resource"
            return _json(
                {
                    "error": "invalid_resource",
                    "error_description": (
                        f"AADSTS500011: The resource principal named {resource} was not found in the tenant."
                    ),
                },
                400,
            )
        token, expires_on, lifetime = self._token(mi, resource, log)
        return _json(
            {
                "access_token": token,
                "client_id": mi.client_id,
                "expires_in": str(lifetime),
                "expires_on": str(expires_on),
                "ext_expires_in": str(lifetime),
                "not_before": str(int(self.clock.now())),
                "resource": resource,
                "token_type": "Bearer",
            },
            200,
        )

    def _app_service(self, request: Request, log: dict[str, Any]) -> Response:
        expected = self.host.identity_header
        given = request.headers.get("X-IDENTITY-HEADER", "")
        if expected is None or not given or not hmac.compare_digest(given.encode(), expected.encode()):
            log["error_code"] = "bad_identity_header"
            return _json(
                {
                    "statusCode": 401,
                    "message": "Unauthorized: missing or invalid X-IDENTITY-HEADER.",
                    "correlationId": str(uuid.uuid4()),
                },
                401,
            )
        args = request.args
        mi = self.host.find(args.get("client_id"), args.get("object_id"), args.get("mi_res_id"))
        if mi is None:
            log["error_code"] = "identity_not_found"
            return _json(
                {
                    "statusCode": 400,
                    "message": "Unable to load the proper Managed Identity.",
                    "correlationId": str(uuid.uuid4()),
                },
                400,
            )
        resource = args.get("resource", "")
        if resource not in KNOWN_RESOURCES:
            log["error_code"] = "invalid_resource"
            return _json(
                {
                    "statusCode": 500,
                    "message": "An unexpected error occured while fetching the AAD Token.",
                    "correlationId": str(uuid.uuid4()),
                },
                500,
            )
        token, expires_on, _ = self._token(mi, resource, log)
        return _json(
            {
                "access_token": token,
                "expires_on": expires_on,
                "resource": resource,
                "token_type": "Bearer",
                "client_id": mi.client_id,
            },
            200,
        )

    def _token(self, mi: ManagedIdentity, resource: str, log: dict[str, Any]) -> tuple[str, int, int]:
        tenant = self._tenant()
        now = self.clock.now()
        lifetime = int(self.lifetimes.access_token_seconds)
        app = tenant.apps.get(mi.client_id) or AppRegistration(
            app_id=mi.client_id,
            display_name=mi.display_name,
            home_tenant_id=tenant.tenant_id,
            sp_object_id=mi.object_id,
        )
        scope = ScopeRequest(
            raw=resource,
            resource=resource,
            resource_app_id=AZURE_DATABRICKS_RESOURCE_ID
            if AZURE_DATABRICKS_RESOURCE_ID in resource
            else None,
            permissions=(".default",),
            oidc=frozenset(),
        )
        token = self._issuer().access_token(
            tenant=tenant,
            app=app,
            scope=scope,
            permissions=frozenset(),
            now=now,
            lifetime=lifetime,
            sign_in=None,
            client_auth="2",
        )
        log["principal"] = mi.client_id
        log["grant_type"] = "managed_identity"
        return token, int(now + lifetime), lifetime


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status, content_type="application/json; charset=utf-8")
