"""``Settings``: resolved, validated, frozen; and what ``check_settings`` reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from brickauth.config.environment import Platform
from brickauth.config.fields import (
    DEFAULT_LOGIN_TIMEOUT,
    DEFAULT_TIMEOUT,
    FLEET_FIELDS,
    SECRET_FIELDS,
    Family,
    TokenStoreKind,
    family_of,
)
from brickauth.entra import PUBLIC_AUTHORITY_HOST
from brickauth.errors import ConfigurationError
from brickauth.hosts import Cloud, WorkspaceHost
from brickauth.secret import Secret


@dataclass(frozen=True)
class Settings:
    """Resolved, validated settings. Secrets are ``Secret``; ``repr`` shows none of them."""

    auth_type: str
    host: WorkspaceHost | None = None
    http_path: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    u2m_client_id: str | None = None  # the app a person signs in with (brickauth.oauth.u2m.choose_app)
    tenant_id: str | None = None
    authority_host: str = PUBLIC_AUTHORITY_HOST
    client_certificate_path: str | None = None
    client_certificate_password: Secret | None = None
    federated_token_file: str | None = None
    scopes: tuple[str, ...] = ()  # empty: the flow's default
    redirect_port: int | None = None
    login_hint: str | None = None
    token_store: TokenStoreKind = "auto"
    allow_plaintext_store: bool = False
    token_cache: bool = True  # M2M tokens shared by the machine's processes through the token store
    interactive: bool | None = None  # None: decide from the terminal
    login_timeout: float = DEFAULT_LOGIN_TIMEOUT  # browser sign-in wait; device code: 5x this at most
    no_browser: bool = False  # True: device code (Entra) / pasted redirect (Databricks), never a browser
    browser: str | None = None  # command that opens a URL (%s = the URL); None: the system's browser
    timeout: float = DEFAULT_TIMEOUT
    ca_bundle: str | None = None  # None: certifi's bundle
    # fleet (issue 12)
    use_msi: bool = False
    msi_client_id: str | None = None
    msi_object_id: str | None = None
    msi_resource_id: str | None = None
    oidc_token_env: str | None = None
    oidc_token_filepath: str | None = None
    token_audience: str | None = None
    profile: str | None = None
    config_file: str | None = None
    auth_type_reason: str = ""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # The platform's own variables (CI OIDC endpoints, managed identity endpoints, a subject token), read
    # from the process environment when a flow asks, as msal reads them.
    platform: Platform = field(default_factory=Platform, compare=False, repr=False)

    def source_of(self, name: str) -> str | None:
        """``"explicit"``, ``"env:NAME"``, ``"profile:PATH[NAME]:key"``, ``"default"`` or None (unset)."""
        return self.sources.get(name)

    @property
    def family(self) -> Family:
        return family_of(self.auth_type)

    @property
    def cloud(self) -> Cloud:
        return self.host.cloud if self.host else "unknown"

    @property
    def verify(self) -> str | bool:
        """What to pass as requests' ``verify``."""
        return self.ca_bundle or True

    def describe(self) -> list[str]:
        """``name = value (source)`` lines for debug output and the doctor; secrets masked."""
        lines = []
        for name in (
            "auth_type", "host", "http_path", "client_id", "client_secret", "u2m_client_id", "tenant_id",
            "authority_host",
            "client_certificate_path", "client_certificate_password", "federated_token_file", "scopes",
            "redirect_port", "login_hint", "token_store", "allow_plaintext_store", "token_cache",
            "interactive", "timeout", "login_timeout", "no_browser", "browser", "ca_bundle", *FLEET_FIELDS,
            "profile", "config_file",
        ):  # fmt: skip
            source = self.source_of(name)
            if source is None:
                continue
            value = getattr(self, name)
            shown = "***" if name in SECRET_FIELDS else value
            lines.append(f"{name} = {shown} ({source})")
        return lines


@dataclass(frozen=True)
class SettingProblem:
    """One ``ConfigurationError`` found by ``check_settings`` and the setting it is about (None: the
    input as a whole, e.g. a missing profile or an unknown keyword)."""

    setting: str | None
    error: ConfigurationError


@dataclass(frozen=True)
class SettingsCheck:
    """What ``check_settings`` found: everything ``resolve_settings`` would raise, in its order."""

    settings: Settings | None  # None when no auth type could be decided
    host: WorkspaceHost | None
    sources: Mapping[str, str]  # each setting found (valid or not) -> its source
    problems: tuple[SettingProblem, ...]
    profile: Mapping[str, str] = field(default_factory=dict)  # the profile's keys as read, for
    # tools that look at keys brickauth does not use (e.g. warehouse_id); may hold secrets

    @property
    def errors(self) -> list[ConfigurationError]:
        return [p.error for p in self.problems]


class Report:
    """Where a problem goes: raised at once (``resolve_settings``) or collected (``check_settings``)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.problems: list[SettingProblem] = []

    def __call__(self, err: ConfigurationError, setting: str | None = None) -> None:
        if not self.collect:
            raise err from None
        self.problems.append(SettingProblem(setting, err))
