"""A workload OIDC issuer standing in for GitHub Actions, Azure DevOps and a Kubernetes cluster.

Discovery (``/.well-known/openid-configuration``) and JWKS (``/.well-known/jwks``) as every OIDC issuer
serves them, plus the two CI request endpoints real clients call:
- GitHub Actions: ``GET {ACTIONS_ID_TOKEN_REQUEST_URL}&audience=A`` with ``Authorization: Bearer
  {ACTIONS_ID_TOKEN_REQUEST_TOKEN}`` -> ``{"count": 1, "value": "<jwt>"}`` (what databricks-sdk's
  ``GitHubOIDCTokenSupplier`` and azure-identity read).
- Azure DevOps: ``POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=ID`` with
  ``Authorization: Bearer {SYSTEM_ACCESSTOKEN}`` -> ``{"oidcToken": "<jwt>"}`` (azure-identity's
  ``AzurePipelinesCredential``); the audience is fixed to ``api://AzureADTokenExchange``.
Kubernetes projected tokens are files: tests call ``mint()`` and write the token themselves.
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
from brickauth_sandbox.signing import SigningKey

GITHUB_PATH = "/_apis/distributedtask/hubs/Actions/idtoken"
ADO_PATH = "/_apis/distributedtask/hubs/build/oidctoken"
ADO_AUDIENCE = "api://AzureADTokenExchange"


@dataclass
class Workload:
    """A CI job (or pod) allowed to ask for tokens: its request bearer and the ``sub`` it gets."""

    subject: str
    request_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    default_audience: str = "https://github.com/brickauth-sandbox"
    extra_claims: dict[str, Any] = field(default_factory=dict)


class OidcIssuer:
    """WSGI app + Python API: ``mint(subject, audience, lifetime)`` signs a subject token."""

    def __init__(self, *, base_url: str, signing_key: SigningKey, clock: Clock) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_key = signing_key
        self.clock = clock
        self.subject_token_seconds = 300.0  # tests shorten or lengthen it
        self.workloads: list[Workload] = []

    @property
    def issuer(self) -> str:
        return self.base_url

    def add_workload(self, subject: str, **kw: Any) -> Workload:
        workload = Workload(subject=subject, **kw)
        self.workloads.append(workload)
        return workload

    def mint(
        self,
        subject: str,
        audience: str,
        *,
        lifetime: float | None = None,
        issuer: str | None = None,
        issued_at: float | None = None,
        **claims: Any,
    ) -> str:
        now = self.clock.now() if issued_at is None else issued_at
        life = self.subject_token_seconds if lifetime is None else lifetime
        body: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + life),
            "jti": str(uuid.uuid4()),
            **claims,
        }
        return self.signing_key.sign(body)

    # -- HTTP -------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        log: dict[str, Any] = environ.setdefault("brickauth.log", {})
        path = request.path
        if path == "/.well-known/openid-configuration":
            response = _json(
                {
                    "issuer": self.issuer,
                    "jwks_uri": f"{self.base_url}/.well-known/jwks",
                    "subject_types_supported": ["public", "pairwise"],
                    "response_types_supported": ["id_token"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf"],
                }
            )
        elif path == "/.well-known/jwks":
            response = _json({"keys": [self.signing_key.jwk()]})
        elif path == GITHUB_PATH and request.method == "GET":
            log["grant_type"] = "github_actions_id_token"
            response = self._issue(request, log, request.args.get("audience"), field_name="value")
        elif path == ADO_PATH and request.method == "POST":
            log["grant_type"] = "azure_devops_oidc_token"
            response = self._issue(request, log, ADO_AUDIENCE, field_name="oidcToken")
        else:
            response = Response("Not Found", 404, content_type="text/plain")
        return response(environ, start_response)

    def _issue(
        self, request: Request, log: dict[str, Any], audience: str | None, *, field_name: str
    ) -> Response:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        workload = next(
            (
                w
                for w in self.workloads
                if scheme.lower() == "bearer"
                and value
                and hmac.compare_digest(w.request_token.encode(), value.strip().encode())
            ),
            None,
        )
        if workload is None:
            log["error_code"] = "unauthorized"
            # unconfirmed: the exact body GitHub sends for a bad request token (clients only look at
            # the status).
            return _json({"message": "Unauthorized"}, 401)
        token = self.mint(workload.subject, audience or workload.default_audience, **workload.extra_claims)
        log["principal"] = workload.subject
        body: dict[str, Any] = {field_name: token}
        if field_name == "value":
            body["count"] = len(token)
        return _json(body)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json; charset=utf-8")
