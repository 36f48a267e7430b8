"""``resolve_settings``/``check_settings``: look every setting up, pick the auth type (``auto`` asks
``brickauth.flows.auto``), type and validate what the chosen flow needs, so that a bad input fails
before any network call with a one-line ``ConfigurationError``. Sources are debug-logged, never a
secret's value."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from brickauth.config.coerce import maybe_str, source_label, text_value, typed_value
from brickauth.config.environment import environment
from brickauth.config.fields import (
    AUTH_TYPE_ALIASES,
    COMMON_FIELDS,
    EXPLICIT_NAMES,
    FAMILY_NAMES,
    UNSUPPORTED_AUTH_TYPES,
    family_of,
)
from brickauth.config.model import Report, Settings, SettingsCheck
from brickauth.config.sources import Lookup, load_profile, normalise_explicit
from brickauth.config.validate import validate_for_flow
from brickauth.errors import ConfigurationError
from brickauth.hosts import WorkspaceHost

log = logging.getLogger("brickauth.config")


def resolve_settings(
    explicit: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    *,
    require_host: bool = True,
) -> Settings:
    """Resolve and validate settings; raises ``ConfigurationError`` (one line) on bad input."""
    settings = _resolve(explicit, env, config_file, require_host, Report(collect=False)).settings
    assert settings is not None  # every problem raised
    for line in settings.describe():
        log.debug("setting %s", line)
    log.debug("auth type %s: %s", settings.auth_type, settings.auth_type_reason)
    return settings


def check_settings(
    explicit: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    *,
    require_host: bool = True,
) -> SettingsCheck:
    """Like ``resolve_settings``, but returns every problem instead of raising the first (for the
    doctor). A setting that fails is left unset and the rest are still resolved and validated."""
    return _resolve(explicit, env, config_file, require_host, Report(collect=True))


def _resolve(
    explicit: Mapping[str, Any] | None,
    env: Mapping[str, str] | None,
    config_file: str | os.PathLike[str] | None,
    require_host: bool,
    report: Report,
) -> SettingsCheck:
    env = environment(env)
    try:
        given = normalise_explicit(explicit or {})
    except ConfigurationError as err:
        report(err)
        given = {k: v for k, v in (explicit or {}).items() if k in EXPLICIT_NAMES and v is not None}
    try:
        profile_values, profile_label, cfg_path = load_profile(given, env, config_file)
    except ConfigurationError as err:
        report(err)
        profile_values, profile_label, cfg_path = {}, None, None
    lookup = Lookup(given, env, profile_values, profile_label)

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

    for name in (*COMMON_FIELDS, *FAMILY_NAMES):
        if name in ("host", "auth_type"):
            continue
        hit = lookup.get(name, family)
        if hit is None:
            continue
        raw, source = hit
        values[name] = raw
        sources[name] = source

    settings = _build(auth_type, reason, host, values, sources, report, lookup.invalid)
    validate_for_flow(settings, lookup, report)
    if not sources.get("host"):
        sources.pop("host", None)
    return done(settings, sources)


def _resolve_host(lookup: Lookup, require_host: bool) -> WorkspaceHost | None:
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
    text = text_value("host", value, source)
    authority = lookup.get("authority_host", "azure")
    authority_text = text_value("authority_host", *authority) if authority else None
    try:
        return WorkspaceHost.parse(text, authority_host=authority_text)
    except ConfigurationError as err:
        raise ConfigurationError(f"{err.message[:-1]} (from {source}).", fix=err.fix, code=err.code) from None


def _resolve_auth_type(lookup: Lookup, host: WorkspaceHost | None) -> tuple[str, str, str]:
    from brickauth.flows import FLOWS

    hit = lookup.get("auth_type", "databricks")
    if hit is not None and str(hit[0]).strip().lower() != "auto":
        value, source = hit
        name = text_value("auth_type", value, source).lower()
        name = AUTH_TYPE_ALIASES.get(name, name)
        if name in UNSUPPORTED_AUTH_TYPES:
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
        explicit_secret=maybe_str(lookup.explicit.get("client_secret")),
        tenant_id=lookup.source("tenant_id", "azure"),
        federated_token_file=lookup.source("federated_token_file", "azure"),
        client_certificate_path=lookup.source("client_certificate_path", "azure"),
        azure_client_id=lookup.source("client_id", "azure"),
        azure_client_secret=lookup.source("client_secret", "azure"),
        databricks_client_id=lookup.source("client_id", "databricks"),
        databricks_client_secret=lookup.source("client_secret", "databricks"),
        cloud=host.cloud if host else "unknown",
        blank=tuple(lookup.blank),
        **_fleet_configured(lookup),
    )
    name, reason = auto.choose(configured)
    if lookup.blank:  # issue 10: say what was ignored, so a blank CI secret is not a silent U2M switch
        ignored = ", ".join(b.removeprefix("env:") for b in lookup.blank)
        reason += f"; ignored {ignored} (set but blank)"
        log.warning("auth_type auto: ignored %s (set but blank); chose %s.", ignored, name)
    return name, f"auto: {reason}", "auto"


def _fleet_configured(lookup: Lookup) -> dict[str, Any]:
    """What ``auto``'s environment-identity links look at (fleet, issue 12): sources, and the environment."""
    use_msi = lookup.get("use_msi", "azure")
    on = use_msi is not None and str(use_msi[0]).strip().lower() in ("1", "true", "yes", "on")
    msi_ids = (lookup.source(n, "azure") for n in ("msi_resource_id", "msi_object_id", "msi_client_id"))
    return {
        "use_msi": use_msi[1] if on and use_msi is not None else None,
        "msi_id": next((src for src in msi_ids if src), None),
        "oidc_token_filepath": lookup.source("oidc_token_filepath", "databricks"),
        "oidc_token_env": lookup.source("oidc_token_env", "databricks"),
        "environment": lookup.env,
    }


def _build(
    auth_type: str,
    reason: str,
    host: WorkspaceHost | None,
    values: dict[str, Any],
    sources: dict[str, str],
    report: Report,
    invalid: set[str],
) -> Settings:
    kw: dict[str, Any] = {}
    for name, value in values.items():
        try:
            kw[name] = typed_value(name, value, sources.get(name, "explicit"))
        except ConfigurationError as err:
            report(err, name)
            invalid.add(name)
    if host is not None:
        kw["authority_host"] = host.entra_authority_host
        sources.setdefault("authority_host", f"detected from the host ({host.cloud})")
    if "ca_bundle" in kw and not Path(kw["ca_bundle"]).expanduser().is_file():
        label = source_label("ca_bundle", sources["ca_bundle"])
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
