"""databricks-m2m: a Databricks service principal's OAuth secret at ``https://<host>/oidc/v1/token``.

client_credentials grant, scope ``all-apis``, client authentication ``client_secret_basic``.
"""

from __future__ import annotations

import logging
from typing import Any

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings
from brickauth.errors import IdentityProviderError
from brickauth.http import HttpClient, post_form
from brickauth.idp_errors import from_oauth
from brickauth.lifecycle import access_token_from_response
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
        self._http = http or HttpClient(timeout=settings.timeout, verify=settings.verify)
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> DatabricksM2MSource:
        return cls(settings, clock=clock)

    def describe(self) -> str:
        client = self.settings.client_id or "?"
        return f"databricks-m2m client {client[:8]}.. at {self.settings.host}"

    def fetch(self) -> AccessToken:
        s = self.settings
        assert s.client_id is not None and s.client_secret is not None
        started = self._clock.now()
        response = post_form(
            self.token_url,
            {"grant_type": "client_credentials", "scope": " ".join(self.scopes)},
            client=self._http,
            auth=(s.client_id, s.client_secret.reveal()),
        )
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = response.text[:2000]
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            if response.status_code == 200:
                raise IdentityProviderError(
                    f"{self.token_url} answered 200 without an access token.",
                    fix="Check that the host is a Databricks workspace URL.",
                    code="BA248",
                )
            raise from_oauth(body, response.status_code)
        scopes = str(body.get("scope") or " ".join(self.scopes)).split()
        return access_token_from_response(body, started, scopes)
