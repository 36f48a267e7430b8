"""Where settings come from: explicit arguments, then environment variables, then a ``~/.databrickscfg``
profile; each hit remembers its source (``"explicit"``, ``"env:NAME"``, ``"profile:PATH[NAME]:key"``)."""

from __future__ import annotations

import configparser
import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brickauth.config.environment import environment
from brickauth.config.fields import (
    COMMON_FIELDS,
    EXPLICIT_ALIASES,
    EXPLICIT_NAMES,
    FAMILY_FIELDS,
    FAMILY_NAMES,
    Family,
    FieldSpec,
)
from brickauth.errors import ConfigurationError

log = logging.getLogger("brickauth.config")


class Lookup:
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

    def _spec(self, name: str, family: Family) -> FieldSpec:
        return FAMILY_FIELDS[family][name] if name in FAMILY_NAMES else COMMON_FIELDS[name]

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

    def _checked(self, name: str, value: Any, source: str, spec: FieldSpec) -> tuple[Any, str] | None:
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


def normalise_explicit(explicit: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in explicit.items():
        name = EXPLICIT_ALIASES.get(key, key)
        if name not in EXPLICIT_NAMES:
            close = difflib.get_close_matches(key, [*EXPLICIT_NAMES, *EXPLICIT_ALIASES], n=1)
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


def config_profile(env: Mapping[str, str] | None = None) -> str | None:
    """``DATABRICKS_CONFIG_PROFILE`` as set (not stripped), or None when unset or empty."""
    return environment(env).get("DATABRICKS_CONFIG_PROFILE") or None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file the CLI reads and writes: ``DATABRICKS_CONFIG_FILE``, else ``~/.databrickscfg``."""
    return Path(environment(env).get("DATABRICKS_CONFIG_FILE", "").strip() or "~/.databrickscfg").expanduser()


def load_profile(
    given: Mapping[str, Any], env: Mapping[str, str], config_file: str | os.PathLike[str] | None
) -> tuple[dict[str, str], str | None, Path | None]:
    named_profile: str | None = None
    profile_source = "default"
    if "profile" in given:
        named_profile, profile_source = str(given["profile"]).strip(), "explicit"
    elif (from_env := (config_profile(env) or "").strip()):
        named_profile, profile_source = from_env, "env:DATABRICKS_CONFIG_PROFILE"
    if "config_file" in given:
        path_text, file_source = str(given["config_file"]), "explicit"
    elif config_file is not None:
        path_text, file_source = os.fspath(config_file), "argument"
    else:  # the file the CLI reads and writes
        path_text = str(config_path(env))
        file_from_env = bool(env.get("DATABRICKS_CONFIG_FILE", "").strip())
        file_source = "env:DATABRICKS_CONFIG_FILE" if file_from_env else "default"
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


def layer_rank(source: str) -> int:
    return 0 if source == "explicit" else 1 if source.startswith("env:") else 2
