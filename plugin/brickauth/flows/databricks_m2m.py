"""databricks-m2m: a Databricks service principal's OAuth secret at ``https://<host>/oidc/v1/token``.

client_credentials grant, scope ``all-apis``, client authentication ``client_secret_basic``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings
from brickauth.http import HttpClient
from brickauth.oauth.client import OAuthClient
from brickauth.oauth.metadata import ServerMetadata
from brickauth.store.token_cache import CacheIdentity
from brickauth.token import AccessToken

log = logging.getLogger(__name__)

DATABRICKS_M2M_SCOPE = "all-apis"


class DatabricksM2MSource:
    """``TokenSource`` for databricks-m2m."""

    def __init__(
        self, settings: Settings, *, http: HttpClient | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        if settings.host is None or settings.client_id is None or settings.client_secret is None:
            raise ValueError(
                "DatabricksM2MSource needs resolved settings with host, client_id, client_secret"
            )
        self.settings = settings
        self.token_url = f"{settings.host.url}/oidc/v1/token"
        self.scopes = tuple(settings.scopes or (DATABRICKS_M2M_SCOPE,))
        self._clock = clock
        # The workspace's own token endpoint; the same OAuth client as every other flow.
        endpoint = ServerMetadata(issuer=f"{settings.host.url}/oidc", authorization_endpoint="",
                                  token_endpoint=self.token_url)
        self._client = OAuthClient(
            endpoint, settings.client_id, client_secret=settings.client_secret,
            http=http or HttpClient(timeout=settings.timeout, verify=settings.verify), clock=clock,
        )  # fmt: skip

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK, http: HttpClient | None = None
    ) -> DatabricksM2MSource:
        return cls(settings, http=http, clock=clock)

    def describe(self) -> str:
        client = self.settings.client_id or "?"
        return f"databricks-m2m client {client[:8]}.. at {self.settings.host}"

    def cache_identity(self) -> CacheIdentity:
        """For the machine-wide token cache (``brickauth.store.token_cache``)."""
        s = self.settings
        assert s.host is not None and s.client_id is not None and s.client_secret is not None
        return CacheIdentity("databricks-m2m", s.host.url, s.client_id, "", self.scopes,
                             credential=s.client_secret.reveal().encode())

    def fetch(self) -> AccessToken:
        token = self._client.client_credentials(scopes=self.scopes).to_access_token()
        return token if token.scopes else replace(token, scopes=self.scopes)
