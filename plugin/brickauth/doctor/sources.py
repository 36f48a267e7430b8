"""Where doctor's settings come from: flags, environment, a ~/.databrickscfg profile, or a dbt target.

Doctor reads raw values and records the source of each (``"env:AZURE_CLIENT_ID"``) instead of
validating them on the way in: a malformed value is something to diagnose, not a reason to stop.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brickauth.errors import ConfigurationError
from brickauth.secret import Secret

SECRET_FIELDS = ("client_secret", "token")

# setting -> environment variables, first set wins (the names clients already read).
ENV_NAMES: dict[str, tuple[str, ...]] = {
    "host": ("DATABRICKS_HOST",),
    "http_path": ("DATABRICKS_HTTP_PATH", "BRICKAUTH_HTTP_PATH"),
    "auth_type": ("BRICKAUTH_AUTH_TYPE", "DATABRICKS_AUTH_TYPE"),
    "tenant_id": ("AZURE_TENANT_ID", "ARM_TENANT_ID"),
    "azure_client_id": ("AZURE_CLIENT_ID", "ARM_CLIENT_ID"),
    "azure_client_secret": ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"),
    "databricks_client_id": ("DATABRICKS_CLIENT_ID",),
    "databricks_client_secret": ("DATABRICKS_CLIENT_SECRET",),
    "token": ("DATABRICKS_TOKEN",),
    "authority_host": ("AZURE_AUTHORITY_HOST",),
    "client_certificate_path": ("AZURE_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PATH"),
    "federated_token_file": ("AZURE_FEDERATED_TOKEN_FILE",),
    "ca_bundle": ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"),
}
RAW_SECRET_FIELDS = ("azure_client_secret", "databricks_client_secret", "token")

# ~/.databrickscfg keys -> raw setting names.
CFG_KEYS = {
    "host": "host",
    "http_path": "http_path",
    "warehouse_id": "warehouse_id",
    "auth_type": "auth_type",
    "azure_tenant_id": "tenant_id",
    "azure_client_id": "azure_client_id",
    "azure_client_secret": "azure_client_secret",
    "client_id": "databricks_client_id",
    "client_secret": "databricks_client_secret",
    "token": "token",
}

# dbt profile keys -> raw setting names (type: databricks and type: brickauth).
DBT_KEYS = {
    "host": "host",
    "http_path": "http_path",
    "auth_type": "auth_type",
    "token": "token",
    "tenant_id": "tenant_id",
    "azure_tenant_id": "tenant_id",
    "azure_client_id": "azure_client_id",
    "azure_client_secret": "azure_client_secret",
    "authority_host": "authority_host",
    "catalog": "catalog",
    "schema": "schema",
    "redirect_port": "redirect_port",
}


@dataclass
class RawSettings:
    """Settings as found, before any validation; secret values are ``Secret``."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    origin: str = "environment"  # what was read: "environment", "profile DEFAULT", "dbt target dev"
    dbt_type: str | None = None
    # Problems met while reading (cause id, message), reported by the settings checks.
    problems: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value.reveal() if isinstance(value, Secret) else str(value)

    def set(self, name: str, value: Any, source: str, *, override: bool = False) -> None:
        if value is None or (isinstance(value, str) and value == ""):
            return
        if name in self.values and not override:
            return
        if name in RAW_SECRET_FIELDS and not isinstance(value, Secret):
            value = Secret(str(value))
        self.values[name] = value
        self.sources[name] = source

    def public(self) -> dict[str, Any]:
        """Values safe to print: secrets become ``"set"``."""
        out: dict[str, Any] = {}
        for name, value in sorted(self.values.items()):
            out[name] = "set (hidden)" if isinstance(value, Secret) else value
        return out


def gather(
    explicit: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    config_profile: str | None = None,
    dbt_target: str | None = None,
    dbt_profile: str | None = None,
    profiles_dir: Path | None = None,
    project_dir: Path | None = None,
) -> RawSettings:
    """Flags first, then a dbt target (when asked for) or env + ~/.databrickscfg."""
    env = os.environ if env is None else env
    raw = RawSettings()
    for name, value in explicit.items():
        raw.set(name, value, "flag:--" + name.replace("_", "-"))
    if dbt_target is not None:
        _from_dbt(raw, env, dbt_target, dbt_profile, profiles_dir, project_dir)
        # The CA bundle and authority host still come from the environment, as for dbt itself.
        for name in ("ca_bundle", "authority_host"):
            _from_env(raw, env, only=(name,))
        return raw
    _from_env(raw, env)
    profile = config_profile or env.get("DATABRICKS_CONFIG_PROFILE")
    path = config_file or Path(env.get("DATABRICKS_CONFIG_FILE") or Path.home() / ".databrickscfg")
    _from_databrickscfg(raw, path, profile)
    return raw


def _from_env(raw: RawSettings, env: Mapping[str, str], only: tuple[str, ...] = ()) -> None:
    for name, names in ENV_NAMES.items():
        if only and name not in only:
            continue
        for var in names:
            if env.get(var):
                raw.set(name, env[var], f"env:{var}")
                break


