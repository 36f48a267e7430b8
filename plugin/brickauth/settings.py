"""Settings: explicit arguments, then environment variables, then a ``~/.databrickscfg`` profile.

``resolve_settings`` records where each value came from (``settings.source_of("client_id")`` ->
``"env:AZURE_CLIENT_ID"``), debug-logs the sources (never a secret's value), picks the auth type
(``auto`` asks ``brickauth.flows.auto``) and validates what the chosen flow needs, so that a bad input
fails before any network call with a one-line ``ConfigurationError``.

Client id and secret depend on the flow family: Entra flows read ``AZURE_CLIENT_ID``/``ARM_CLIENT_ID``
(profile key ``azure_client_id``), Databricks flows read ``DATABRICKS_CLIENT_ID`` (profile key
``client_id``); explicit ``client_id=``/``client_secret=`` serve whichever flow runs.
"""

from __future__ import annotations

import configparser
import difflib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from brickauth.errors import ConfigurationError
from brickauth.hosts import Cloud, WorkspaceHost, normalize_authority_host
from brickauth.secret import Secret

log = logging.getLogger(__name__)

Family = Literal["azure", "databricks"]
TokenStoreKind = Literal["auto", "keyring", "file", "memory"]

AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
DATABRICKS_M2M_SCOPE = "all-apis"
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
}
_UNSUPPORTED_AUTH_TYPES = {"pat", "basic", "azure-cli", "metadata-service", "github-oidc", "runtime"}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
_DATABRICKS_SECRET = re.compile(r"^dose[0-9a-f]{20,}$", re.IGNORECASE)
_ENTRA_SECRET = re.compile(r"^[A-Za-z0-9._~-]{3}[0-9]Q~[A-Za-z0-9._~-]{30,}$")
_PLACEHOLDER = re.compile(r"^(\$\{.*\}|\$\(.*\)|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|<[^<>]+>|%[A-Z_][A-Z0-9_]*%)$")


@dataclass(frozen=True)
class _Spec:
    env: tuple[str, ...] = ()
    profile_keys: tuple[str, ...] = ()
    secret: bool = False


# Settings whose environment/profile names do not depend on the flow family.
_COMMON: dict[str, _Spec] = {
    "host": _Spec(("DATABRICKS_HOST",), ("host",)),
    "http_path": _Spec(("DATABRICKS_HTTP_PATH",), ("http_path",)),
    "auth_type": _Spec(("BRICKAUTH_AUTH_TYPE",), ("auth_type",)),
    "tenant_id": _Spec(("AZURE_TENANT_ID", "ARM_TENANT_ID"), ("azure_tenant_id",)),
    "authority_host": _Spec(("AZURE_AUTHORITY_HOST",), ("azure_authority_host",)),
    "client_certificate_path": _Spec(
        ("AZURE_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PATH"), ("azure_client_certificate_path",)
    ),
    "client_certificate_password": _Spec(
        ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "ARM_CLIENT_CERTIFICATE_PASSWORD"),
        ("azure_client_certificate_password",),
        secret=True,
    ),
    "federated_token_file": _Spec(
        ("AZURE_FEDERATED_TOKEN_FILE", "ARM_FEDERATED_TOKEN_FILE", "ARM_OIDC_TOKEN_FILE_PATH"),
        ("azure_federated_token_file",),
    ),
    "scopes": _Spec(("BRICKAUTH_SCOPES",)),
    "redirect_port": _Spec(("BRICKAUTH_REDIRECT_PORT",), ("redirect_port",)),
    "login_hint": _Spec(("BRICKAUTH_LOGIN_HINT",)),
    "token_store": _Spec(("BRICKAUTH_TOKEN_STORE",)),
    "allow_plaintext_store": _Spec(("BRICKAUTH_ALLOW_PLAINTEXT_STORE",)),
    "interactive": _Spec(("BRICKAUTH_INTERACTIVE",)),
    "login_timeout": _Spec(("BRICKAUTH_LOGIN_TIMEOUT",), ("login_timeout",)),
    "no_browser": _Spec(("BRICKAUTH_NO_BROWSER",), ("no_browser",)),
    "browser": _Spec(("BRICKAUTH_BROWSER",), ("browser",)),
    "timeout": _Spec(("BRICKAUTH_TIMEOUT",)),
    # REQUESTS_CA_BUNDLE wins inside requests anyway; we read it explicitly so every client agrees.
    "ca_bundle": _Spec(("BRICKAUTH_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")),
}
_FAMILY: dict[Family, dict[str, _Spec]] = {
    "azure": {
        "client_id": _Spec(("AZURE_CLIENT_ID", "ARM_CLIENT_ID"), ("azure_client_id",)),
        "client_secret": _Spec(("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"), ("azure_client_secret",), True),
    },
    "databricks": {
        "client_id": _Spec(("DATABRICKS_CLIENT_ID",), ("client_id",)),
        "client_secret": _Spec(("DATABRICKS_CLIENT_SECRET",), ("client_secret",), True),
    },
}
_SECRET_FIELDS = frozenset({"client_secret", "client_certificate_password"})
# Explicit keyword arguments accepted besides the field names (the Databricks SDK/CLI spellings).
_EXPLICIT_ALIASES = {
    "azure_tenant_id": "tenant_id",
    "azure_client_id": "client_id",
    "azure_client_secret": "client_secret",
    "azure_authority_host": "authority_host",
    "certificate_path": "client_certificate_path",
    "oauth_redirect_port": "redirect_port",
    "server_hostname": "host",
}
_META = frozenset({"profile", "config_file"})
EXPLICIT_NAMES = frozenset({*_COMMON, "client_id", "client_secret", *_META})


