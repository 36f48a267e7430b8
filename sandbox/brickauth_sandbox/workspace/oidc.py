"""The workspace's OAuth server (Databricks OIDC): discovery, JWKS, authorize (U2M sign-in) and token.

Grants: authorization_code with PKCE S256 (required), refresh_token (with ``offline_access``; the
refresh token lives for the app's refresh token TTL from sign-in), client_credentials with Databricks
OAuth secrets (client_secret_basic or client_secret_post), and RFC 8693 token exchange: a federation
policy turns a foreign JWT into a workspace token; without one, a token the workspace already accepts
(an Entra token for its tenant) comes back unchanged when ``return_original_token_if_authenticated``
is set, and anything else is refused, so the SQL connector goes on with its original token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jwt
from werkzeug.wrappers import Request, Response

from brickauth.clock import Clock
from brickauth_sandbox.lifetimes import TokenLifetimes
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.workspace import errors
from brickauth_sandbox.workspace.auth import Authenticator, check_ip, principal_key_of_entra
from brickauth_sandbox.workspace.errors import OAuthError, Refusal
from brickauth_sandbox.workspace.model import FederationPolicy, OAuthAppIntegration, Workspace

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"

OIDC_SCOPES = {"openid", "email", "profile"}
SP_SCOPES = {"all-apis", "sql", "offline_access"} | OIDC_SCOPES


@dataclass
class _PendingSignIn:
    app: OAuthAppIntegration
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    code_challenge: str
    nonce: str | None
    expires_at: float


@dataclass
class _CodeGrant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    principal: str
    nonce: str | None
    expires_at: float
    used: bool = False


@dataclass
class _RefreshGrant:
    client_id: str
    principal: str
    scopes: tuple[str, ...]
    expires_at: float  # the app's refresh token TTL, counted from sign-in


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _same_redirect(a: str, b: str) -> bool:
    """Registered redirect URLs match exactly, give or take a trailing slash on an empty path."""

    def norm(u: str) -> str:
        p = urlsplit(u)
        return urlunsplit((p.scheme.lower(), p.netloc.lower(), p.path.rstrip("/"), p.query, ""))

    return norm(a) == norm(b)


def _with_query(uri: str, params: dict[str, str]) -> str:
    p = urlsplit(uri)
    query = "&".join(x for x in (p.query, urlencode(params)) if x)
    return urlunsplit((p.scheme, p.netloc, p.path, query, p.fragment))


class OidcServer:
    """State (pending sign-ins, codes, refresh tokens) lives here; ``reset()`` forgets it."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        base_url: str,
        signing_key: SigningKey,
        authenticator: Authenticator,
        clock: Clock,
        lifetimes: TokenLifetimes,
    ) -> None:
        self.workspace = workspace
        self.base_url = base_url.rstrip("/")
        self.issuer = f"{self.base_url}/oidc"
        self.signing_key = signing_key
        self.authenticator = authenticator
        self.clock = clock
        self.lifetimes = lifetimes
        self._lock = threading.Lock()
        self._pending: dict[str, _PendingSignIn] = {}
        self._codes: dict[str, _CodeGrant] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        # RFC 7009 revocation endpoint (/oidc/v1/revoke), announced in the metadata; a test may turn it
        # off to see a client cope with a server that offers none.
        self.offers_revocation = True

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            self._codes.clear()
            self._refresh.clear()
            self.offers_revocation = True

    def active_refresh_tokens(self, principal: str | None = None) -> int:
        """How many refresh tokens (of ``principal``, or of anyone) can still be used."""
        now = self.clock.now()
        with self._lock:
            return sum(1 for g in self._refresh.values()
                       if g.expires_at > now and (principal is None or g.principal == principal.lower()))

    def revoke(self, request: Request, log: dict[str, Any]) -> Response:
        """RFC 7009: forget a refresh token. 200 for any token (valid, unknown or already revoked)."""
        if not self.offers_revocation:
            return Response("Not Found", 404)
        token = request.form.get("token", "")
        client_id, _secret = self._client(request)
        log["grant_type"] = "revoke"
        log["client_id"] = client_id
        if not token:
            return OAuthError("invalid_request", "Missing token").response()
        with self._lock:
            grant = self._refresh.get(token)
            if grant is not None and grant.client_id == client_id:
                del self._refresh[token]
                log["principal"] = grant.principal
                log["revoked"] = True
        return Response("", 200, [("Cache-Control", "no-store")])

    # --- discovery ---------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        o = self.issuer
        return {
            "authorization_endpoint": f"{o}/v1/authorize",
            "token_endpoint": f"{o}/v1/token",
            "issuer": o,
            "jwks_uri": f"{o}/jwks.json",
            **({"revocation_endpoint": f"{o}/v1/revoke"} if self.offers_revocation else {}),
            "scopes_supported": ["all-apis", "sql", "offline_access", "openid", "email", "profile"],
            "response_types_supported": ["code", "id_token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": [
                GRANT_CLIENT_CREDENTIALS,
                GRANT_AUTHORIZATION_CODE,
                GRANT_REFRESH_TOKEN,
                GRANT_TOKEN_EXCHANGE,
            ],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "iat",
                "exp",
                "jti",
                "name",
                "family_name",
                "given_name",
                "preferred_username",
            ],
            "request_uri_parameter_supported": False,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.signing_key.jwk()]}

    # --- tokens ------------------------------------------------------------------------------------

    def mint_access_token(self, principal: str, client_id: str, scopes: tuple[str, ...]) -> tuple[str, int]:
        now = int(self.clock.now())
        ttl = max(1, int(self.lifetimes.access_token_seconds))
        claims = {
            "client_id": client_id,
            "scope": " ".join(scopes),
            "sub": principal,
            "iss": self.issuer,
            "aud": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
        }
        return self.signing_key.sign(claims), ttl

    def _id_token(self, principal: str, client_id: str, nonce: str | None) -> str:
        now = int(self.clock.now())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": principal,
            "aud": client_id,
            "iat": now,
            "exp": now + int(self.lifetimes.access_token_seconds),
            "preferred_username": principal,
        }
        if nonce:
            claims["nonce"] = nonce
        return self.signing_key.sign(claims)

    def _token_body(
        self,
        principal: str,
        client_id: str,
        scopes: tuple[str, ...],
        *,
        refresh_expires_at: float | None = None,
        nonce: str | None = None,
    ) -> dict[str, Any]:
        token, ttl = self.mint_access_token(principal, client_id, scopes)
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(scopes),
        }
        if "offline_access" in scopes and refresh_expires_at is not None:
            refresh = "doau" + secrets.token_hex(32)
            with self._lock:
                self._refresh[refresh] = _RefreshGrant(client_id, principal, scopes, refresh_expires_at)
            body["refresh_token"] = refresh
        if "openid" in scopes:
            body["id_token"] = self._id_token(principal, client_id, nonce)
        return body

    # --- /oidc/v1/authorize ------------------------------------------------------------------------

    def authorize(self, request: Request, log: dict[str, Any]) -> Response:
        if request.method == "POST":
            return self._sign_in(request, log)
        args = request.args
        client_id = args.get("client_id", "")
        log["client_id"] = client_id
        app = self.workspace.oauth_apps.get(client_id)
        if app is None:
            return errors.unknown_oauth_app(client_id, self.workspace.account_id).response()
        redirect_uri = args.get("redirect_uri", "")
        if not any(_same_redirect(redirect_uri, r) for r in app.redirect_urls):
            return errors.redirect_not_registered(redirect_uri, client_id).response()
        state = args.get("state")

        def back(error: str, description: str) -> Response:
            params = {"error": error, "error_description": description}
            if state is not None:
                params["state"] = state
            return _redirect(_with_query(redirect_uri, params))

        if args.get("response_type") != "code":
            return back("unsupported_response_type", "Only response_type=code is supported")
        challenge = args.get("code_challenge", "")
        if not challenge:
            return back("invalid_request", "code_challenge is required (PKCE)")
        if args.get("code_challenge_method", "plain") != "S256":
            return back("invalid_request", "code_challenge_method must be S256")
        scopes = tuple(args.get("scope", "all-apis offline_access").split())
        unknown = [s for s in scopes if s not in app.scopes and s not in OIDC_SCOPES]
        if unknown:
            return back("invalid_scope", f"Invalid scope: {' '.join(unknown)}")
        txn = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[txn] = _PendingSignIn(
                app,
                redirect_uri,
                state,
                scopes,
                challenge,
                args.get("nonce"),
                self.clock.now() + self.lifetimes.authorization_code_seconds,
            )
        return _sign_in_page(txn, app.name)

    def _sign_in(self, request: Request, log: dict[str, Any]) -> Response:
        form = request.form
        txn = form.get("txn", "")
        with self._lock:
            pending = self._pending.get(txn)
        if pending is None or pending.expires_at <= self.clock.now():
            return _message_page("Your sign-in session expired. Start the sign-in again from your tool.", 400)
        username = form.get("username", "").strip().lower()
        principal = self.workspace.principals.get(username)
        ok = (
            principal is not None
            and principal.kind == "user"
            and principal.password is not None
            and hmac.compare_digest(principal.password.encode(), form.get("password", "").encode())
        )
        if not ok or principal is None:
            return _sign_in_page(txn, pending.app.name, error="Invalid email or password.", username=username)
        if not principal.active:
            return _message_page(f"User {principal.key} is not active in this workspace.", 403)
        log["principal"] = principal.key
        log["client_id"] = pending.app.client_id
        code = "dcod" + secrets.token_urlsafe(32)
        with self._lock:
            self._pending.pop(txn, None)
            self._codes[code] = _CodeGrant(
                pending.app.client_id,
                pending.redirect_uri,
                pending.code_challenge,
                pending.scopes,
                principal.key,
                pending.nonce,
                self.clock.now() + self.lifetimes.authorization_code_seconds,
            )
        params = {"code": code}
        if pending.state is not None:
            params["state"] = pending.state
        return _redirect(_with_query(pending.redirect_uri, params))

    # --- /oidc/v1/token ----------------------------------------------------------------------------

    def token(self, request: Request, log: dict[str, Any]) -> Response:
        try:
            check_ip(self.workspace, request.environ)
            body = self._token(request, log)
        except OAuthError as exc:
            log["error_code"] = exc.error
            return exc.response()
        except Refusal as exc:
            log["error_code"] = exc.code
            return exc.rest_response()
        return Response(_json(body), 200, [("Cache-Control", "no-store")], content_type="application/json")

    def _client(self, request: Request) -> tuple[str, str | None]:
        """(client_id, client_secret or None) from Basic auth or the form."""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                raw = base64.b64decode(header[6:].strip()).decode()
            except (ValueError, UnicodeDecodeError):
                raise errors.invalid_client() from None
            cid, sep, secret = raw.partition(":")
            if not sep:
                raise errors.invalid_client()
            return cid, secret
        return request.form.get("client_id", ""), request.form.get("client_secret")

    def _token(self, request: Request, log: dict[str, Any]) -> dict[str, Any]:
        if request.method != "POST":
            raise OAuthError("invalid_request", "The token endpoint accepts POST only", 405)
        grant = request.form.get("grant_type", "")
        log["grant_type"] = grant
        if grant == GRANT_CLIENT_CREDENTIALS:
            return self._client_credentials(request, log)
        if grant == GRANT_AUTHORIZATION_CODE:
            return self._authorization_code(request, log)
        if grant == GRANT_REFRESH_TOKEN:
            return self._refresh_token(request, log)
        if grant == GRANT_TOKEN_EXCHANGE:
            return self._token_exchange(request, log)
        if not grant:
            raise OAuthError("invalid_request", "Missing grant_type")
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type: {grant}")

    def _client_credentials(self, request: Request, log: dict[str, Any]) -> dict[str, Any]:
        client_id, secret = self._client(request)
        log["client_id"] = client_id
        sp = self.workspace.account_service_principals.get(client_id)
        if sp is None or not secret:
            raise errors.invalid_client()
        now = self.clock.now()
        if not any(
            hmac.compare_digest(s.value.encode(), secret.encode()) and s.expires_at > now for s in sp.secrets
        ):
            raise errors.invalid_client()
        scopes = tuple(request.form.get("scope", "all-apis").split()) or ("all-apis",)
        unknown = [s for s in scopes if s not in SP_SCOPES]
        if unknown:
            raise OAuthError("invalid_scope", f"Invalid scope: {' '.join(unknown)}")
        log["principal"] = client_id
        body = self._token_body(client_id, client_id, tuple(s for s in scopes if s != "offline_access"))
        return body

    def _app_client(self, request: Request, log: dict[str, Any]) -> OAuthAppIntegration:
        client_id, secret = self._client(request)
        log["client_id"] = client_id
        app = self.workspace.oauth_apps.get(client_id)
        if app is None:
            raise errors.invalid_client()
        if app.confidential:
            if (
                not secret
                or app.client_secret is None
                or not hmac.compare_digest(app.client_secret.encode(), secret.encode())
            ):
                raise errors.invalid_client()
        return app

    def _authorization_code(self, request: Request, log: dict[str, Any]) -> dict[str, Any]:
        app = self._app_client(request, log)
        form = request.form
        code = form.get("code", "")
        with self._lock:
            grant = self._codes.get(code)
            reused = grant is not None and grant.used
            if grant is not None:
                grant.used = True
        if grant is None or reused or grant.client_id != app.client_id:
            raise OAuthError("invalid_grant", "Authorization code is invalid or has already been used")
        if grant.expires_at <= self.clock.now():
            raise OAuthError("invalid_grant", "Authorization code has expired")
        if not _same_redirect(form.get("redirect_uri", ""), grant.redirect_uri):
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
        verifier = form.get("code_verifier", "")
        if not verifier:
            raise OAuthError("invalid_request", "code_verifier is required (PKCE)")
        if not hmac.compare_digest(_s256(verifier), grant.code_challenge):
            raise OAuthError(
                "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge"
            )
        log["principal"] = grant.principal
        ttl = app.refresh_token_ttl_minutes * 60.0
        return self._token_body(
            grant.principal,
            app.client_id,
            grant.scopes,
            refresh_expires_at=self.clock.now() + ttl,
            nonce=grant.nonce,
        )

    def _refresh_token(self, request: Request, log: dict[str, Any]) -> dict[str, Any]:
        app = self._app_client(request, log)
        token = request.form.get("refresh_token", "")
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None or grant.client_id != app.client_id or grant.expires_at <= self.clock.now():
            # seen: databricks/cli#667, #709 (oauth2: "invalid_request" "Refresh token is invalid")
            raise OAuthError("invalid_request", "Refresh token is invalid")
        principal = self.workspace.principals.get(grant.principal)
        if principal is None or not principal.active:
            raise OAuthError("invalid_grant", "Refresh token is invalid: the user is no longer active")
        log["principal"] = grant.principal
        return self._token_body(
            grant.principal, app.client_id, grant.scopes, refresh_expires_at=grant.expires_at
        )

    # --- RFC 8693 token exchange -------------------------------------------------------------------

    def _token_exchange(self, request: Request, log: dict[str, Any]) -> dict[str, Any]:
        form = request.form
        subject = form.get("subject_token", "")
        subject_type = form.get("subject_token_type", "")
        client_id = form.get("client_id") or None
        if client_id:
            log["client_id"] = client_id
        if not subject:
            raise OAuthError("invalid_request", "Missing subject_token")
        if subject_type not in (TOKEN_TYPE_JWT, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN):
            raise OAuthError("invalid_request", f"Unsupported subject_token_type: {subject_type}")
        try:
            claims = jwt.decode(subject, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_request", "subject_token is not a valid JWT") from None
        scopes = tuple(form.get("scope", "all-apis").split()) or ("all-apis",)
        for policy in self.workspace.federation_policies:
            principal = self._match_policy(policy, subject, claims, client_id)
            if principal is not None:
                log["principal"] = principal
                return {
                    **self._token_body(principal, client_id or "token-exchange", scopes),
                    "issued_token_type": TOKEN_TYPE_ACCESS_TOKEN,
                }
        if form.get("return_original_token_if_authenticated", "").lower() == "true":
            try:
                verified = self.authenticator.verify_entra(subject)
            except Refusal:
                verified = None
            if verified is not None:
                key = principal_key_of_entra(verified)
                if key in self.workspace.principals:
                    log["principal"] = key
                    remaining = max(0, int(float(verified.get("exp", 0)) - self.clock.now()))
                    return {
                        "access_token": subject,
                        "token_type": "Bearer",
                        "expires_in": remaining,
                        "issued_token_type": TOKEN_TYPE_JWT,
                    }
        mismatch = self._policy_mismatch(subject, claims, client_id)
        if mismatch is not None:
            log["error_code"] = f"federation_{mismatch[0]}"
            raise OAuthError("invalid_request", mismatch[1])
        # unconfirmed: no real body found (databricks-sql-python#904/#928: the connector drops it);
        # RFC 8693 shape. The doctor matches the exchange grant and the OAuth error, not this sentence.
        raise OAuthError(
            "invalid_request",
            f"Token exchange failed: no federation policy of account '{self.workspace.account_id}' "
            f"accepts tokens from issuer '{claims.get('iss', '')}'",
        )

    def _policy_mismatch(
        self, token: str, claims: dict[str, Any], client_id: str | None
    ) -> tuple[str, str] | None:
        """Why the service principal's federation policies refuse ``token``: (kind, description) with
        kind in issuer/audience/subject/expired, or None (no policy for this client: the generic error).

        unconfirmed: Databricks' exact sentences for these refusals are not published and no captured
        body was found (docs: dev-tools/auth/oauth-federation-policy describe the checks: issuer, then
        audiences, then the subject claim); these follow the RFC 8693 error shape and name the claim
        that failed, which is what brickauth classifies on."""
        policies = [p for p in self.workspace.federation_policies
                    if client_id is not None and p.service_principal == client_id]
        if not policies:
            return None
        iss = str(claims.get("iss", ""))
        same_issuer = [p for p in policies if p.issuer == iss]
        if not same_issuer:
            return "issuer", (f"Token exchange failed: issuer '{iss}' of the subject token is not trusted by "
                              f"any federation policy of service principal '{client_id}'")
        aud = claims.get("aud")
        auds = [str(a) for a in (aud if isinstance(aud, list) else [aud])]
        with_audience = [p for p in same_issuer
                         if any(a in (p.audiences or [self.workspace.account_id]) for a in auds)]
        if not with_audience:
            return "audience", (f"Token exchange failed: audience '{', '.join(auds)}' of the subject "
                                f"token is "
                                f"not accepted by the federation policy of service principal '{client_id}'")
        sub = str(claims.get("sub", ""))
        with_subject = [p for p in with_audience if p.subject is None or p.subject == sub]
        if not with_subject:
            return "subject", (f"Token exchange failed: subject '{sub}' of the subject token does not "
                               f"match the "
                               f"federation policy of service principal '{client_id}'")
        if float(claims.get("exp", 0)) <= self.clock.now():
            return "expired", "Token exchange failed: the subject token has expired"
        return None

    def _match_policy(
        self, policy: FederationPolicy, token: str, claims: dict[str, Any], client_id: str | None
    ) -> str | None:
        if claims.get("iss") != policy.issuer:
            return None
        if policy.service_principal is not None and client_id != policy.service_principal:
            return None
        key = policy.signing_key
        if key is None and policy.issuer in self.authenticator.entra_issuers():
            key = self.authenticator.entra.signing_key
        if key is None:
            return None
        audiences = policy.audiences or [self.workspace.account_id]
        try:
            verified: dict[str, Any] = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=["RS256"],
                audience=audiences,
                issuer=policy.issuer,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return None
        if float(verified.get("exp", 0)) <= self.clock.now():
            return None
        if policy.service_principal is not None:
            if policy.subject is not None and verified.get("sub") != policy.subject:
                return None
            return policy.service_principal
        subject = verified.get(policy.subject_claim)
        return str(subject).lower() if subject else None


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body)


