"""A generic OAuth 2.0 client for the token endpoint: authorization code + PKCE (RFC 7636), refresh,
client credentials, and error classification. Works against any RFC 6749 / RFC 8414 server.

Errors are classified for the token lifecycle: ``invalid_grant`` -> ``InvalidGrantError`` (sign in
again), ``invalid_client``/``unauthorized_client`` -> ``InvalidClientError`` (permanent), 5xx/429 ->
``IdentityProviderError(transient=True)``, connection trouble -> ``NetworkError``. No secret (code,
verifier, tokens, client secret) appears in any message or log line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.errors import IdentityProviderError
from brickauth.http import HttpClient, RetryPolicy, post_form
from brickauth.oauth.metadata import ServerMetadata
from brickauth.secret import Secret
from brickauth.token import AccessToken, decode_jwt_claims, expires_at_for

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class TokenResponse:
    access_token: Secret
    token_type: str
    expires_at: float
    obtained_at: float
    refresh_token: Secret | None = None
    id_token: Secret | None = None
    scope: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_access_token(self) -> AccessToken:
        return AccessToken(
            token=self.access_token.reveal(),
            expires_at=self.expires_at,
            token_type=self.token_type,
            scopes=self.scope,
            refresh_token=self.refresh_token.reveal() if self.refresh_token else None,
        )

    def account(self) -> str | None:
        """Who signed in, from the ID token or a JWT access token (unverified; display only)."""
        for token in (self.id_token, self.access_token):
            if token is None:
                continue
            claims = decode_jwt_claims(token.reveal())
            for name in ("preferred_username", "upn", "email", "unique_name", "sub"):
                value = claims.get(name)
                if isinstance(value, str) and value:
                    return value
        return None


@dataclass(frozen=True)
class TokenAnswer:
    """A token endpoint's answer as sent: HTTP status, the JSON body (or text), when it was asked."""

    status_code: int
    body: Any = field(repr=False)
    started: float


def classify_error(status: int, body: Mapping[str, Any] | str | None, issuer: str) -> IdentityProviderError:
    """An ``IdentityProviderError`` subclass for an error answer from a token endpoint."""
    from brickauth import idp_errors

    return idp_errors.from_oauth(body, status, issuer=issuer)


class OAuthClient:
    """Token endpoint calls for one client of one authorization server."""

    def __init__(
        self,
        metadata: ServerMetadata,
        client_id: str,
        *,
        client_secret: Secret | None = None,
        http: HttpClient | None = None,
        issuer_label: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.metadata = metadata
        self.client_id = client_id
        self._secret = client_secret
        self.http = http or HttpClient()
        self._label = issuer_label or urlsplit(metadata.token_endpoint).netloc
        self._clock = clock

    # -- the front channel -------------------------------------------------------------------
    def authorization_url(
        self,
        *,
        redirect_uri: str,
        scopes: tuple[str, ...] | list[str],
        state: str,
        code_challenge: str,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        params.update(extra or {})
        endpoint = self.metadata.authorization_endpoint
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)

    # -- the back channel ----------------------------------------------------------------------
    def exchange_code(self, code: Secret, *, redirect_uri: str, code_verifier: Secret) -> TokenResponse:
        return self._token_request({
            "grant_type": "authorization_code",
            "code": code.reveal(),
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier.reveal(),
        })

    def refresh(self, refresh_token: Secret, *, scopes: tuple[str, ...] | list[str] = ()) -> TokenResponse:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
        if scopes:
            data["scope"] = " ".join(scopes)
        response = self._token_request(data)
        if response.refresh_token is None:  # RFC 6749 6: the server may keep the old refresh token
            response = TokenResponse(**{**response.__dict__, "refresh_token": refresh_token})
        return response

    def client_credentials(self, *, scopes: tuple[str, ...] | list[str] = ()) -> TokenResponse:
        data = {"grant_type": "client_credentials"}
        if scopes:
            data["scope"] = " ".join(scopes)
        return self._token_request(data)

    def post(self, data: Mapping[str, str], *, retry: RetryPolicy | None = None) -> TokenAnswer:
        """One token endpoint request, its answer as sent (for flows that read refusals themselves, e.g.
        an RFC 8693 token exchange under a federation policy). The client authenticates with
        ``client_secret_basic`` when it has a secret, else sends its ``client_id`` (when it has one)."""
        endpoint = self.metadata.token_endpoint
        auth: tuple[str, str] | None = None
        form = dict(data)
        if self._secret is not None:
            auth = (self.client_id, self._secret.reveal())  # client_secret_basic (RFC 6749 2.3.1)
        elif self.client_id:
            form["client_id"] = self.client_id
        started = self._clock.now()
        resp = post_form(endpoint, form, client=self.http, auth=auth, retry=retry)
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.text[:2000]
        log.debug("token endpoint %s answered %s for grant %s", urlsplit(endpoint).netloc,
                  resp.status_code, form["grant_type"])
        return TokenAnswer(resp.status_code, body, started)

    def _token_request(self, data: dict[str, str]) -> TokenResponse:
        endpoint = self.metadata.token_endpoint
        answer = self.post(data)
        resp, body, started = answer, answer.body, answer.started
        if resp.status_code == 200 and not (isinstance(body, dict) and body.get("access_token")):
            raise IdentityProviderError(
                f"{endpoint} answered 200 without an access token.",
                fix="Check that the host is a Databricks workspace (or the issuer) URL.",
                code="BA248",
            )
        if resp.status_code != 200 or not isinstance(body, dict):
            raise classify_error(resp.status_code, body, self._label)
        return self._parse(body, started)

    def _parse(self, body: dict[str, Any], started: float) -> TokenResponse:
        access = str(body["access_token"])
        expires_at = expires_at_for(access, started, body.get("expires_in"))
        scope = body.get("scope")
        return TokenResponse(
            access_token=Secret(access),
            token_type=str(body.get("token_type") or "Bearer"),
            expires_at=expires_at,
            obtained_at=started,
            refresh_token=Secret(str(body["refresh_token"])) if body.get("refresh_token") else None,
            id_token=Secret(str(body["id_token"])) if body.get("id_token") else None,
            scope=tuple(scope.split()) if isinstance(scope, str) else (),
            extra={k: v for k, v in body.items()
                   if k not in ("access_token", "refresh_token", "id_token")},
        )