@dataclass(frozen=True)
class Settings:
    """Resolved, validated settings. Secrets are ``Secret``; ``repr`` shows none of them."""

    auth_type: str
    host: WorkspaceHost | None = None
    http_path: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    tenant_id: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    client_certificate_path: str | None = None
    client_certificate_password: Secret | None = None
    federated_token_file: str | None = None
    scopes: tuple[str, ...] = ()  # empty: the flow's default
    redirect_port: int | None = None
    login_hint: str | None = None
    token_store: TokenStoreKind = "auto"
    allow_plaintext_store: bool = False
    interactive: bool | None = None  # None: decide from the terminal
    login_timeout: float = DEFAULT_LOGIN_TIMEOUT  # browser sign-in wait; device code: 5x this at most
    no_browser: bool = False  # True: device code (Entra) / pasted redirect (Databricks), never a browser
    browser: str | None = None  # command that opens a URL (%s = the URL); None: the system's browser
    timeout: float = DEFAULT_TIMEOUT
    ca_bundle: str | None = None  # None: certifi's bundle
    profile: str | None = None
    config_file: str | None = None
    auth_type_reason: str = ""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

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
            "auth_type", "host", "http_path", "client_id", "client_secret", "tenant_id", "authority_host",
            "client_certificate_path", "client_certificate_password", "federated_token_file", "scopes",
            "redirect_port", "login_hint", "token_store", "allow_plaintext_store", "interactive", "timeout",
            "login_timeout", "no_browser", "browser", "ca_bundle", "profile", "config_file",
        ):  # fmt: skip
            source = self.source_of(name)
            if source is None:
                continue
            value = getattr(self, name)
            shown = "***" if name in _SECRET_FIELDS else value
            lines.append(f"{name} = {shown} ({source})")
        return lines


def family_of(auth_type: str) -> Family:
    return "azure" if auth_type.startswith("azure") else "databricks"


def resolve_settings(
    explicit: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    *,
    require_host: bool = True,
) -> Settings:
    """Resolve and validate settings; raises ``ConfigurationError`` (one line) on bad input."""
    settings = _resolve(explicit, env, config_file, require_host, _Report(collect=False)).settings
    assert settings is not None  # every problem raised
    for line in settings.describe():
        log.debug("setting %s", line)
    log.debug("auth type %s: %s", settings.auth_type, settings.auth_type_reason)
    return settings


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


def check_settings(
    explicit: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    *,
    require_host: bool = True,
) -> SettingsCheck:
    """Like ``resolve_settings``, but returns every problem instead of raising the first (for the
    doctor). A setting that fails is left unset and the rest are still resolved and validated."""
    return _resolve(explicit, env, config_file, require_host, _Report(collect=True))


