"""Where doctor's settings come from: flags, environment, a ~/.databrickscfg profile, or a dbt target.

Flags and a dbt target become the explicit layer of ``brickauth.config.check_settings``, which reads
the environment and the profile exactly as the library does and returns every problem instead of the
first: a malformed value is something to diagnose, not a reason to stop. Doctor adds only what the
library does not read: a personal access token (``DATABRICKS_TOKEN``), ``warehouse_id`` and the dbt
target's catalog and schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brickauth.config import EXPLICIT_NAMES, SettingsCheck, check_settings, environment, family_of
from brickauth.errors import ConfigurationError
from brickauth.secret import Secret

# Settings brickauth itself does not read, that doctor looks at.
EXTRA_NAMES = ("token", "warehouse_id", "catalog", "schema")
# Problems that stop doctor before any check (exit 2): the input cannot be read as asked.
USAGE_CODES = frozenset({"BA121", "BA150", "BA151"})
MISSING_CONFIG_FILE = "BA152"  # --config-file that does not exist: read as "no profile"

# dbt-databricks (type: databricks) keys -> brickauth setting names; type: brickauth keys are ours.
DBT_DATABRICKS_KEYS = {
    "host": "host",
    "http_path": "http_path",
    "auth_type": "auth_type",
    "token": "token",
    "azure_tenant_id": "tenant_id",
    "azure_client_id": "client_id",
    "azure_client_secret": "client_secret",
    "client_id": "client_id",
    "client_secret": "client_secret",
    "catalog": "catalog",
    "schema": "schema",
}


# The keys dbt accepts in a target: dbt-databricks' DatabricksCredentials fields and aliases, and what
# `type: brickauth` adds (plugin/dbt/adapters/brickauth/credentials.py SETTING_KEYS; tests keep these
# lists true without importing dbt, which takes seconds).
DBT_DATABRICKS_FIELDS: frozenset[str] = frozenset({
    "type", "threads", "database", "catalog", "target_catalog", "target_database", "schema", "host",
    "http_path", "token", "client_id", "client_secret", "azure_client_id", "azure_client_secret",
    "oauth_redirect_url", "oauth_scopes", "session_properties", "connection_parameters", "auth_type",
    "oidc_token_filepath", "compute", "query_tags", "connect_retries", "connect_timeout", "retry_all",
    "connect_max_idle",
})  # fmt: skip
BRICKAUTH_PROFILE_KEYS: frozenset[str] = frozenset({
    "tenant_id", "client_id", "client_secret", "client_certificate_path", "client_certificate_password",
    "federated_token_file", "authority_host", "redirect_port", "login_hint", "token_store",
    "allow_plaintext_store", "interactive", "scopes", "ca_bundle", "profile", "token_cache",
})  # fmt: skip
# dbt-databricks keys that type: brickauth refuses (its REPLACED_KEYS).
BRICKAUTH_REPLACED_KEYS: frozenset[str] = frozenset({
    "token", "azure_client_id", "azure_client_secret", "oauth_redirect_url", "oauth_scopes",
    "oidc_token_filepath",
})  # fmt: skip


@dataclass
class RawSettings:
    """What doctor read: the explicit layer handed to ``check_settings``, its result, and the extras."""

    explicit: dict[str, Any] = field(default_factory=dict)  # brickauth.config names
    labels: dict[str, str] = field(default_factory=dict)  # explicit name -> "flag:--host", "dbt:..."
    extras: dict[str, Any] = field(default_factory=dict)  # token (a Secret), warehouse_id, catalog, schema
    env: Mapping[str, str] = field(default_factory=dict)
    config_file: Path | None = None
    check: SettingsCheck | None = None
    origin: str = "environment"  # what was read: "environment", "profile DEFAULT", "dbt target dev"
    dbt_type: str | None = None
    dbt_output: dict[str, Any] = field(default_factory=dict)  # the dbt target as rendered (may hold secrets)
    # Problems met while reading (cause id, message), reported by the settings checks.
    problems: list[tuple[str, str]] = field(default_factory=list)
    # Every setting found -> where from (doctor-json.md: ``flag:``, ``env:``, ``config:``, ``dbt:``);
    # client id and secret are named by family (``azure_client_secret``, ``databricks_client_id``).
    sources: dict[str, str] = field(default_factory=dict)

    def raw_text(self, name: str) -> str | None:
        """The value of a setting as written where it was found (before any parsing)."""
        assert self.check is not None
        source = self.check.sources.get(name, "")
        value: Any = None
        if source == "explicit":
            value = self.explicit.get(name)
        elif source.startswith("env:"):
            value = self.env.get(source[4:])
        elif source.startswith("profile:"):
            value = self.check.profile.get(source.rsplit(":", 1)[-1])
        if isinstance(value, Secret):
            return value.reveal()
        return None if value is None else str(value)

    def public(self) -> dict[str, Any]:
        """Values safe to print: secrets become ``"set (hidden)"``."""
        out: dict[str, Any] = {}
        values = {**self.explicit, **self.extras}
        for name, value in sorted(values.items()):
            out[name] = "set (hidden)" if isinstance(value, Secret) or "secret" in name else value
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
    """Flags first, then a dbt target (when asked for), then env + ~/.databrickscfg (as the library).

    Raises ``ConfigurationError`` for input doctor cannot read as asked (unknown dbt target or profile,
    a missing ~/.databrickscfg profile): a usage error."""
    env = environment(env)
    raw = RawSettings(env=env, config_file=config_file)
    for name, value in explicit.items():
        _set(raw, name, value, "flag:--" + name.replace("_", "-"))
    if dbt_target is not None:
        _from_dbt(raw, env, dbt_target, dbt_profile, profiles_dir, project_dir)
    elif config_profile:
        raw.explicit["profile"] = config_profile
    _resolve(raw)
    return raw


def _set(raw: RawSettings, name: str, value: Any, label: str) -> None:
    if value is None or (isinstance(value, str) and value == ""):
        return
    name = {"azure_client_id": "client_id", "databricks_client_id": "client_id",
            "azure_client_secret": "client_secret", "databricks_client_secret": "client_secret",
            "azure_tenant_id": "tenant_id"}.get(name, name)  # fmt: skip
    target = raw.extras if name in EXTRA_NAMES else raw.explicit
    if name in target or (name not in EXTRA_NAMES and name not in EXPLICIT_NAMES):
        return
    if name in ("token", "client_secret", "client_certificate_password") and not isinstance(value, Secret):
        value = Secret(str(value))
    target[name] = value
    raw.labels[name] = label


def resolve(raw: RawSettings, auth_type: str | None = None) -> SettingsCheck:
    """``check_settings`` over doctor's explicit layer (``auth_type`` overrides the configured one)."""
    explicit = {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in raw.explicit.items()}
    if auth_type is not None:
        explicit["auth_type"] = auth_type
    check = check_settings(explicit, env=raw.env, config_file=raw.config_file)
    usage = [p.error for p in check.problems if p.error.code in USAGE_CODES]
    if usage:
        raise usage[0]
    return check


