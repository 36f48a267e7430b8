"""The process environment: the one module of brickauth that reads ``os.environ`` (a test keeps it so).

``environment(env)`` is the mapping every reader uses: the one given (tests, doctor, a caller's own
``env=``), else the live process environment. ``Platform`` is what the machine or CI job offers a
workload identity, read when asked for and always from the process environment, as msal reads it,
whatever ``env`` the settings were resolved from: a subject token variable, a CI job's OIDC token
endpoint, the managed identity endpoint msal will call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

DEFAULT_IMDS = "http://169.254.169.254"
# Azure DevOps service connection id: brickauth's own variable, then the one the AzureCLI@2 task sets.
ADO_CONNECTION_VARS = ("BRICKAUTH_ADO_SERVICE_CONNECTION_ID", "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")


def environment(env: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``env`` when given, else the process environment (live: later changes are seen)."""
    return os.environ if env is None else env


@dataclass(frozen=True)
class CiOidc:
    """A CI job's OIDC token endpoint: GitHub Actions or Azure DevOps."""

    provider: Literal["GitHub Actions", "Azure DevOps"]
    url: str  # ACTIONS_ID_TOKEN_REQUEST_URL / SYSTEM_OIDCREQUESTURI
    request_token: str = field(repr=False)  # the job's bearer token; "" when Azure DevOps hides it
    connection_id: str | None = None  # Azure DevOps: the service connection (ADO_CONNECTION_VARS)


@dataclass(frozen=True)
class Platform:
    """What the platform offers a workload identity, read from the process environment when asked for
    (``env`` stands in for it in tests)."""

    env: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    def variable(self, name: str) -> str | None:
        """A subject token variable (``DATABRICKS_OIDC_TOKEN`` or the one ``oidc_token_env`` names)."""
        return environment(self.env).get(name)

    def ci_oidc(self) -> CiOidc | None:
        """The CI job's OIDC token endpoint: GitHub Actions (URL and request token both set), else Azure
        DevOps (``SYSTEM_OIDCREQUESTURI`` set); None outside such a job."""
        env = environment(self.env)
        if env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
            return CiOidc(
                "GitHub Actions", env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
            )
        if env.get("SYSTEM_OIDCREQUESTURI"):
            connection = next((env[v] for v in ADO_CONNECTION_VARS if env.get(v)), None)
            return CiOidc(
                "Azure DevOps", env["SYSTEM_OIDCREQUESTURI"], env.get("SYSTEM_ACCESSTOKEN", ""), connection
            )
        return None

    def msi_endpoint(self) -> tuple[str, str]:
        """(shape, where) of the managed identity endpoint msal will call (msal's own detection order)."""
        env = environment(self.env)
        if env.get("IDENTITY_ENDPOINT") and env.get("IDENTITY_HEADER"):
            if env.get("IDENTITY_SERVER_THUMBPRINT"):
                return "Service Fabric", "env:IDENTITY_ENDPOINT"
            return "App Service", "env:IDENTITY_ENDPOINT"
        if env.get("MSI_ENDPOINT") and env.get("MSI_SECRET"):
            return "Azure ML", "env:MSI_ENDPOINT"
        if env.get("IDENTITY_ENDPOINT") and env.get("IMDS_ENDPOINT"):
            return "Azure Arc", "env:IDENTITY_ENDPOINT"
        if env.get("AZURE_POD_IDENTITY_AUTHORITY_HOST"):
            return "IMDS", "env:AZURE_POD_IDENTITY_AUTHORITY_HOST"
        return "IMDS", f"default {DEFAULT_IMDS}"
