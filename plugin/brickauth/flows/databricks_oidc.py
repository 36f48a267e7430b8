"""databricks-oidc: Databricks workload identity federation (RFC 8693 token exchange).

A subject token from the platform (``brickauth.flows.subject_tokens``: a file, an environment variable,
GitHub Actions or Azure DevOps) is exchanged at ``https://<host>/oidc/v1/token`` under a federation
policy (docs: dev-tools/auth/oauth-federation-policy, oauth-federation-exchange)::

    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token_type=urn:ietf:params:oauth:token-type:jwt
    subject_token=<jwt>  scope=all-apis  [client_id=<service principal application id>]

With ``client_id`` a service principal federation policy applies (workload identity federation);
without it, an account federation policy maps the token's subject to a user or service principal.
GitHub Actions tokens are requested for ``token_audience`` (``DATABRICKS_TOKEN_AUDIENCE``), else the
workspace's token endpoint URL (databricks-sdk's default when no audience is configured).
"""

from __future__ import annotations

import logging
from typing import Any

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings
from brickauth.errors import ConfigurationError, IdentityProviderError
from brickauth.flows.databricks_m2m import DATABRICKS_M2M_SCOPE
from brickauth.flows.subject_tokens import SubjectTokenSource, find_source
from brickauth.http import HttpClient
from brickauth.idp_errors import first_sentence, from_oauth
from brickauth.lifecycle import access_token_from_response
from brickauth.oauth.client import OAuthClient
from brickauth.oauth.metadata import ServerMetadata
from brickauth.token import AccessToken, decode_jwt_claims

log = logging.getLogger(__name__)

GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"


class DatabricksOIDCSource:
    """``TokenSource`` for databricks-oidc."""

    def __init__(
        self, settings: Settings, *, http: HttpClient | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        if settings.host is None:
            raise ValueError("DatabricksOIDCSource needs resolved settings with a host")
        self.settings = settings
        self.token_url = f"{settings.host.url}/oidc/v1/token"
        self.audience = settings.token_audience or self.token_url
        self.scopes = tuple(settings.scopes or (DATABRICKS_M2M_SCOPE,))
        self._http = http or HttpClient(timeout=settings.timeout, verify=settings.verify)
        self._clock = clock
        # The one OAuth client; this flow reads the exchange's refusals itself (federation policies).
        endpoint = ServerMetadata(issuer=f"{settings.host.url}/oidc", authorization_endpoint="",
                                  token_endpoint=self.token_url)
        self._oauth = OAuthClient(endpoint, settings.client_id or "", http=self._http, clock=clock)
        self.subject = self._find_subject_source()

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> DatabricksOIDCSource:
        return cls(settings, clock=clock)

    def _find_subject_source(self) -> SubjectTokenSource:
        s = self.settings
        source = find_source(
            filepath=(s.oidc_token_filepath, s.source_of("oidc_token_filepath") or "explicit")
            if s.oidc_token_filepath
            else None,
            token_env=(s.oidc_token_env, s.source_of("oidc_token_env") or "explicit")
            if s.oidc_token_env
            else None,
            http=self._http,
            platform=s.platform,
        )
        if source is None:
            raise ConfigurationError(
                "databricks-oidc has no subject token: no DATABRICKS_OIDC_TOKEN_FILEPATH, "
                "DATABRICKS_OIDC_TOKEN(_ENV), "
                "GitHub Actions or Azure DevOps OIDC token in this environment.",
                fix="Set DATABRICKS_OIDC_TOKEN_FILEPATH to the token file (Kubernetes: the projected service "
                "account token), or in GitHub Actions give the job `permissions: id-token: write`.",
                code="BA187",
            )
        return source

    def describe(self) -> str:
        client = self.settings.client_id
        who = f"service principal {client[:8]}.." if client else "account federation (no client id)"
        return f"databricks-oidc {who} at {self.settings.host} with {self.subject.name}"

    def fetch(self) -> AccessToken:
        subject = self.subject.token(self.audience)
        claims = decode_jwt_claims(subject)
        self._check_expiry(claims)
        answer = self._oauth.post({
            "grant_type": GRANT_TOKEN_EXCHANGE,
            "subject_token_type": TOKEN_TYPE_JWT,
            "subject_token": subject,
            "scope": " ".join(self.scopes),
        })  # fmt: skip
        body = answer.body
        if answer.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise self._refused(body, answer.status_code, claims)
        scopes = str(body.get("scope") or " ".join(self.scopes)).split()
        return access_token_from_response(body, answer.started, scopes)

    def _check_expiry(self, claims: dict[str, Any]) -> None:
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp <= self._clock.now():
            from brickauth.durations import format_duration

            ago = format_duration(self._clock.now() - float(exp))
            raise IdentityProviderError(
                f"The subject token from {self.subject.name} expired {ago} ago (issuer {claims.get('iss')}).",
                fix="Get a fresh token: Kubernetes rotates projected tokens (mount it as a projected volume, "
                "do not copy it); CI tokens are fetched per job (do not cache them in a file between jobs).",
                code="BA276",
            )

    def _refused(self, body: Any, status: int, claims: dict[str, Any]) -> IdentityProviderError:
        description = (
            first_sentence(str(body.get("error_description") or "")) if isinstance(body, dict) else ""
        )
        lowered = description.lower()
        client = self.settings.client_id or "(none: account federation)"
        iss, aud, sub = claims.get("iss"), claims.get("aud"), claims.get("sub")
        policy = f"databricks account service-principal-federation-policy list {client}"
        if isinstance(body, dict) and body.get("error") and status < 500:
            # unconfirmed: Databricks' sentences for these refusals (see brickauth_sandbox.workspace.oidc
            # _policy_mismatch); we classify on the claim the description names, first match wins.
            refusals = (
                ("issuer" in lowered, "BA273",
                 f"no federation policy of service principal {client} trusts issuer '{iss}'.",
                 f"Create a policy with issuer {iss} (check with: {policy})."),
                ("audience" in lowered, "BA274",
                 f"audience '{aud}' of the subject token is not in the federation policy of service "
                 f"principal {client}.",
                 f"Add '{aud}' to the policy's audiences, or set DATABRICKS_TOKEN_AUDIENCE to an audience "
                 f"the policy lists (check with: {policy})."),
                ("subject" in lowered and "expired" not in lowered, "BA275",
                 f"subject '{sub}' does not match the federation policy of service principal {client}.",
                 f"Set the policy's subject to '{sub}' (GitHub: repo:<org>/<repo>:environment:<env> when "
                 f"the job sets environment:), check with: {policy}."),
                ("expired" in lowered, "BA276",
                 f"the subject token from {self.subject.name} has expired.",
                 "Get a fresh token (Kubernetes rotates projected tokens; CI tokens are per job)."),
                ("federation policy" in lowered, "BA278",
                 f"no federation policy accepts tokens from issuer '{iss}' (client id {client}).",
                 "Set DATABRICKS_CLIENT_ID to the service principal's application id that has the "
                 f"policy, or create one (check with: {policy})."),
            )  # fmt: skip
            for applies, code, what, fix in refusals:
                if applies:
                    return IdentityProviderError(f"Token exchange refused: {what}", fix=fix, code=code,
                                                 idp_error=str(body.get("error")))  # fmt: skip
        return from_oauth(body, status)