def _resolve(raw: RawSettings) -> None:
    check = resolve(raw)
    raw.check = check
    settings = check.settings
    if raw.dbt_type is None and settings is not None and settings.profile:
        raw.origin = f"~/.databrickscfg profile {settings.profile}"
    family = settings.family if settings else family_of(str(raw.explicit.get("auth_type") or ""))
    for name, source in check.sources.items():
        if name in ("client_id", "client_secret"):
            name_shown = f"{family}_{name}"
        else:
            name_shown = name
        raw.sources[name_shown] = _label(raw, name, source)
    for name in raw.extras:
        raw.sources[name] = raw.labels[name]
    # A personal access token and warehouse_id are doctor's own: env, then the profile.
    if "token" not in raw.extras:
        if env_token := raw.env.get("DATABRICKS_TOKEN", "").strip():
            raw.extras["token"], raw.sources["token"] = Secret(env_token), "env:DATABRICKS_TOKEN"
    for key in ("token", "warehouse_id"):
        if key not in raw.extras and check.profile.get(key, "").strip():
            value = check.profile[key].strip()
            raw.extras[key] = Secret(value) if key == "token" else value
            raw.sources[key] = _profile_label(raw, key)


def _label(raw: RawSettings, name: str, source: str) -> str:
    """brickauth.config' source names in doctor's report format (docs/doctor-json.md)."""
    if source == "explicit":
        return raw.labels.get(name, "flag")
    if source.startswith("profile:"):
        return _profile_label(raw, source.rsplit(":", 1)[-1])
    return source


def _profile_label(raw: RawSettings, key: str) -> str:
    """``profile:/home/me/.databrickscfg[ci]:key`` -> ``config:.databrickscfg[ci].key``."""
    assert raw.check is not None
    settings = raw.check.settings
    if settings is not None and settings.config_file and settings.profile:
        return f"config:{Path(settings.config_file).name}[{settings.profile}].{key}"
    source = next((s for s in raw.check.sources.values() if s.startswith("profile:")), "profile:?:")
    return f"config:{Path(source[8:].rsplit(':', 1)[0]).name}.{key}"


