"""Auth flows by ``auth_type``: each module builds a ``TokenSource`` from ``Settings``.

Registered as import strings so choosing a flow imports only that flow (and its msal or HTTP code).
"""

from __future__ import annotations

FLOWS: dict[str, str] = {
    "azure-m2m": "brickauth.flows.azure_m2m:AzureM2MSource",
    "databricks-m2m": "brickauth.flows.databricks_m2m:DatabricksM2MSource",
    "azure-u2m": "brickauth.flows.azure_u2m:AzureU2MSource",
    "databricks-u2m": "brickauth.flows.databricks_u2m:DatabricksU2MSource",
    # fleet (issue 12): secretless identities
    "azure-msi": "brickauth.flows.azure_msi:AzureMSISource",
    "databricks-oidc": "brickauth.flows.databricks_oidc:DatabricksOIDCSource",
    "azure-cli": "brickauth.flows.azure_cli:AzureCLISource",
}
