"""brickauth: OAuth credentials for Databricks.

The public API is what ``__all__`` lists: ``credentials_provider`` and the ``CredentialsProvider`` it
returns, the error classes and ``__version__``. Every other module is internal and may change.
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
    from typing_extensions import Unpack

    from brickauth.config.fields import ProviderSettings
    from brickauth.provider import CredentialsProvider


def credentials_provider(
    auth_type: str = "auto", host: str | None = None, **settings: Unpack[ProviderSettings]
) -> CredentialsProvider:
    """A provider for ``databricks.sql.connect(credentials_provider=...)`` and databricks-sdk
    ``Config(credentials_strategy=...)``. Settings: explicit arguments, then environment, then
    ``~/.databrickscfg``."""
    from brickauth.provider import credentials_provider as _build

    return _build(auth_type=auth_type, host=host, **settings)


def __getattr__(name: str) -> Any:
    if name == "CredentialsProvider":  # loaded on first use, so `import brickauth` stays cheap
        from brickauth.provider import CredentialsProvider

        return CredentialsProvider
    raise AttributeError(f"module 'brickauth' has no attribute {name!r}")


__all__ = [
    "BrickauthError",
    "ConfigurationError",
    "CredentialsProvider",
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