# ---------------------------------------------------------------------------------------------------
# dbt profiles.yml, rendered the way dbt renders it (env_var() with an optional default)


class EnvVarMissing(ConfigurationError):
    code = "BA180"


def _render(value: Any, env: Mapping[str, str]) -> Any:
    """A profile value rendered as dbt renders it (``env_var`` with an optional default); raises
    ``EnvVarMissing`` for an unset variable, jinja2's ``TemplateError`` for a broken template."""
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


def _read_yaml(path: Path) -> Any:
    """A YAML file as dbt reads it; a syntax error is a one-line usage error (BA186)."""
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {path} ({exc.strerror or type(exc).__name__}).",
            fix="check the file's path and permissions.",
            code="BA186",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigurationError(
            f"{path} is not valid YAML{where}: {problem}.",
            fix="fix the YAML there (indentation, a missing colon, unbalanced quotes) and run again.",
            code="BA186",
        ) from None


def _mapping(value: Any, what: str, path: Path) -> dict[str, Any]:
    """``value`` when it is a mapping (as dbt requires), else a one-line usage error (BA189)."""
    if isinstance(value, dict):
        return value
    shown = "empty" if value is None else f"a {type(value).__name__}"
    raise ConfigurationError(
        f"{what} in {path} is {shown}, not a mapping of keys to values.",
        fix="write it as dbt documents: profile: {target: ..., outputs: {NAME: {type: ..., host: ...}}}.",
        code="BA189",
    )


def _from_dbt(
    raw: RawSettings,
    env: Mapping[str, str],
    target: str,
    profile: str | None,
    profiles_dir: Path | None,
    project_dir: Path | None,
) -> None:
    project_dir = project_dir or Path.cwd()
    path = _profiles_path(env, profiles_dir, project_dir)
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} is not a mapping.", fix="fix profiles.yml.", code="BA182")
    if profile is None:
        project_file = project_dir / "dbt_project.yml"
        if project_file.is_file():
            project = _read_yaml(project_file) or {}
            profile = project.get("profile") if isinstance(project, dict) else None
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
    outputs = _mapping(_mapping(data[profile], f"profile '{profile}'", path).get("outputs") or {},
                       f"outputs of profile '{profile}'", path)  # fmt: skip
    if target not in outputs:
        raise ConfigurationError(
            f"The profile '{profile}' does not have a target named '{target}'.",
            fix=f"use one of: {', '.join(outputs) or 'none'} (--dbt-target NAME).",
            code="BA185",
        )
    output: dict[str, Any] = {}
    for key, value in _mapping(outputs[target], f"target '{target}' of profile '{profile}'", path).items():
        try:
            output[key] = _render(value, env)
        except EnvVarMissing as err:
            raw.problems.append(("config.dbt_env_var_missing", f"{key}: {err.message}"))
        except Exception as exc:  # jinja2's TemplateError (syntax, undefined name): dbt refuses too
            detail = " ".join(str(exc).split())[:160]
            raise ConfigurationError(
                f"{path}: the value of `{key}` in target '{target}' is not a valid dbt template "
                f"({type(exc).__name__}: {detail}).",
                fix="write it as dbt does, e.g. \"{{ env_var('NAME') }}\" or "
                "\"{{ env_var('NAME', 'default') }}\".",
                code="BA193",
            ) from None
    raw.origin = f"dbt target {target} of profile {profile} ({path})"
    raw.dbt_type = str(output.get("type", ""))
    raw.dbt_output = output
    where = f"dbt:{path.name}:{profile}.{target}"
    if raw.dbt_type == "brickauth":  # our adapter: profile keys are brickauth setting names
        keys = {k: k for k in output if k in EXPLICIT_NAMES or k in EXTRA_NAMES}
    else:
        keys = {k: v for k, v in DBT_DATABRICKS_KEYS.items() if k in output}
        oauth = str(output.get("auth_type") or "").strip().lower() == "oauth"
        if oauth and "auth_type" not in raw.explicit:
            # dbt-databricks: oauth with a secret is M2M (Entra with azure_*, else Databricks), else U2M.
            raw.explicit["auth_type"] = (
                "azure-m2m" if output.get("azure_client_secret")
                else "databricks-m2m" if output.get("client_secret") else "databricks-u2m"
            )
            raw.labels["auth_type"] = f"{where}.auth_type"
    for key, name in keys.items():
        _set(raw, name, output[key], f"{where}.{key}")
