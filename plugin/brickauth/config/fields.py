"""The settings brickauth reads: names, environment variables and ~/.databrickscfg keys, per flow family.

Client id and secret depend on the flow family: Entra flows read ``AZURE_CLIENT_ID``/``ARM_CLIENT_ID``
(profile key ``azure_client_id``), Databricks flows read ``DATABRICKS_CLIENT_ID`` (profile key
``client_id``); explicit ``client_id=``/``client_secret=`` serve whichever flow runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from brickauth.secret import Secret

Family = Literal["azure", "databricks"]
TokenStoreKind = Literal["auto", "keyring", "file", "memory"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_LOGIN_TIMEOUT = 120.0  # seconds to wait for a browser sign-in

# Names people copy from other tools' docs, mapped to ours (profile ``auth_type`` or BRICKAUTH_AUTH_TYPE).
AUTH_TYPE_ALIASES = {
    "oauth-m2m": "databricks-m2m",
    "azure-client-secret": "azure-m2m",
    "azure-client-certificate": "azure-m2m",
    "env-oidc": "azure-m2m",
    "file-oidc": "azure-m2m",
    "external-browser": "databricks-u2m",
    "databricks-cli": "databricks-u2m",
    "oauth-u2m": "databricks-u2m",
    # fleet (issue 12): the Databricks SDKs' names for the same flows.
    "github-oidc": "databricks-oidc",
    "azure-devops-oidc": "databricks-oidc",
    "azure-managed-identity": "azure-msi",
}
UNSUPPORTED_AUTH_TYPES = {"pat", "basic", "metadata-service", "runtime"}


@dataclass(frozen=True)
class FieldSpec:
    env: tuple[str, ...] = ()
    profile_keys: tuple[str, ...] = ()
    secret: bool = False


# Settings whose environment/profile names do not depend on the flow family.
COMMON_FIELDS: dict[str, FieldSpec] = {
    "host": FieldSpec(("DATABRICKS_HOST",), ("host",)),
    "http_path": FieldSpec(("DATABRICKS_HTTP_PATH",), ("http_path",)),
    "auth_type": FieldSpec(("BRICKAUTH_AUTH_TYPE",), ("auth_type",)),
    "tenant_id": FieldSpec(("AZURE_TENANT_ID", "ARM_TENANT_ID"), ("azure_tenant_id",)),
    "authority_host": FieldSpec(("AZURE_AUTHORITY_HOST",), ("azure_authority_host",)),
    "client_certificate_path": FieldSpec(
        ("AZURE_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PATH"), ("azure_client_certificate_path",)
    ),
    "client_certificate_password": FieldSpec(
        ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "ARM_CLIENT_CERTIFICATE_PASSWORD"),
        ("azure_client_certificate_password",),
        secret=True,
    ),
    "federated_token_file": FieldSpec(
        ("AZURE_FEDERATED_TOKEN_FILE", "ARM_FEDERATED_TOKEN_FILE", "ARM_OIDC_TOKEN_FILE_PATH"),
        ("azure_federated_token_file",),
    ),
    "scopes": FieldSpec(("BRICKAUTH_SCOPES",)),
    "redirect_port": FieldSpec(("BRICKAUTH_REDIRECT_PORT",), ("redirect_port",)),
    "login_hint": FieldSpec(("BRICKAUTH_LOGIN_HINT",)),
    "token_store": FieldSpec(("BRICKAUTH_TOKEN_STORE",)),
    "allow_plaintext_store": FieldSpec(("BRICKAUTH_ALLOW_PLAINTEXT_STORE",)),
    "token_cache": FieldSpec(("BRICKAUTH_TOKEN_CACHE",), ("token_cache",)),
    "interactive": FieldSpec(("BRICKAUTH_INTERACTIVE",)),
    "login_timeout": FieldSpec(("BRICKAUTH_LOGIN_TIMEOUT",), ("login_timeout",)),
    "no_browser": FieldSpec(("BRICKAUTH_NO_BROWSER",), ("no_browser",)),
    "browser": FieldSpec(("BRICKAUTH_BROWSER",), ("browser",)),
    "timeout": FieldSpec(("BRICKAUTH_TIMEOUT",)),
    # REQUESTS_CA_BUNDLE wins inside requests anyway; we read it explicitly so every client agrees.
    "ca_bundle": FieldSpec(("BRICKAUTH_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")),
    # fleet (issue 12): azure-msi and databricks-oidc; precedence in docs/fleet.md.
    "use_msi": FieldSpec(("ARM_USE_MSI",), ("azure_use_msi",)),  # Terraform provider / Go SDK
    "msi_client_id": FieldSpec(("BRICKAUTH_MSI_CLIENT_ID",), ("azure_msi_client_id",)),
    "msi_object_id": FieldSpec(("BRICKAUTH_MSI_OBJECT_ID",), ("azure_msi_object_id",)),
    "msi_resource_id": FieldSpec(("BRICKAUTH_MSI_RESOURCE_ID",), ("azure_msi_resource_id",)),
    "oidc_token_env": FieldSpec(("DATABRICKS_OIDC_TOKEN_ENV",), ("oidc_token_env",)),  # databricks-sdk names
    "oidc_token_filepath": FieldSpec(("DATABRICKS_OIDC_TOKEN_FILEPATH",), ("oidc_token_filepath",)),
    "token_audience": FieldSpec(("DATABRICKS_TOKEN_AUDIENCE",), ("token_audience",)),
}
FLEET_FIELDS = ("use_msi", "msi_client_id", "msi_object_id", "msi_resource_id", "oidc_token_env",
                "oidc_token_filepath", "token_audience")
FAMILY_FIELDS: dict[Family, dict[str, FieldSpec]] = {
    "azure": {
        "client_id": FieldSpec(("AZURE_CLIENT_ID", "ARM_CLIENT_ID"), ("azure_client_id",)),
        "client_secret": FieldSpec(
            ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"), ("azure_client_secret",), secret=True
        ),
        # the app a *person* signs in with (issue 10): never AZURE_CLIENT_ID, which names an M2M app
        "u2m_client_id": FieldSpec(
            ("BRICKAUTH_AZURE_U2M_CLIENT_ID", "BRICKAUTH_U2M_CLIENT_ID"), ("u2m_client_id",)
        ),
    },
    "databricks": {
        "client_id": FieldSpec(("DATABRICKS_CLIENT_ID",), ("client_id",)),
        "client_secret": FieldSpec(("DATABRICKS_CLIENT_SECRET",), ("client_secret",), True),
        "u2m_client_id": FieldSpec(
            ("BRICKAUTH_DATABRICKS_U2M_CLIENT_ID", "BRICKAUTH_U2M_CLIENT_ID"), ("u2m_client_id",)
        ),
    },
}
SECRET_FIELDS = frozenset({"client_secret", "client_certificate_password"})
# Explicit keyword arguments accepted besides the field names (the Databricks SDK/CLI spellings).
EXPLICIT_ALIASES = {
    "azure_tenant_id": "tenant_id",
    "azure_client_id": "client_id",
    "azure_client_secret": "client_secret",
    "azure_authority_host": "authority_host",
    "certificate_path": "client_certificate_path",
    "oauth_redirect_port": "redirect_port",
    "server_hostname": "host",
}
META_FIELDS = frozenset({"profile", "config_file"})
FAMILY_NAMES = ("client_id", "client_secret", "u2m_client_id")  # read through FAMILY_FIELDS
EXPLICIT_NAMES = frozenset({*COMMON_FIELDS, *FAMILY_NAMES, *META_FIELDS})


def family_of(auth_type: str) -> Family:
    return "azure" if auth_type.startswith("azure") else "databricks"


class ProviderSettings(TypedDict, total=False):
    """The keyword arguments ``brickauth.credentials_provider`` accepts (``EXPLICIT_NAMES`` plus the
    Databricks SDK/CLI spellings in ``EXPLICIT_ALIASES``); every one is optional and wins over the
    environment and ``~/.databrickscfg``. A test keeps this in step with ``EXPLICIT_NAMES``."""

    http_path: str
    tenant_id: str
    authority_host: str
    client_id: str
    client_secret: str | Secret
    u2m_client_id: str
    client_certificate_path: str
    client_certificate_password: str | Secret
    federated_token_file: str
    scopes: str | Sequence[str]
    redirect_port: int | str
    login_hint: str
    token_store: TokenStoreKind
    allow_plaintext_store: bool
    token_cache: bool
    interactive: bool
    login_timeout: float
    no_browser: bool
    browser: str
    timeout: float
    ca_bundle: str
    # fleet (issue 12)
    use_msi: bool | str
    msi_client_id: str
    msi_object_id: str
    msi_resource_id: str
    oidc_token_env: str
    oidc_token_filepath: str
    token_audience: str
    profile: str
    config_file: str
    # the Databricks SDK/CLI spellings
    azure_tenant_id: str
    azure_client_id: str
    azure_client_secret: str | Secret
    azure_authority_host: str
    certificate_path: str
    oauth_redirect_port: int | str
    server_hostname: str
