"""``type: brickauth`` profile: Databricks credentials whose ``type`` stays ``databricks``.

dbt-core picks this class from the profile's ``type:`` and the adapter from ``credentials.type``, so
dbt runs the unchanged Databricks adapter (``target.type == "databricks"``, ``databricks__`` macros).
Profile problems are raised as dbt's own errors while the profile loads (``dbt debug``, ``dbt parse``),
each one line: ``[BA17x] what is wrong. Fix: what to write.``; no check here touches the network.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from dbt.adapters.databricks.credentials import DatabricksCredentials

from brickauth.errors import ConfigurationError
from brickauth.secret import Secret
from dbt.adapters.brickauth.errors import BrickauthProfileError, profile_error
from dbt.adapters.brickauth.manager import BrickauthCredentialManager, SettingValue

# Profile key -> brickauth setting name (brickauth.credentials_provider keyword).
SETTING_KEYS: dict[str, str] = {
    "tenant_id": "tenant_id",
    "client_id": "client_id",
    "client_secret": "client_secret",
    "client_certificate_path": "client_certificate_path",
    "client_certificate_password": "client_certificate_password",
    "federated_token_file": "federated_token_file",
    "authority_host": "authority_host",
    "redirect_port": "redirect_port",
    "login_hint": "login_hint",
    "token_store": "token_store",
    "allow_plaintext_store": "allow_plaintext_store",
    "token_cache": "token_cache",
    "interactive": "interactive",
    "scopes": "scopes",
    "ca_bundle": "ca_bundle",
    "profile": "profile",  # a ~/.databrickscfg profile, e.g. the one `brickauth login` saved
}
SECRET_KEYS = frozenset({"client_secret", "client_certificate_password"})

# dbt-databricks keys that mean something else under type: brickauth, with what to write instead.
REPLACED_KEYS: dict[str, str] = {
    "token": "remove `token` (a personal access token), or use `type: databricks` for a PAT.",
    "azure_client_id": "write `client_id` with `auth_type: azure-m2m`.",
    "azure_client_secret": "write `client_secret: \"{{ env_var('AZURE_CLIENT_SECRET') }}\"` with "
    "`auth_type: azure-m2m`.",
    "oauth_redirect_url": "write `redirect_port: <port>` (the redirect is http://localhost:<port>).",
    "oauth_scopes": "remove `oauth_scopes`: brickauth picks each auth_type's scopes (`scopes` overrides).",
    "oidc_token_filepath": "set DATABRICKS_OIDC_TOKEN_FILEPATH with `auth_type: databricks-oidc`, or write "
    "`federated_token_file` with `auth_type: azure-m2m`.",
}


@dataclass
class BrickauthCredentials(DatabricksCredentials):
    # Re-declared only to keep secrets out of repr().
    client_secret: str | None = field(default=None, repr=False)
    auth_type: str | None = None
    tenant_id: str | None = None
    client_certificate_path: str | None = None
    client_certificate_password: str | None = field(default=None, repr=False)
    federated_token_file: str | None = None
    authority_host: str | None = None
    # str too: a value from `{{ env_var(...) }}` renders as a string (brickauth.config parses it).
    redirect_port: int | str | None = None
    login_hint: str | None = None
    token_store: str | None = None
    allow_plaintext_store: bool | str | None = None
    token_cache: bool | str | None = None
    interactive: bool | str | None = None
    scopes: list[str] | str | None = None
    ca_bundle: str | None = None
    profile: str | None = None
    # Re-declared with our manager type: dbt serialises and schema-validates it with the profile.
    _credentials_manager: BrickauthCredentialManager | None = None  # type: ignore[assignment]

    _PROFILE_ONLY_KEYS: ClassVar[frozenset[str]] = frozenset({"type", "threads"})

    @classmethod
    def __pre_deserialize__(cls, data: dict[Any, Any]) -> dict[Any, Any]:
        data = super().__pre_deserialize__(data)
        known = {f.name for f in fields(cls)} | set(cls._ALIASES) | cls._PROFILE_ONLY_KEYS
        for key in data:
            if key in REPLACED_KEYS and data[key] is not None:
                raise profile_error(
                    f"Profile key `{key}` belongs to dbt-databricks' own sign-in and is not used by "
                    "type: brickauth.",
                    REPLACED_KEYS[key],
                    "BA174",
                )
            if key not in known:
                public = sorted(k for k in known if not k.startswith("_"))
                close = difflib.get_close_matches(str(key), public, 1)
                hint = f"write `{close[0]}`" if close else "remove it (see docs/dbt.md for the keys)"
                raise profile_error(f"Profile key `{key}` is unknown to type: brickauth.", hint, "BA175")
        return data

    def __post_init__(self) -> None:
        self._check_brickauth_keys()
        # Databricks' own checks (schema, catalog, connection_parameters), then create_from, which
        # compat.install routes to our manager: the brickauth provider is built there (offline).
        super().__post_init__()

    def _check_brickauth_keys(self) -> None:
        """dbt-specific checks; brickauth.config checks the values when the provider is built."""
        if self.profile and not ((self.host or "").strip() and (self.http_path or "").strip()):
            from brickauth.cli.databrickscfg import read_profiles
            from brickauth.config import config_path

            saved = read_profiles(config_path()).get(self.profile, {})  # the ~/.databrickscfg profile
            self.host = self.host or saved.get("host")
            self.http_path = self.http_path or saved.get("http_path")
        if not (self.http_path or "").strip():
            # dbt-databricks would fail later with a traceback (issue 10): say it now, in one line
            raise profile_error(
                "Profile key `http_path` is missing: it is required to connect to Databricks.",
                "add `http_path: /sql/1.0/warehouses/<id>` (the warehouse's Connection details).",
                "BA173",
            )
        if not (self.host or "").strip():
            raise profile_error(
                "Profile key `host` is missing: type: brickauth needs the workspace URL.",
                "add `host: adb-<workspace-id>.<n>.azuredatabricks.net` (or "
                "`host: \"{{ env_var('DATABRICKS_HOST') }}\"`).",
                "BA173",
            )
        from brickauth.hosts import WorkspaceHost

        try:
            parsed = WorkspaceHost.parse(self.host or "", authority_host=self.authority_host)
        except ConfigurationError as exc:
            raise BrickauthProfileError(f"Profile key `host`: {exc}") from None
        # The connector wants a bare host name: accept the URL people copy from the browser.
        self.host = parsed.netloc
        if (self.connection_parameters or {}).get("use_kernel"):
            raise profile_error(
                "connection_parameters.use_kernel is not supported with type: brickauth: the connector's "
                "kernel backend takes no credentials provider.",
                "remove `use_kernel` from connection_parameters.",
                "BA176",
            )

    def brickauth_settings(self) -> dict[str, SettingValue]:
        """The provider's settings from this profile (secrets wrapped, unset keys left out)."""
        settings: dict[str, SettingValue] = {}
        for key, name in SETTING_KEYS.items():
            value = getattr(self, key)
            if value is None or (value == "" and key not in SECRET_KEYS):
                continue  # a blank secret goes on: brickauth says BA101 instead of "no credential"
            if key in SECRET_KEYS:
                settings[name] = Secret(str(value))
            elif isinstance(value, list):
                settings[name] = tuple(str(v) for v in value)
            else:
                settings[name] = value
        return settings

    def validate_creds(self) -> None:
        # dbt-databricks' version insists on its own auth types; ours were checked at load time.
        for key in ("host", "http_path"):
            if not getattr(self, key):
                raise profile_error(
                    f"Profile key `{key}` is missing: it is required to connect to Databricks.",
                    "add `http_path: /sql/1.0/warehouses/<id>` (the warehouse's Connection details)."
                    if key == "http_path"
                    else "add `host: <workspace host>`.",
                    "BA173",
                )


def is_brickauth(credentials: Any) -> bool:
    return isinstance(credentials, BrickauthCredentials)


def make_manager(credentials: BrickauthCredentials) -> BrickauthCredentialManager:
    """Called through DatabricksCredentialManager.create_from for brickauth credentials."""
    if credentials._credentials_manager is not None and credentials._credentials_manager._key is not None:
        return credentials._credentials_manager
    return BrickauthCredentialManager.for_settings(
        credentials.auth_type or "auto", credentials.host or "", credentials.brickauth_settings()
    )