class _Report:
    """Where a problem goes: raised at once (``resolve_settings``) or collected (``check_settings``)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.problems: list[SettingProblem] = []

    def __call__(self, err: ConfigurationError, setting: str | None = None) -> None:
        if not self.collect:
            raise err from None
        self.problems.append(SettingProblem(setting, err))


def _resolve(
    explicit: Mapping[str, Any] | None,
    env: Mapping[str, str] | None,
    config_file: str | os.PathLike[str] | None,
    require_host: bool,
    report: _Report,
) -> SettingsCheck:
    env = os.environ if env is None else env
    try:
        given = _normalise_explicit(explicit or {})
    except ConfigurationError as err:
        report(err)
        given = {k: v for k, v in (explicit or {}).items() if k in EXPLICIT_NAMES and v is not None}
    try:
        profile_values, profile_label, cfg_path = _load_profile(given, env, config_file)
    except ConfigurationError as err:
        report(err)
        profile_values, profile_label, cfg_path = {}, None, None
    lookup = _Lookup(given, env, profile_values, profile_label)

    def done(settings: Settings | None, sources: Mapping[str, str]) -> SettingsCheck:
        return SettingsCheck(settings, host, MappingProxyType(dict(sources)), tuple(report.problems),
                             MappingProxyType(dict(profile_values)))

    try:
        host = _resolve_host(lookup, require_host)
    except ConfigurationError as err:
        report(err, "authority_host" if err.code == "BA119" else "host")
        host = None
        lookup.invalid.add("host")
    try:
        auth_type, reason, auth_source = _resolve_auth_type(lookup, host)
    except ConfigurationError as err:
        report(err, "auth_type")
        return done(None, {name: src for name in ("host", "auth_type")
                           if (src := lookup.source(name, "databricks")) is not None})
    family = family_of(auth_type)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {"auth_type": auth_source}
    if host is not None or "host" in lookup.invalid:
        sources["host"] = lookup.source("host", family) or ""
    if cfg_path is not None:
        sources["config_file"] = "default" if "config_file" not in given else "explicit"
        values["config_file"] = str(cfg_path)
        if profile_label is not None:
            values["profile"] = profile_label.rsplit("[", 1)[-1].rstrip("]")
            sources["profile"] = lookup.meta_source.get("profile", "default")

    for name in (*_COMMON, "client_id", "client_secret"):
        if name in ("host", "auth_type"):
            continue
        hit = lookup.get(name, family)
        if hit is None:
            continue
        raw, source = hit
        values[name] = raw
        sources[name] = source

    settings = _build(auth_type, reason, host, values, sources, report, lookup.invalid)
    _validate_for_flow(settings, lookup, report)
    if not sources.get("host"):
        sources.pop("host", None)
    return done(settings, sources)


# -- lookups ---------------------------------------------------------------------------------------


class _Lookup:
    """First-hit lookup across explicit > environment > profile, remembering the source."""

    def __init__(
        self,
        explicit: Mapping[str, Any],
        env: Mapping[str, str],
        profile: Mapping[str, str],
        profile_label: str | None,
    ) -> None:
        self.explicit = explicit
        self.env = env
        self.profile = profile
        self.profile_label = profile_label
        self.meta_source: dict[str, str] = {}
        self.blank: list[str] = []  # sources that were set but blank
        self.invalid: set[str] = set()  # settings set but invalid (already reported)

    def _spec(self, name: str, family: Family) -> _Spec:
        return _FAMILY[family][name] if name in ("client_id", "client_secret") else _COMMON[name]

    def get(
        self, name: str, family: Family, *, layers: tuple[str, ...] = ("explicit", "env", "profile")
    ) -> tuple[Any, str] | None:
        spec = self._spec(name, family)
        if "explicit" in layers and name in self.explicit and self.explicit[name] is not None:
            value = self.explicit[name]
            return self._checked(name, value, "explicit", spec)
        if "env" in layers:
            for var in spec.env:
                if var in self.env:
                    hit = self._checked(name, self.env[var], f"env:{var}", spec)
                    if hit is not None:
                        return hit
        if "profile" in layers:
            for key in spec.profile_keys:
                if key in self.profile:
                    hit = self._checked(name, self.profile[key], f"profile:{self.profile_label}:{key}", spec)
                    if hit is not None:
                        return hit
        return None

    def source(self, name: str, family: Family) -> str | None:
        hit = self.get(name, family)
        return hit[1] if hit else None

    def _checked(self, name: str, value: Any, source: str, spec: _Spec) -> tuple[Any, str] | None:
        if not isinstance(value, str):
            return value, source
        stripped = value.strip()
        if not stripped:
            if source == "explicit":
                return value, source  # explicit blank is an error, reported by the validator
            if source not in self.blank:
                self.blank.append(source)
            return None
        if stripped != value:
            log.debug("setting %s from %s: removed surrounding white space", name, source)
        return stripped, source


def _normalise_explicit(explicit: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in explicit.items():
        name = _EXPLICIT_ALIASES.get(key, key)
        if name not in EXPLICIT_NAMES:
            close = difflib.get_close_matches(key, [*EXPLICIT_NAMES, *_EXPLICIT_ALIASES], n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigurationError(
                f"Unknown setting '{key}'.",
                fix=f"{hint}Known settings: {', '.join(sorted(EXPLICIT_NAMES))}.",
                code="BA121",
            )
        if value is None:
            continue
        if name in out:
            raise ConfigurationError(
                f"The setting '{name}' is given twice (as '{key}' and another spelling).",
                fix=f"Pass only one of '{name}' and '{key}'.",
                code="BA121",
            )
        out[name] = value
    return out


def _load_profile(
    given: Mapping[str, Any], env: Mapping[str, str], config_file: str | os.PathLike[str] | None
) -> tuple[dict[str, str], str | None, Path | None]:
    named_profile: str | None = None
    profile_source = "default"
    if "profile" in given:
        named_profile, profile_source = str(given["profile"]).strip(), "explicit"
    elif env.get("DATABRICKS_CONFIG_PROFILE", "").strip():
        named_profile, profile_source = (
            env["DATABRICKS_CONFIG_PROFILE"].strip(),
            "env:DATABRICKS_CONFIG_PROFILE",
        )
    if "config_file" in given:
        path_text, file_source = str(given["config_file"]), "explicit"
    elif config_file is not None:
        path_text, file_source = os.fspath(config_file), "argument"
    elif env.get("DATABRICKS_CONFIG_FILE", "").strip():
        path_text, file_source = env["DATABRICKS_CONFIG_FILE"].strip(), "env:DATABRICKS_CONFIG_FILE"
    else:
        path_text, file_source = "~/.databrickscfg", "default"
    path = Path(path_text).expanduser()
    if not path.is_file():
        if file_source != "default":
            raise ConfigurationError(
                f"The Databricks config file {path} ({file_source}) does not exist.",
                fix="Point DATABRICKS_CONFIG_FILE/config_file at an existing file, or unset it.",
                code="BA152",
            )
        if named_profile is not None:
            raise ConfigurationError(
                f"Profile '{named_profile}' ({profile_source}) was asked for, but {path} does not exist.",
                fix="Create the profile (databricks configure) or unset DATABRICKS_CONFIG_PROFILE.",
                code="BA150",
            )
        return {}, None, None
    parser = configparser.ConfigParser(default_section="\0none", interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigurationError(
            f"The Databricks config file {path} cannot be read ({type(exc).__name__}).",
            fix="Fix the file's INI syntax ([profile] headers, key = value lines) or its permissions.",
            code="BA151",
        ) from None
    profile = named_profile or "DEFAULT"
    if not parser.has_section(profile):
        if named_profile is None:
            return {}, None, path
        known = ", ".join(parser.sections()) or "none"
        raise ConfigurationError(
            f"Profile '{profile}' ({profile_source}) is not in {path} (profiles: {known}).",
            fix="Set DATABRICKS_CONFIG_PROFILE/profile to one of the listed profiles.",
            code="BA150",
        )
    label = f"{path}[{profile}]"
    log.debug("reading profile %s", label)
    return dict(parser.items(profile)), label, path


# -- host and auth type ----------------------------------------------------------------------------


def _resolve_host(lookup: _Lookup, require_host: bool) -> WorkspaceHost | None:
    hit = lookup.get("host", "databricks")
    if hit is None:
        if not require_host:
            return None
        blank = [s for s in lookup.blank if "HOST" in s or s.endswith(":host")]
        if blank:
            raise ConfigurationError(
                f"The workspace host ({blank[0]}) is set but blank.",
                fix="Set DATABRICKS_HOST to your workspace URL, e.g. https://adb-<id>.<n>.azuredatabricks.net.",
                code="BA111",
            )
        raise ConfigurationError(
            "No workspace host is configured.",
            fix="Set DATABRICKS_HOST (or pass host=) to your workspace URL, e.g. "
            "https://adb-<id>.<n>.azuredatabricks.net.",
            code="BA110",
        )
    value, source = hit
    text = _text("host", value, source)
    authority = lookup.get("authority_host", "azure")
    authority_text = _text("authority_host", *authority) if authority else None
    try:
        return WorkspaceHost.parse(text, authority_host=authority_text)
    except ConfigurationError as err:
        raise ConfigurationError(f"{err.message[:-1]} (from {source}).", fix=err.fix, code=err.code) from None


def _resolve_auth_type(lookup: _Lookup, host: WorkspaceHost | None) -> tuple[str, str, str]:
    from brickauth.flows import FLOWS

    hit = lookup.get("auth_type", "databricks")
    if hit is not None and str(hit[0]).strip().lower() != "auto":
        value, source = hit
        name = _text("auth_type", value, source).lower()
        name = AUTH_TYPE_ALIASES.get(name, name)
        if name in _UNSUPPORTED_AUTH_TYPES:
            raise ConfigurationError(
                f"auth_type '{value}' ({source}) is not something brickauth does (no PATs or CLI tokens).",
                fix=f"Use one of: auto, {', '.join(FLOWS)}.",
                code="BA120",
            )
        if name not in FLOWS:
            close = difflib.get_close_matches(name, list(FLOWS), n=1)
            hint = f"Did you mean '{close[0]}'? " if close else ""
            raise ConfigurationError(
                f"Unknown auth_type '{value}' ({source}).",
                fix=f"{hint}Use one of: auto, {', '.join(FLOWS)}.",
                code="BA120",
            )
        return name, f"auth_type set ({source})", source

    from brickauth.flows import auto

    configured = auto.Configured(
        explicit_secret=_maybe_str(lookup.explicit.get("client_secret")),
        tenant_id=lookup.source("tenant_id", "azure"),
        federated_token_file=lookup.source("federated_token_file", "azure"),
        client_certificate_path=lookup.source("client_certificate_path", "azure"),
        azure_client_id=lookup.source("client_id", "azure"),
        azure_client_secret=lookup.source("client_secret", "azure"),
        databricks_client_id=lookup.source("client_id", "databricks"),
        databricks_client_secret=lookup.source("client_secret", "databricks"),
        cloud=host.cloud if host else "unknown",
        blank=tuple(lookup.blank),
    )
    name, reason = auto.choose(configured)
    return name, f"auto: {reason}", "auto"


# -- typed values ----------------------------------------------------------------------------------


def _maybe_str(value: Any) -> str | None:
    if isinstance(value, Secret):
        return value.reveal()
    return value if isinstance(value, str) else None


def _label(name: str, source: str) -> str:
    if source.startswith("env:"):
        return source[4:]
    if source.startswith("profile:"):
        return f"{name} in {source[8:].rsplit(':', 1)[0]}"
    return name


def _text(name: str, value: Any, source: str) -> str:
    """A string setting, checked for blanks, quotes and unexpanded placeholders."""
    if isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ConfigurationError(
            f"{_label(name, source)} must be text, not {type(value).__name__}.",
            fix=f"Pass {name} as a string.",
            code="BA104",
        )
    text = str(value).strip()
    shown = "the value" if name in _SECRET_FIELDS else f"'{text}'"
    if not text:
        raise ConfigurationError(
            f"{_label(name, source)} is set but blank.",
            fix=f"Set {_label(name, source)} to a value, or unset it.",
            code="BA101",
        )
    if text[0] in "\"'" or text[-1] in "\"'":
        raise ConfigurationError(
            f"{_label(name, source)} has quote characters around it.",
            fix=f"Remove the quotes from {_label(name, source)} (in .env files and profiles, write "
            "KEY=value without quotes).",
            code="BA102",
        )
    if _PLACEHOLDER.match(text):
        where = "" if name in _SECRET_FIELDS else f" {shown}"
        raise ConfigurationError(
            f"{_label(name, source)} holds an unexpanded placeholder{where}.",
            fix=f"Replace the placeholder in {_label(name, source)} with the real value "
            "(is the variable exported / the template rendered?).",
            code="BA103",
        )
    return text


def _bool(name: str, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(name, value, source).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(
        f"{_label(name, source)} must be true or false, not '{text}'.",
        fix=f"Set {_label(name, source)} to true or false.",
        code="BA162",
    )


def _build(
    auth_type: str,
    reason: str,
    host: WorkspaceHost | None,
    values: dict[str, Any],
    sources: dict[str, str],
    report: _Report,
    invalid: set[str],
) -> Settings:
    kw: dict[str, Any] = {}
    for name, value in values.items():
        try:
            kw[name] = _typed(name, value, sources.get(name, "explicit"))
        except ConfigurationError as err:
            report(err, name)
            invalid.add(name)
    if host is not None:
        kw["authority_host"] = host.entra_authority_host
        sources.setdefault("authority_host", f"detected from the host ({host.cloud})")
    if "ca_bundle" in kw and not Path(kw["ca_bundle"]).expanduser().is_file():
        label = _label("ca_bundle", sources["ca_bundle"])
        report(ConfigurationError(
            f"The CA bundle {kw.pop('ca_bundle')} ({label}) does not exist.",
            fix=f"Point {label} at a PEM bundle file (system CAs plus your proxy's or private CA), "
            "or unset it.",
            code="BA170",
        ), "ca_bundle")  # fmt: skip
        invalid.add("ca_bundle")
    return Settings(
        auth_type=auth_type,
        host=host,
        auth_type_reason=reason,
        sources=MappingProxyType(dict(sources)),
        **kw,
    )


def _typed(name: str, value: Any, source: str) -> Any:
    """One setting's value, typed and checked."""
    if name in ("profile", "config_file"):
        return value
    if name in _SECRET_FIELDS:
        return Secret(_text(name, value, source))
    if name in ("allow_plaintext_store", "interactive", "no_browser"):
        return _bool(name, value, source)
    if name in ("timeout", "login_timeout"):
        return _positive_float(name, value, source)
    if name == "browser":
        return _command(name, value, source)
    if name == "redirect_port":
        return _port(name, value, source)
    if name == "scopes":
        return _scopes(name, value, source)
    if name == "token_store":
        store = _text(name, value, source).lower()
        if store not in ("auto", "keyring", "file", "memory"):
            raise ConfigurationError(
                f"{_label(name, source)} must be auto, keyring, file or memory, not '{store}'.",
                fix=f"Set {_label(name, source)} to one of auto, keyring, file, memory.",
                code="BA163",
            )
        return store
    if name == "authority_host":
        return normalize_authority_host(_text(name, value, source))
    return _text(name, value, source)