def _redirect(location: str) -> Response:
    return Response(
        "", 302, [("Location", location), ("Cache-Control", "no-store")], content_type="text/html"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:24rem;margin:4rem auto}}label,input,button{{display:block;
width:100%;margin:.4rem 0}}.error{{color:#b00}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def _sign_in_page(txn: str, app_name: str, *, error: str | None = None, username: str = "") -> Response:
    err = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = (
        f"<p>Sign in to continue to {html.escape(app_name)}.</p>{err}"
        '<form method="post" action="/oidc/v1/authorize">'
        f'<input type="hidden" name="txn" value="{html.escape(txn)}">'
        '<label for="username">Email</label>'
        f'<input id="username" name="username" type="email" autocomplete="username" '
        f'value="{html.escape(username)}" required>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        '<button id="sign-in" type="submit">Sign in</button></form>'
    )
    return Response(
        _PAGE.format(title="Sign in to Databricks", body=body),
        200,
        [("Cache-Control", "no-store")],
        content_type="text/html; charset=utf-8",
    )


def _message_page(message: str, status: int) -> Response:
    body = f'<p class="error" role="alert">{html.escape(message)}</p>'
    return Response(
        _PAGE.format(title="Databricks", body=body), status, content_type="text/html; charset=utf-8"
    )
