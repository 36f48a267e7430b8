"""The workspace token exchange of Entra tokens, done once per token instead of once per connection.

databricks-sql-connector 4.1.4 and later (4.4.0 and 4.9.0 included) wrap every credentials provider in
a token-federation layer. For a JWT whose issuer host is not the workspace's (every Entra token) it
POSTs an RFC 8693 exchange to ``https://{host}/oidc/v1/token`` (grant ``token-exchange``, scope
``sql``, ``return_original_token_if_authenticated=true``) for each new connection, caches the answer
in that connection until the JWT's ``exp`` minus one minute, and falls back to the original token when
the exchange fails. A token with under a minute left is exchanged again on every request.

For an Entra token that the workspace accepts itself (Azure Databricks) that exchange answers the
same token or an error: one round trip per connection for nothing. Its purpose is token federation: a
workspace that wants its own token in place of a foreign one gets it through a federation policy.

brickauth keeps that purpose and drops the waste:

- for a workspace on an Azure Databricks domain (``*.azuredatabricks.net`` and the sovereign clouds'),
  which takes Entra tokens as they are, no exchange at all;
- for any other host (custom domains, private endpoints, the sandbox), ``ExchangedSource`` makes the
  same exchange once per token, right after the token is fetched (so the machine-wide cache stores the
  result: one exchange per token lifetime for the whole machine), and uses the workspace's token when
  it answers one, else the original token, as the connector does;
- the provider hands the connector (``p()`` with no argument) a header factory whose header name the
  federation layer does not recognise (``authorization``; HTTP header names are case-insensitive), so
  the layer passes it through to every request without exchanging it again.
"""

from __future__ import annotations

import logging
from typing import Any

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.errors import BrickauthError
from brickauth.lifecycle import TokenSource
from brickauth.token import AccessToken, decode_jwt_claims, expires_at_for

log = logging.getLogger(__name__)

GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
EXCHANGE_SCOPE = "sql"  # what the connector asks for
# The header name given to the SQL connector: not "Authorization", which its federation layer
# exchanges per connection (databricks/sql/auth/token_federation.py); servers read either.
CONNECTOR_HEADER = "authorization"


def issued_by_workspace(token: str, hostname: str) -> bool:
    """True when the JWT's issuer is the workspace itself (no exchange needed), or it is no JWT."""
    from urllib.parse import urlsplit

    claims = decode_jwt_claims(token)
    if not claims:
        return True
    issuer = str(claims.get("iss", ""))
    return (urlsplit(issuer).hostname or "").lower() == hostname.lower()


class ExchangedSource:
    """Wraps an Entra ``TokenSource``: each fetched token is exchanged once at the workspace."""

    def __init__(self, inner: TokenSource, host_url: str, hostname: str, *, http: Any = None,
                 timeout: float = 30.0, verify: str | bool = True, clock: Clock = SYSTEM_CLOCK) -> None:
        self.inner = inner
        self.token_url = f"{host_url.rstrip('/')}/oidc/v1/token"
        self._hostname = hostname
        self._http = http
        self._timeout = timeout
        self._verify = verify
        self._clock = clock
        self._oauth: Any = None  # the workspace token endpoint's OAuthClient, built on first use
        self.exchanges = 0  # exchange requests made (for tests and benchmarks)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def describe(self) -> str:
        return self.inner.describe()

    def fetch(self) -> AccessToken:
        token = self.inner.fetch()
        if issued_by_workspace(token.token, self._hostname):
            return token
        return self._exchange(token)

    def _client(self) -> Any:
        """One ``OAuthClient`` for the workspace's token endpoint, made when the first exchange runs."""
        if self._oauth is None:
            from brickauth.http import HttpClient
            from brickauth.oauth.client import OAuthClient
            from brickauth.oauth.metadata import ServerMetadata

            http = self._http or HttpClient(timeout=self._timeout, verify=self._verify)
            endpoint = ServerMetadata(issuer="", authorization_endpoint="", token_endpoint=self.token_url)
            self._oauth = OAuthClient(endpoint, "", http=http, clock=self._clock)
        return self._oauth

    def _exchange(self, token: AccessToken) -> AccessToken:
        from brickauth.http import NO_RETRY

        self.exchanges += 1
        started = self._clock.now()
        try:
            answer = self._client().post({
                "grant_type": GRANT_TOKEN_EXCHANGE,
                "subject_token": token.token,
                "subject_token_type": SUBJECT_TOKEN_TYPE_JWT,
                "scope": EXCHANGE_SCOPE,
                "return_original_token_if_authenticated": "true",
            }, retry=NO_RETRY)  # fmt: skip
            response = answer
            body = answer.body if answer.status_code == 200 else None
            if isinstance(body, str):
                raise ValueError("not JSON")
        except (BrickauthError, ValueError) as exc:
            log.debug("token exchange at %s failed (%s); using the Entra token", self.token_url,
                      exc.code if isinstance(exc, BrickauthError) else "not JSON")
            return token
        if not isinstance(body, dict):
            log.debug("token exchange at %s answered %s; using the Entra token", self.token_url,
                      response.status_code)
            return token
        exchanged = body.get("access_token")
        if not isinstance(exchanged, str) or not exchanged or exchanged == token.token:
            log.debug("token exchange at %s gave %s; using the Entra token", self.token_url,
                      "the same token back" if exchanged == token.token else "no token")
            return token
        expires_in = body.get("expires_in")
        seconds = float(expires_in) if isinstance(expires_in, (int, float)) else None
        expires_at = min(token.expires_at, expires_at_for(exchanged, started, seconds))
        log.debug("token exchange at %s: using the workspace's token", self.token_url)
        return AccessToken(token=exchanged, expires_at=expires_at,
                           token_type=str(body.get("token_type") or "Bearer"), scopes=token.scopes)