def _positive_float(name: str, value: Any, source: str) -> float:
    try:
        number = float(value if isinstance(value, (int, float)) and not isinstance(value, bool) else
                       _text(name, value, source))  # fmt: skip
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ConfigurationError(
            f"{_label(name, source)} must be a positive number of seconds, not '{value}'.",
            fix=f"Set {_label(name, source)} to e.g. 30.",
            code="BA160",
        )
    return number


def _command(name: str, value: Any, source: str) -> str:
    """A command line (quotes allowed, unlike ``_text``) that splits into words."""
    from brickauth.browser import split_command

    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{_label(name, source)} must be a command line, e.g. 'firefox %s'.",
            fix=f"Set {_label(name, source)} to the command that opens a URL, or unset it.",
            code="BA164",
        )
    try:
        split_command(value)
    except ValueError:
        raise ConfigurationError(
            f"{_label(name, source)} cannot be split into a command (unbalanced quotes).",
            fix=f"Quote the program path in {_label(name, source)} as in a shell, e.g. "
            "'\"/path with spaces/browser\" %s'.",
            code="BA164",
        ) from None
    return value.strip()


def _port(name: str, value: Any, source: str) -> int:
    text = (
        str(value).strip()
        if isinstance(value, int) and not isinstance(value, bool)
        else _text(name, value, source)
    )
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ConfigurationError(
            f"{_label(name, source)} must be a port number from 0 to 65535, not '{text}'.",
            fix=f"Set {_label(name, source)} to a free port such as 8020 (0 picks any free port).",
            code="BA161",
        )
    return int(text)


