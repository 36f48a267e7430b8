"""azure-m2m: an Entra ID service principal (client credentials) through msal.

Credentials: a client secret, a PEM certificate with its private key (thumbprint computed with
cryptography), or a federated token file re-read on every acquisition (workload identity). msal's own
token cache is bypassed: ``brickauth.lifecycle`` decides when to refresh.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings, azure_credential_kind
from brickauth.entra import AZURE_DATABRICKS_SCOPE
from brickauth.errors import BrickauthError, IdentityProviderError
from brickauth.flows.credential_files import check_federated_token_file, load_certificate
from brickauth.hosts import is_known_authority_host
from brickauth.http import NO_RETRY, HttpClient
from brickauth.idp_errors import first_sentence, from_entra
from brickauth.lifecycle import access_token_from_response
from brickauth.store.token_cache import CacheIdentity
from brickauth.token import AccessToken

if TYPE_CHECKING:
    import msal

log = logging.getLogger(__name__)


def short_id(value: str | None) -> str:
    return f"{value[:8]}.." if value else "?"


class AzureM2MSource:
    """``TokenSource`` for azure-m2m."""

    def __init__(
        self, settings: Settings, *, http: HttpClient | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        if settings.client_id is None or settings.tenant_id is None:
            raise ValueError("AzureM2MSource needs resolved settings with client_id and tenant_id")
        self.settings = settings
        self.kind = azure_credential_kind(settings)
        self.scopes = list(settings.scopes or (AZURE_DATABRICKS_SCOPE,))
        self.authority = f"{settings.authority_host}/{settings.tenant_id}"
        self._http = http or HttpClient(timeout=settings.timeout, verify=settings.verify)
        self._clock = clock
        self._app: msal.ConfidentialClientApplication | None = None
        self._app_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK, http: HttpClient | None = None
    ) -> AzureM2MSource:
        return cls(settings, http=http, clock=clock)

    def describe(self) -> str:
        s = self.settings
        return f"azure-m2m client {short_id(s.client_id)} tenant {short_id(s.tenant_id)} ({self.kind})"

    def cache_identity(self) -> CacheIdentity:
        """For the machine-wide token cache (``brickauth.store.token_cache``): the credential part is the
        secret, the certificate file's bytes, or the federated token file's path (re-read each time)."""
        s = self.settings
        if self.kind == "client_certificate_path":
            try:
                cert = Path(s.client_certificate_path or "").read_bytes()
            except OSError:
                cert = b""
            password = s.client_certificate_password.reveal() if s.client_certificate_password else ""
            credential = b"certificate\0" + cert + b"\0" + password.encode()
        elif self.kind == "federated_token_file":
            credential = b"federated\0" + (s.federated_token_file or "").encode()
        else:
            credential = b"secret\0" + (s.client_secret.reveal() if s.client_secret else "").encode()
        return CacheIdentity("azure-m2m", s.host.url if s.host else "", s.client_id or "", self.authority,
                             tuple(self.scopes), credential=credential)

    def _credential(self) -> Any:
        s = self.settings
        if self.kind == "client_certificate_path":
            assert s.client_certificate_path is not None
            key_pem, thumbprint, cert_pem = load_certificate(
                s.client_certificate_path,
                s.client_certificate_password,
                s.source_of("client_certificate_path") or "",
            )
            return {
                "private_key": key_pem.decode(),
                "thumbprint": thumbprint,
                "public_certificate": cert_pem.decode(),
            }
        if self.kind == "federated_token_file":
            path, source = s.federated_token_file or "", s.source_of("federated_token_file") or ""
            # A callable: msal calls it on every token request, so a rotated file is picked up.
            return {"client_assertion": lambda: check_federated_token_file(path, source)}
        if self.kind == "none":  # fleet: a CI job's OIDC token (GitHub Actions / Azure DevOps) to Entra
            from brickauth.flows.subject_tokens import ENTRA_EXCHANGE_AUDIENCE, find_source

            ci = find_source(
                filepath=None, token_env=None, http=self._http, platform=s.platform, ci_only=True
            )
            if ci is None:
                raise ValueError("azure-m2m: no credential (settings validation should have refused this)")
            return {"client_assertion": lambda: ci.token(ENTRA_EXCHANGE_AUDIENCE)}
        assert s.client_secret is not None
        return s.client_secret.reveal()

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._app_lock:
            if self._app is None:
                import msal

                from brickauth import logging_utils

                logging_utils.install()
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.settings.client_id,
                        client_credential=self._credential(),
                        authority=self.authority,
                        http_client=self._http,
                        instance_discovery=is_known_authority_host(self.settings.authority_host),
                        token_cache=_no_token_cache(),
                    )
                except ValueError as exc:  # msal: the authority's metadata could not be loaded
                    raise self._authority_error(exc) from None
            return self._app

    def _authority_error(self, exc: ValueError) -> IdentityProviderError:
        """msal hides Entra's answer (e.g. AADSTS90002 tenant not found): ask once more and classify."""
        url = f"{self.authority}/v2.0/.well-known/openid-configuration"
        try:
            response = self._http.request("GET", url, retry=NO_RETRY)
            body = response.json()
        except (BrickauthError, ValueError):
            body = None
        if isinstance(body, dict) and body.get("error"):
            return from_entra(body)
        return IdentityProviderError(
            f"Entra authority {self.authority} could not be used: {first_sentence(str(exc))[:120]}",
            fix="Check AZURE_TENANT_ID and AZURE_AUTHORITY_HOST "
            "(https://login.microsoftonline.com by default).",
            code="BA205",
        )

    def fetch(self) -> AccessToken:
        app = self._application()
        started = self._clock.now()
        result = app.acquire_token_for_client(scopes=self.scopes)
        if not isinstance(result, dict) or "access_token" not in result:
            raise from_entra(result if isinstance(result, dict) else {})
        return access_token_from_response(result, started, self.scopes)


def _no_token_cache() -> Any:
    import msal

    class NoTokenCache(msal.TokenCache):  # type: ignore[misc]
        """Keeps nothing: every acquire_token_for_client goes to Entra; our lifecycle caches."""

        def add(self, event: Any, now: Any = None) -> None:
            return None

    return NoTokenCache()
