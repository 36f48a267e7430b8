"""brickauth: OAuth credentials for Databricks.

Importing this package is cheap: msal, keyring, the SQL connector and dbt load only when a flow runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brickauth.errors import (
    BrickauthError,
    ConfigurationError,
    IdentityProviderError,
    InvalidClientError,
    InvalidGrantError,
    LoginError,
    LoginRequiredError,
    NetworkError,
    TokenStoreError,
    WorkspaceError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from brickauth.provider import CredentialsProvider


def credentials_provider(
    auth_type: str = "auto", host: str | None = None, **settings: Any
) -> CredentialsProvider:
    """A provider for ``databricks.sql.connect(credentials_provider=...)`` and databricks-sdk
    ``Config(credentials_strategy=...)``. Settings: explicit arguments, then environment, then
    ``~/.databrickscfg``."""
    from brickauth.provider import credentials_provider as _build

    return _build(auth_type=auth_type, host=host, **settings)


__all__ = [
    "BrickauthError",
    "ConfigurationError",
    "IdentityProviderError",
    "InvalidClientError",
    "InvalidGrantError",
    "LoginError",
    "LoginRequiredError",
    "NetworkError",
    "TokenStoreError",
    "WorkspaceError",
    "__version__",
    "credentials_provider",
]