def _scopes(name: str, value: Any, source: str) -> tuple[str, ...]:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_text(name, v, source) for v in value]
    else:
        items = re.split(r"[\s,]+", _text(name, value, source))
    return tuple(s for s in items if s)


# -- validation for the chosen flow ----------------------------------------------------------------


def _missing(name: str, settings: Settings, lookup: _Lookup, needs: str) -> ConfigurationError:
    family = settings.family
    spec = lookup._spec(name, family)
    blank = [s for s in lookup.blank if any(s == f"env:{v}" for v in spec.env) or any(
        s.endswith(f":{k}") for k in spec.profile_keys)]  # fmt: skip
    where = " or ".join(spec.env[:2]) if spec.env else name
    if blank:
        return ConfigurationError(
            f"{settings.auth_type} needs {needs}, but {blank[0].removeprefix('env:')} is set but blank.",
            fix=f"Set {blank[0].removeprefix('env:')} to the value (is the CI secret defined?).",
            code="BA101",
        )
    return ConfigurationError(
        f"{settings.auth_type} needs {needs}, which is not set.",
        fix=f"Set {where} (or pass {name}=).",
        code="BA130",
    )


def _validate_for_flow(s: Settings, lookup: _Lookup, report: _Report) -> None:
    if s.family == "azure":
        _validate_azure(s, lookup, report)
    else:
        _validate_databricks(s, lookup, report)


