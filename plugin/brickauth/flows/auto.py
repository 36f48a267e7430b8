"""``auth_type="auto"``: what is configured decides the flow; the reason is logged.

Order (the Databricks SDK's order where both families are configured):
1. a federated token file or a client certificate -> azure-m2m;
2. an explicit ``client_secret``: a ``dose...`` value -> databricks-m2m; with a tenant -> azure-m2m;
   otherwise databricks-m2m;
3. ``DATABRICKS_CLIENT_ID`` + ``DATABRICKS_CLIENT_SECRET`` (or profile client_id/client_secret)
   -> databricks-m2m;
4. an Entra client secret (``AZURE_CLIENT_SECRET``...) -> azure-m2m;
5. otherwise a U2M flow, when installed: azure-u2m if an Entra client id or tenant is set or the
   workspace is on Azure, else databricks-u2m.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from brickauth.config.validate import looks_like_databricks_secret
from brickauth.errors import ConfigurationError
from brickauth.flows import FLOWS

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Configured:
    """What is set, by source name (e.g. ``"env:AZURE_CLIENT_SECRET"``); None when unset."""

    explicit_secret: str | None = None  # the explicit client_secret value (shape only is looked at)
    tenant_id: str | None = None
    federated_token_file: str | None = None
    client_certificate_path: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: str | None = None
    databricks_client_id: str | None = None
    databricks_client_secret: str | None = None
    cloud: str = "unknown"
    blank: tuple[str, ...] = ()  # sources set but blank, for the error message


def flow_available(auth_type: str) -> bool:
    target = FLOWS.get(auth_type)
    if target is None:
        return False
    module = target.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def choose(c: Configured) -> tuple[str, str]:
    """(auth_type, reason)."""
    if c.federated_token_file:
        return "azure-m2m", f"a federated token file is set ({c.federated_token_file})"
    if c.client_certificate_path:
        return "azure-m2m", f"a client certificate is set ({c.client_certificate_path})"
    if c.explicit_secret is not None:
        if looks_like_databricks_secret(c.explicit_secret):
            return "databricks-m2m", "client_secret is a Databricks OAuth secret (dose...)"
        if c.tenant_id:
            return "azure-m2m", f"client_secret is given and a tenant is set ({c.tenant_id})"
        return "databricks-m2m", "client_secret is given and no Entra tenant is set"
    if c.databricks_client_secret:
        return "databricks-m2m", (
            f"a Databricks OAuth secret is set ({c.databricks_client_secret}"
            + (f", client id from {c.databricks_client_id})" if c.databricks_client_id else ")")
        )
    if c.azure_client_secret:
        return "azure-m2m", f"an Entra client secret is set ({c.azure_client_secret})"
    azure_hint = c.azure_client_id or c.tenant_id
    if flow_available("azure-u2m") and (azure_hint or c.cloud.startswith("azure")):
        why = (
            f"no secret is set; {azure_hint} is"
            if azure_hint
            else f"no secret is set; the host is on {c.cloud}"
        )
        return "azure-u2m", f"{why} (user sign-in)"
    if flow_available("databricks-u2m"):
        why = f"client id from {c.databricks_client_id}" if c.databricks_client_id else "nothing else is set"
        return "databricks-u2m", f"no secret is set; {why} (user sign-in)"
    blank = f" ({', '.join(b.removeprefix('env:') for b in c.blank)} set but blank)" if c.blank else ""
    raise ConfigurationError(
        f"No credentials are configured{blank}.",
        fix="Set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (databricks-m2m), or AZURE_TENANT_ID, "
        "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (azure-m2m).",
        code="BA122",
    )