def _from_databrickscfg(raw: RawSettings, path: Path, profile: str | None) -> None:
    if not path.is_file():
        if profile:
            raise ConfigurationError(
                f"profile {profile!r} requested but {path} does not exist.",
                fix="create it with `databricks configure` or drop --profile.",
                code="BA150",
            )
        return
    parser = configparser.ConfigParser(interpolation=None, default_section="__none__")
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigurationError(
            f"{path} is not a valid INI file: {exc.__class__.__name__}.",
            fix="fix its syntax ([PROFILE] sections with key = value lines).",
            code="BA151",
        ) from None
    name = profile or "DEFAULT"
    if not parser.has_section(name):
        if profile:
            raise ConfigurationError(
                f"profile {profile!r} is not in {path} (it has: {', '.join(parser.sections()) or 'none'}).",
                fix="pass an existing --profile or set DATABRICKS_CONFIG_PROFILE.",
                code="BA150",
            )
        return
    raw.origin = f"~/.databrickscfg profile {name}" if not profile else f"profile {name}"
    for key, value in parser.items(name):
        target = CFG_KEYS.get(key)
        if target:
            raw.set(target, value.strip(), f"config:{path.name}[{name}].{key}")


# ---------------------------------------------------------------------------------------------------
# dbt profiles.yml, rendered the way dbt renders it (env_var() with an optional default)


class EnvVarMissing(ConfigurationError):
    code = "BA180"


def _render(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _render(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, env) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    try:
        import jinja2  # dbt's own renderer; present wherever dbt is
    except ImportError:  # pragma: no cover - dbt installs jinja2
        return _render_env_var_only(value, env)

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is not None:
            return str(default)
        raise EnvVarMissing(f"Env var required but not provided: '{name}'", fix=f"export {name}=...")

    # Rendering YAML values, not HTML: no autoescape (as dbt does).
    template = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string(value)  # noqa: S701
    return template.render(env_var=env_var)


_ENV_VAR_RE = re.compile(r"""\{\{\s*env_var\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)\s*\}\}""")


def _render_env_var_only(value: str, env: Mapping[str, str]) -> str:  # pragma: no cover
    def sub(m: re.Match[str]) -> str:
        if m.group(1) in env:
            return env[m.group(1)]
        if m.group(2) is not None:
            return m.group(2)
        raise EnvVarMissing(
            f"Env var required but not provided: '{m.group(1)}'", fix=f"export {m.group(1)}=..."
        )

    return _ENV_VAR_RE.sub(sub, value)


def _profiles_path(env: Mapping[str, str], profiles_dir: Path | None, project_dir: Path) -> Path:
    candidates = []
    if profiles_dir:
        candidates.append(profiles_dir)
    elif env.get("DBT_PROFILES_DIR"):
        candidates.append(Path(env["DBT_PROFILES_DIR"]))
    else:
        candidates += [project_dir, Path.home() / ".dbt"]
    for folder in candidates:
        if (folder / "profiles.yml").is_file():
            return folder / "profiles.yml"
    raise ConfigurationError(
        f"no profiles.yml in {', '.join(str(c) for c in candidates)}.",
        fix="pass --profiles-dir DIR (the folder holding profiles.yml) or set DBT_PROFILES_DIR.",
        code="BA181",
    )


def _from_dbt(
    raw: RawSettings,
    env: Mapping[str, str],
    target: str,
    profile: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
) -> None:
    import yaml

    project_dir = project_dir or Path.cwd()
    path = _profiles_path(env, profiles_dir, project_dir)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} is not a mapping.", fix="fix profiles.yml.", code="BA182")
    if profile is None:
        project_file = project_dir / "dbt_project.yml"
        if project_file.is_file():
            profile = (yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}).get("profile")
    names = [k for k in data if k != "config"]
    if profile is None:
        if len(names) != 1:
            raise ConfigurationError(
                f"cannot tell which profile of {path} to use (it has: {', '.join(names) or 'none'}).",
                fix="pass --profile NAME or run from the dbt project folder.",
                code="BA183",
            )
        profile = names[0]
    if profile not in data:
        raise ConfigurationError(
            f"Could not find profile named '{profile}' in {path}.",
            fix=f"use one of: {', '.join(names) or 'none'} (--profile NAME).",
            code="BA184",
        )
    outputs = (data[profile] or {}).get("outputs") or {}
    if target not in outputs:
        raise ConfigurationError(
            f"The profile '{profile}' does not have a target named '{target}'.",
            fix=f"use one of: {', '.join(outputs) or 'none'} (--dbt-target NAME).",
            code="BA185",
        )
    output: dict[str, Any] = {}
    for key, value in (outputs[target] or {}).items():
        try:
            output[key] = _render(value, env)
        except EnvVarMissing as err:
            raw.problems.append(("config.dbt_env_var_missing", f"{key}: {err.message}"))
    raw.origin = f"dbt target {target} of profile {profile} ({path})"
    raw.dbt_type = str(output.get("type", ""))
    where = f"dbt:{path.name}:{profile}.{target}"
    for key, value in output.items():
        name = DBT_KEYS.get(key)
        if name:
            raw.set(name, value, f"{where}.{key}")
    # client_id / client_secret mean Entra for type brickauth with an azure flow, Databricks otherwise.
    auth_type = str(output.get("auth_type") or "")
    azure = auth_type.startswith("azure") or (raw.dbt_type == "brickauth" and bool(output.get("tenant_id")))
    for key in ("client_id", "client_secret"):
        if output.get(key):
            raw.set(("azure_" if azure else "databricks_") + key, output[key], f"{where}.{key}")