def _need(name: str, s: Settings, lookup: _Lookup, needs: str, report: _Report) -> None:
    if name not in lookup.invalid:  # set but invalid: reported already
        report(_missing(name, s, lookup, needs), name)


def _validate_azure(s: Settings, lookup: _Lookup, report: _Report) -> None:
    m2m = s.auth_type == "azure-m2m"
    if s.cloud in ("aws", "gcp"):
        report(ConfigurationError(
            f"{s.auth_type} uses Entra ID tokens, but {s.host} is a Databricks on {s.cloud.upper()} "
            "workspace, which does not accept them.",
            fix="Use databricks-m2m (DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET) or databricks-u2m.",
            code="BA148",
        ), "auth_type")  # fmt: skip
        return
    if s.tenant_id is None:
        if m2m:
            _need("tenant_id", s, lookup, "the Entra tenant id", report)
    else:
        problem = _tenant_problem(s.tenant_id, s.source_of("tenant_id") or "explicit", m2m)
        if problem is not None:
            report(problem, "tenant_id")
    if s.client_id is None:
        if m2m:
            _need("client_id", s, lookup, "the app registration's client id", report)
    elif not _GUID.match(s.client_id):
        label = _label("client_id", s.source_of("client_id") or "explicit")
        report(ConfigurationError(
            f"{label} '{s.client_id}' is not an Entra application (client) id.",
            fix=f"Set {label} to the Application (client) ID GUID from the app registration's Overview page.",
            code="BA133",
        ), "client_id")  # fmt: skip
    if not m2m:
        return
    kinds = [
        (name, s.source_of(name))
        for name in ("client_secret", "client_certificate_path", "federated_token_file")
        if s.source_of(name) is not None
    ]
    if not kinds:
        report(ConfigurationError(
            "azure-m2m needs a credential: a client secret, a certificate or a federated token file.",
            fix="Set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE.",
            code="BA134",
        ), "client_secret")  # fmt: skip
        return
    ranked = sorted(kinds, key=lambda kv: _layer_rank(kv[1] or ""))
    if len(ranked) > 1 and _layer_rank(ranked[0][1] or "") == _layer_rank(ranked[1][1] or ""):
        a, b = ranked[0], ranked[1]
        report(ConfigurationError(
            f"azure-m2m has two credentials at once: {_label(a[0], a[1] or '')} and "
            f"{_label(b[0], b[1] or '')}.",
            fix=f"Unset one of {_label(a[0], a[1] or '')} and {_label(b[0], b[1] or '')}.",
            code="BA147",
        ), a[0])  # fmt: skip
        return
    chosen = ranked[0][0]
    try:
        if chosen == "client_secret" and s.client_secret is not None:
            problem = secret_shape_problem(
                s.client_secret.reveal(), sent_to="azure", label=_label("client_secret", s.source_of(
                    "client_secret") or "explicit"), client_id=s.client_id)  # fmt: skip
            if problem is not None:
                raise problem
        elif chosen == "client_certificate_path" and s.client_certificate_path is not None:
            check_certificate(
                s.client_certificate_path, s.client_certificate_password, s.source_of(chosen) or ""
            )
        elif chosen == "federated_token_file" and s.federated_token_file is not None:
            check_federated_token_file(s.federated_token_file, s.source_of(chosen) or "")
    except ConfigurationError as err:
        report(err, chosen)


