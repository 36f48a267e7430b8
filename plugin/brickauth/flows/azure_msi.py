"""azure-msi: an Azure managed identity (system- or user-assigned) through msal's ManagedIdentityClient.

msal picks the endpoint from the process environment (msal 1.3x ``managed_identity.py``): Service
Fabric, App Service / Functions (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``), Azure ML
(``MSI_ENDPOINT`` + ``MSI_SECRET``), Azure Arc, else IMDS at ``AZURE_POD_IDENTITY_AUTHORITY_HOST``
(default ``http://169.254.169.254``). Cloud Shell is not a managed identity in msal (it is a user
sign-in): use azure-cli there. Which of these msal will call is read by ``brickauth.config``
(``Settings.platform.msi_endpoint()``), for messages.

Which identity (docs/fleet.md#azure-msi), first that is set:
1. ``msi_resource_id`` / ``msi_object_id`` / ``msi_client_id`` (explicit, ``BRICKAUTH_MSI_*``, profile
   ``azure_msi_*``);
2. ``client_id`` (explicit, ``AZURE_CLIENT_ID``, ``ARM_CLIENT_ID``, profile ``azure_client_id``), the
   names azure-identity and the Terraform provider / Go SDK (with ``ARM_USE_MSI``) use, except that a
   client id from the environment is ignored when the environment also holds an Entra client
   credential (``AZURE_CLIENT_SECRET``, a certificate or a federated token file): then it names an app
   registration (azure-m2m), not a managed identity;
3. otherwise the system-assigned identity.

msal's token cache is bypassed (``brickauth.lifecycle`` decides when to refresh) and every request
goes through ``brickauth.http`` (timeouts; a short connect timeout, as azure-identity's 0.3 s IMDS
probe, so that a machine without an endpoint fails in seconds).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings
from brickauth.entra import AZURE_DATABRICKS_RESOURCE_ID
from brickauth.errors import IdentityProviderError, NetworkError
from brickauth.http import HttpClient, RetryPolicy
from brickauth.token import AccessToken, expires_at_for

if TYPE_CHECKING:
    import msal

log = logging.getLogger(__name__)

AZURE_DATABRICKS_RESOURCE = AZURE_DATABRICKS_RESOURCE_ID
CONNECT_TIMEOUT = 2.0
_ENTRA_CREDENTIALS = ("client_secret", "client_certificate_path", "federated_token_file")


def identity_of(settings: Settings) -> tuple[str, str | None, str]:
    """(kind, id, where from): kind in system/client_id/object_id/resource_id."""
    for name, kind in (
        ("msi_resource_id", "resource_id"),
        ("msi_object_id", "object_id"),
        ("msi_client_id", "client_id"),
    ):
        value = getattr(settings, name)
        if value:
            return kind, str(value), settings.source_of(name) or "explicit"
    source = settings.source_of("client_id") or ""
    if settings.client_id:
        leftovers = [n for n in _ENTRA_CREDENTIALS if (settings.source_of(n) or "").startswith("env:")]
        if source.startswith("env:") and leftovers:
            log.info(
                "azure-msi: ignoring %s (the environment also sets %s: an app registration's id, not a "
                "managed identity); using the system-assigned identity",
                source.removeprefix("env:"),
                settings.source_of(leftovers[0]),
            )
        else:
            return "client_id", settings.client_id, source
    return "system", None, "default"


class _MsiHttp(HttpClient):
    """msal calls ``get(url, params=, headers=)`` with no timeout: give one, with a short connect part."""

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> Any:
        return self.request(
            "GET",
            url,
            params=params,
            headers=headers,
            timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout),
        )


class AzureMSISource:
    """``TokenSource`` for azure-msi."""

    def __init__(
        self, settings: Settings, *, http: HttpClient | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.settings = settings
        self.kind, self.identity, self.identity_source = identity_of(settings)
        self.resource = (
            settings.scopes[0].removesuffix("/.default") if settings.scopes else AZURE_DATABRICKS_RESOURCE
        )
        self._http = http or _MsiHttp(
            timeout=settings.timeout, verify=settings.verify, retry=RetryPolicy(attempts=3, deadline=15.0)
        )
        self._clock = clock
        self._client: msal.ManagedIdentityClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> AzureMSISource:
        return cls(settings, clock=clock)

    def describe(self) -> str:
        shape, where = self.settings.platform.msi_endpoint()
        who = (
            "system-assigned"
            if self.kind == "system"
            else f"user-assigned {self.kind} {_short(self.identity)}"
        )
        return f"azure-msi {who} via {shape} ({where})"

    def _managed_identity(self) -> Any:
        import msal

        if self.kind == "system":
            return msal.SystemAssignedManagedIdentity()
        return msal.UserAssignedManagedIdentity(**{self.kind: self.identity})

    def _msal_client(self) -> msal.ManagedIdentityClient:
        with self._lock:
            if self._client is None:
                import msal

                from brickauth import logging_utils
                from brickauth.flows.azure_m2m import _no_token_cache

                logging_utils.install()
                self._client = msal.ManagedIdentityClient(
                    self._managed_identity(),
                    http_client=self._http,
                    token_cache=_no_token_cache(),
                )
            return self._client

    def fetch(self) -> AccessToken:
        client = self._msal_client()
        started = self._clock.now()
        shape, where = self.settings.platform.msi_endpoint()
        try:
            result = client.acquire_token_for_client(resource=self.resource)
        except NetworkError as exc:
            raise self._unreachable(shape, where, exc) from None
        except ValueError as exc:  # msal: a non-JSON answer from the endpoint
            raise IdentityProviderError(
                f"The managed identity endpoint ({shape}, {where}) answered something that is not JSON "
                f"({type(exc).__name__}).",
                fix="Check that the variable points at the managed identity endpoint of this host.",
                code="BA272",
            ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise self._refused(shape, where, result if isinstance(result, dict) else {})
        token = str(result["access_token"])
        expires_in = result.get("expires_in")
        # App Service answers an absolute expires_on that msal turns into expires_in with its own
        # clock; the JWT's exp (read by expires_at_for) is what counts when it is earlier.
        expires_at = expires_at_for(
            token, started, float(expires_in) if expires_in and float(expires_in) > 0 else None
        )
        return AccessToken(
            token=token,
            expires_at=expires_at,
            token_type=str(result.get("token_type") or "Bearer"),
            scopes=(f"{self.resource}/.default",),
        )

    # -- errors -----------------------------------------------------------------------------------

    def _who(self) -> str:
        if self.kind == "system":
            return "the system-assigned identity"
        return f"user-assigned identity {self.kind} {self.identity} (from {_label(self.identity_source)})"

    def _unreachable(self, shape: str, where: str, exc: NetworkError) -> IdentityProviderError:
        # azure-identity: "ManagedIdentityCredential authentication unavailable, no response from the
        # IMDS endpoint." (Azure/azure-sdk-for-python#35452)
        found = re.search(r"https?://\S+", exc.message)
        host = urlsplit(found.group(0)).netloc if found else ""
        return IdentityProviderError(
            f"No managed identity endpoint answered ({shape} at {host or where}, from {where}): this process "
            "does not run on an Azure resource with a managed identity.",
            fix="Run on an Azure VM/AKS/App Service with a managed identity assigned, or choose another "
            "auth_type (unset ARM_USE_MSI / BRICKAUTH_AUTH_TYPE=azure-msi); on AKS without IMDS use "
            "workload identity (AZURE_FEDERATED_TOKEN_FILE, azure-m2m).",
            code="BA270",
            transient=False,
        )

    def _refused(self, shape: str, where: str, result: dict[str, Any]) -> IdentityProviderError:
        error = str(result.get("error") or "")
        description = str(result.get("error_description") or "")
        # IMDS: 400 {"error":"invalid_request","error_description":"Identity not found"}
        # (Azure/aad-pod-identity#778); App Service: 400 "Unable to load the proper Managed Identity."
        # (Azure/azure-sdk-for-net#43691), which msal turns into error "invalid_scope", "400, <message>".
        not_found = (
            "identity not found" in description.lower()
            or "unable to load the proper managed identity" in (description.lower())
        )
        if not_found:
            if self.kind == "system":
                fix = (
                    "Enable the system-assigned identity of this resource (portal: Identity > System "
                    "assigned > "
                    "On), or set BRICKAUTH_MSI_CLIENT_ID to the client id of a user-assigned identity "
                    "assigned to it."
                )
            else:
                fix = (
                    f"Assign that identity to this resource (az vm identity assign --identities "
                    f"<resource id>), "
                    f"or correct {_label(self.identity_source)}: list the assigned ones with "
                    "az vm identity show -g <group> -n <vm>."
                )
            return IdentityProviderError(
                f"The managed identity endpoint ({shape}) has no {self._who()} on this host.",
                fix=fix,
                code="BA271",
                idp_error=error or None,
            )
        if description.lower().startswith("401") or "x-identity-header" in description.lower():
            return IdentityProviderError(
                f"The App Service identity endpoint ({where}) refused the request: {description[:120]}.",
                fix="Use the IDENTITY_HEADER value App Service sets for this site (do not copy it "
                "between sites).",
                code="BA272",
                idp_error=error or None,
            )
        return IdentityProviderError(
            f"The managed identity endpoint ({shape}, {where}) refused {self._who()}: "
            f"{error or 'error'} {description[:160]}".rstrip()
            + ".",
            fix=f"Check that the resource {self.resource} is right and that the identity exists; run "
            "brickauth doctor.",
            code="BA272",
            idp_error=error or None,
            transient=error in ("temporarily_unavailable", "server_error"),
        )


def _short(value: str | None) -> str:
    if not value:
        return "?"
    return f"{value[:8]}.." if len(value) > 12 and not value.startswith("/") else value


def _label(source: str) -> str:
    return source.removeprefix("env:") if source.startswith("env:") else source
