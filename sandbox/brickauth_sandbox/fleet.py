"""Secretless identities in the sandbox (issue 12): managed identities on a host, a workload OIDC
issuer, and a workspace federation policy trusting it.

Baseline (rebuilt by ``reset()``, same ids):
- the host has a system-assigned identity and one user-assigned identity; both are Entra service
  principals (enterprise apps whose app id is the identity's client id) and workspace members with
  CAN USE; a second user-assigned identity exists in the tenant but is *not* assigned to the host;
- the issuer has one workload (a GitHub Actions job, subject ``repo:brickauth/sample:environment:ci``);
- a Databricks service principal (``oidc_sp_client_id``) has a service principal federation policy
  for the issuer, that subject and the audience databricks-sdk asks GitHub for by default (the
  workspace's token endpoint), plus the account id (the Databricks docs' recommendation).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from brickauth_sandbox.entra.model import (
    AZURE_CLI_CLIENT_ID,
    AZURE_DATABRICKS_RESOURCE_ID,
    AppRegistration,
    RedirectUri,
    new_guid,
)
from brickauth_sandbox.issuer import ADO_PATH, GITHUB_PATH, OidcIssuer, Workload
from brickauth_sandbox.msi import (
    APP_SERVICE_PATH,
    ManagedIdentity,
    ManagedIdentityHost,
    ManagedIdentityService,
)
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.workspace.model import DatabricksServicePrincipal, FederationPolicy

if TYPE_CHECKING:
    from brickauth_sandbox.core import Sandbox

GITHUB_SUBJECT = "repo:brickauth/sample:environment:ci"
ADO_SUBJECT = "sc://brickauth/sample/databricks-sandbox"


@dataclass(frozen=True)
class FleetIds:
    """Stable across ``reset()``."""

    msi_system_client_id: str
    msi_system_object_id: str
    msi_user_client_id: str
    msi_user_object_id: str
    msi_user_resource_id: str
    msi_unassigned_client_id: str  # in the tenant, not on this host
    oidc_sp_client_id: str  # Databricks service principal with the federation policy
    github_request_token: str
    ado_request_token: str
    identity_header: str

    @classmethod
    def generate(cls) -> FleetIds:
        sub = "00000000-0000-0000-0000-000000000000"
        return cls(
            msi_system_client_id=new_guid(),
            msi_system_object_id=new_guid(),
            msi_user_client_id=new_guid(),
            msi_user_object_id=new_guid(),
            msi_user_resource_id=f"/subscriptions/{sub}/resourceGroups/sandbox/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/brickauth-uami",
            msi_unassigned_client_id=new_guid(),
            oidc_sp_client_id=new_guid(),
            github_request_token=secrets.token_urlsafe(24),
            ado_request_token=secrets.token_urlsafe(24),
            identity_header=secrets.token_hex(16),
        )


class Fleet:
    """The fleet services of one sandbox and their control API (``sandbox.fleet``)."""

    def __init__(self, sandbox: Sandbox, issuer_key: SigningKey) -> None:
        self.sb = sandbox
        self.ids = FleetIds.generate()
        self.issuer_key = issuer_key
        self.host = ManagedIdentityHost()
        self.issuer = OidcIssuer(base_url=sandbox.issuer_url, signing_key=issuer_key, clock=sandbox.clock)
        self.msi_service = ManagedIdentityService(
            host=self.host,
            tenant=lambda: sandbox.tenant,
            issuer=lambda: sandbox.entra.tokens,
            clock=sandbox.clock,
            lifetimes=sandbox.lifetimes,
        )

    # -- baseline ---------------------------------------------------------------------------------
    def build(self) -> None:
        """Fresh state on the sandbox's fresh tenant and workspace (called by ``_build_state``)."""
        ids = self.ids
        self.host = ManagedIdentityHost(identity_header=ids.identity_header)
        self.msi_service.host = self.host
        self.issuer = OidcIssuer(
            base_url=self.sb.issuer_url, signing_key=self.issuer_key, clock=self.sb.clock
        )
        system = self._identity(
            ids.msi_system_client_id,
            ids.msi_system_object_id,
            "/subscriptions/0/resourceGroups/sandbox/providers/Microsoft.Compute/"
            "virtualMachines/brickauth-vm",
            "brickauth-vm",
            user_assigned=False,
        )
        user = self._identity(
            ids.msi_user_client_id,
            ids.msi_user_object_id,
            ids.msi_user_resource_id,
            "brickauth-uami",
            user_assigned=True,
        )
        self._identity(
            ids.msi_unassigned_client_id,
            new_guid(),
            ids.msi_user_resource_id + "-other",
            "brickauth-uami-other",
            user_assigned=True,
        )
        self.host.system_assigned = system
        self.host.user_assigned = [user]
        self.issuer.workloads = [
            Workload(subject=GITHUB_SUBJECT, request_token=ids.github_request_token),
            Workload(subject=ADO_SUBJECT, request_token=ids.ado_request_token),
        ]
        # The Azure CLI's public client, pre-consented (as in every real tenant), for azure-cli tests.
        tenant = self.sb.tenant
        tenant.apps[AZURE_CLI_CLIENT_ID] = AppRegistration(
            app_id=AZURE_CLI_CLIENT_ID,
            display_name="Microsoft Azure CLI",
            home_tenant_id="f8cdef31-a31e-4b4a-93e4-5f571e91255a",
            multi_tenant=True,
            redirect_uris=[RedirectUri("http://localhost", "mobile_desktop")],
            allow_public_client_flows=True,
        )
        tenant.admin_consent[(AZURE_CLI_CLIENT_ID, AZURE_DATABRICKS_RESOURCE_ID)] = {"user_impersonation"}
        ws = self.sb.workspace
        ws.account_service_principals[ids.oidc_sp_client_id] = DatabricksServicePrincipal(
            application_id=ids.oidc_sp_client_id, display_name="brickauth-sandbox-oidc-sp"
        )
        self.sb._join_workspace(ids.oidc_sp_client_id, "brickauth-sandbox-oidc-sp", member=True, can_use=True)
        ws.federation_policies.append(
            FederationPolicy(
                issuer=self.issuer.issuer,
                audiences=[self.default_audience, ws.account_id],
                service_principal=ids.oidc_sp_client_id,
                subject=GITHUB_SUBJECT,
                signing_key=self.issuer_key,
            )
        )
        ws.federation_policies.append(
            FederationPolicy(
                issuer=self.issuer.issuer,
                audiences=["api://AzureADTokenExchange"],
                service_principal=ids.oidc_sp_client_id,
                subject=ADO_SUBJECT,
                signing_key=self.issuer_key,
            )
        )

    def _identity(
        self, client_id: str, object_id: str, resource_id: str, name: str, *, user_assigned: bool
    ) -> ManagedIdentity:
        tenant = self.sb.tenant
        tenant.apps[client_id] = AppRegistration(
            app_id=client_id, display_name=name, home_tenant_id=tenant.tenant_id, sp_object_id=object_id
        )
        self.sb._join_workspace(client_id, name, member=True, can_use=True)
        return ManagedIdentity(
            client_id=client_id,
            object_id=object_id,
            resource_id=resource_id,
            display_name=name,
            user_assigned=user_assigned,
        )

    # -- what clients need ------------------------------------------------------------------------
    @property
    def default_audience(self) -> str:
        """What databricks-sdk asks GitHub for when ``token_audience`` is unset: the token endpoint."""
        return f"{self.sb.workspace_url}/oidc/v1/token"

    @property
    def msi_url(self) -> str:
        return f"http://{self.sb.addresses['msi']}"

    def imds_env(self) -> dict[str, str]:
        """What an AKS pod (pod identity) or a VM with an IMDS override sees."""
        return {"AZURE_POD_IDENTITY_AUTHORITY_HOST": self.msi_url}

    def app_service_env(self) -> dict[str, str]:
        """What App Service / Functions put in the environment of a site with managed identity."""
        return {
            "IDENTITY_ENDPOINT": self.msi_url + APP_SERVICE_PATH,
            "IDENTITY_HEADER": self.ids.identity_header,
        }

    def github_actions_env(self) -> dict[str, str]:
        """A GitHub Actions job with ``permissions: id-token: write``."""
        return {
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.sb.issuer_url}{GITHUB_PATH}?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.ids.github_request_token,
        }

    def azure_devops_env(self) -> dict[str, str]:
        """An Azure DevOps job with an OIDC (workload identity) service connection."""
        return {
            "TF_BUILD": "True",
            "SYSTEM_OIDCREQUESTURI": f"{self.sb.issuer_url}{ADO_PATH}",
            "SYSTEM_ACCESSTOKEN": self.ids.ado_request_token,
        }

    # -- break things -----------------------------------------------------------------------------
    def remove_system_assigned(self) -> None:
        self.host.system_assigned = None

    def unassign_user_identities(self) -> None:
        self.host.user_assigned = []

    def set_policy(self, **changes: object) -> None:
        """Change the GitHub federation policy (``issuer=``, ``audiences=``, ``subject=``)."""
        policies = [
            p
            for p in self.sb.workspace.federation_policies
            if p.service_principal == self.ids.oidc_sp_client_id
        ]
        for name, value in changes.items():
            # The issuer is shared by both of the principal's policies (GitHub and Azure DevOps).
            for policy in policies if name == "issuer" else policies[:1]:
                setattr(policy, name, value)