def azure_credential_kind(s: Settings) -> str:
    """Which of client_secret / client_certificate_path / federated_token_file azure-m2m uses."""
    kinds = [
        n for n in ("client_secret", "client_certificate_path", "federated_token_file") if s.source_of(n)
    ]
    return min(kinds, key=lambda n: _layer_rank(s.source_of(n) or "")) if kinds else "none"


def _layer_rank(source: str) -> int:
    return 0 if source == "explicit" else 1 if source.startswith("env:") else 2


def _tenant_problem(tenant: str, source: str, m2m: bool) -> ConfigurationError | None:
    label = _label("tenant_id", source)
    lowered = tenant.lower()
    if lowered in ("common", "organizations", "consumers"):
        if m2m:
            return ConfigurationError(
                f"{label} is '{tenant}', but service principals sign in to one specific tenant.",
                fix=f"Set {label} to the Directory (tenant) ID GUID from the app registration's "
                "Overview page.",
                code="BA132",
            )
        return None
    if _GUID.match(tenant) or _TENANT_DOMAIN.match(tenant):
        return None
    return ConfigurationError(
        f"{label} '{tenant}' is neither a tenant GUID nor a domain name.",
        fix=f"Set {label} to the Directory (tenant) ID GUID (or the domain, e.g. contoso.onmicrosoft.com).",
        code="BA131",
    )


def looks_like_databricks_secret(value: str) -> bool:
    """A Databricks OAuth secret: ``dose`` and hex."""
    return bool(_DATABRICKS_SECRET.match(value.strip()))


def looks_like_entra_secret(value: str) -> bool:
    """An Entra ID client secret value (``abc8Q~...``)."""
    return bool(_ENTRA_SECRET.match(value.strip()))


def secret_shape_problem(
    value: str, *, sent_to: Family, label: str = "client_secret", client_id: str | None = None
) -> ConfigurationError | None:
    """What is wrong with a client secret's shape for where it is sent (``azure``: Entra ID,
    ``databricks``: the workspace's OAuth server), or None: the client id pasted for it, a secret ID
    (a GUID) instead of its value, a Databricks ``dose`` secret sent to Entra, an Entra secret sent
    to Databricks. The one place these shapes are checked (settings validation and the doctor)."""
    if sent_to == "azure":
        if client_id is not None and value == client_id:
            return ConfigurationError(
                f"{label} equals the client id.",
                fix=f"Set {label} to the client secret's value, not the application id.",
                code="BA138",
            )
        if _GUID.match(value):
            return ConfigurationError(
                f"{label} looks like a secret ID (a GUID), not a secret value.",
                fix="In the app registration's Certificates & secrets page, copy the secret's Value column "
                "(shown once at creation; create a new secret if it is hidden).",
                code="BA135",
            )
        if _DATABRICKS_SECRET.match(value):
            return ConfigurationError(
                f"{label} is a Databricks OAuth secret (starts with 'dose'), but azure-m2m sends it to "
                "Entra ID.",
                fix="Use auth_type databricks-m2m with DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET, or set "
                f"{label} to the Entra client secret value.",
                code="BA136",
            )
        return None
    if value == client_id:
        return ConfigurationError(
            f"{label} equals the client id.",
            fix=f"Set {label} to the OAuth secret value (starts with 'dose').",
            code="BA138",
        )
    if _ENTRA_SECRET.match(value):
        return ConfigurationError(
            f"{label} looks like an Entra ID client secret, but databricks-m2m sends it to the workspace's "
            "OAuth endpoint.",
            fix="Use auth_type azure-m2m with AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, "
            "or create a "
            "Databricks OAuth secret (dose...) for the service principal.",
            code="BA137",
        )
    if _GUID.match(value):
        return ConfigurationError(
            f"{label} is a GUID: an application or secret ID, not a Databricks OAuth secret value.",
            fix="Set it to the OAuth secret value (starts with 'dose'), shown once when the secret "
            "is created.",
            code="BA135",
        )
    return None


def _validate_databricks(s: Settings, lookup: _Lookup, report: _Report) -> None:
    if s.host is None:
        _need("host", s, lookup, "the workspace host", report)
        return
    if s.auth_type != "databricks-m2m":
        return
    if s.client_id is None:
        _need("client_id", s, lookup, "the service principal's client (application) id", report)
    if s.client_secret is None:
        _need("client_secret", s, lookup, "a Databricks OAuth secret", report)
        return
    label = _label("client_secret", s.source_of("client_secret") or "explicit")
    problem = secret_shape_problem(
        s.client_secret.reveal(), sent_to="databricks", label=label, client_id=s.client_id
    )
    if problem is not None:
        report(problem, "client_secret")


# -- credential files ------------------------------------------------------------------------------


def check_certificate(path: str, password: Secret | None, source: str) -> None:
    """Fail early on a certificate file that is missing, not PEM, or holds no (usable) private key."""
    load_certificate(path, password, source)


def load_certificate(path: str, password: Secret | None, source: str) -> tuple[bytes, str, bytes]:
    """(private key PEM unencrypted, SHA-1 thumbprint hex, certificate PEM) from a PEM file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    label = _label("client_certificate_path", source)
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) does not exist.",
            fix=f"Point {label} at the PEM file holding the certificate and its private key.",
            code="BA140",
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) cannot be read ({type(exc).__name__}).",
            fix=f"Make {file} readable by this user.",
            code="BA141",
        ) from None
    if b"-----BEGIN" not in data:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) is not PEM (a .pfx/.der file?).",
            fix="Convert it: openssl pkcs12 -in cert.pfx -out cert.pem -nodes "
            "(PEM with certificate and key).",
            code="BA141",
        )
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) holds no certificate.",
            fix="Put the certificate (BEGIN CERTIFICATE) and its private key in one PEM file.",
            code="BA141",
        ) from None
    if b"PRIVATE KEY-----" not in data:
        raise ConfigurationError(
            f"The certificate file {file} ({label}) has a certificate but no private key.",
            fix="Append the private key (BEGIN PRIVATE KEY) to the file: "
            "cat cert.pem key.pem > combined.pem.",
            code="BA142",
        )
    try:
        key = serialization.load_pem_private_key(data, password.reveal().encode() if password else None)
    except TypeError:
        raise ConfigurationError(
            f"The private key in {file} ({label}) is encrypted and no password is set.",
            fix="Set AZURE_CLIENT_CERTIFICATE_PASSWORD to the key's password.",
            code="BA143",
        ) from None
    except ValueError:
        raise ConfigurationError(
            f"The private key in {file} ({label}) cannot be loaded (wrong password or corrupt key).",
            fix="Check AZURE_CLIENT_CERTIFICATE_PASSWORD, or re-export the key as PEM.",
            code="BA143",
        ) from None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise ConfigurationError(
            f"The private key in {file} ({label}) does not belong to its certificate.",
            fix="Put the certificate together with its own private key in the PEM file.",
            code="BA144",
        )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's x5t is SHA-1
    return key_pem, thumbprint, cert.public_bytes(serialization.Encoding.PEM)


def check_federated_token_file(path: str, source: str) -> str:
    """The federated token (a JWT) from its file, read afresh; raises if missing or empty."""
    label = _label("federated_token_file", source)
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigurationError(
            f"The federated token file {file} ({label}) does not exist.",
            fix=f"Point {label} at the projected service account token (workload identity) file.",
            code="BA145",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"The federated token file {file} ({label}) cannot be read ({type(exc).__name__}).",
            fix=f"Make {file} readable by this user.",
            code="BA145",
        ) from None
    if not text:
        raise ConfigurationError(
            f"The federated token file {file} ({label}) is empty.",
            fix="Check the workload identity token projection (it writes a JWT into this file).",
            code="BA146",
        )
    if text.count(".") != 2:
        raise ConfigurationError(
            f"The federated token file {file} ({label}) does not hold a JWT.",
            fix=f"Point {label} at the file holding the identity token (three dot-separated parts).",
            code="BA146",
        )
    return text
