"""Settings: explicit arguments, then environment variables, then a ``~/.databrickscfg`` profile.

The only reader of brickauth's environment variables (``environment`` holds the one read of
``os.environ``; a test keeps every other module from it). Modules, one job each: ``environment`` (the
process environment, and ``Platform``: CI OIDC and managed identity endpoints, subject token
variables), ``fields`` (names, env variables, profile keys), ``sources`` (the layered lookup and the
config file), ``coerce`` (typed values), ``model`` (``Settings``), ``validate`` (what each flow needs)
and ``resolve`` (``resolve_settings``/``check_settings``). Import public names from here.
"""

from __future__ import annotations

from brickauth.config.environment import Platform, environment
from brickauth.config.fields import (
    AUTH_TYPE_ALIASES,
    DEFAULT_LOGIN_TIMEOUT,
    DEFAULT_TIMEOUT,
    EXPLICIT_NAMES,
    Family,
    TokenStoreKind,
    family_of,
)
from brickauth.config.model import SettingProblem, Settings, SettingsCheck
from brickauth.config.resolve import check_settings, resolve_settings
from brickauth.config.sources import config_path, config_profile
from brickauth.config.validate import (
    azure_credential_kind,
    looks_like_databricks_secret,
    secret_shape_problem,
)

__all__ = [
    "AUTH_TYPE_ALIASES",
    "DEFAULT_LOGIN_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "EXPLICIT_NAMES",
    "Family",
    "Platform",
    "SettingProblem",
    "Settings",
    "SettingsCheck",
    "TokenStoreKind",
    "azure_credential_kind",
    "check_settings",
    "config_path",
    "config_profile",
    "environment",
    "family_of",
    "looks_like_databricks_secret",
    "resolve_settings",
    "secret_shape_problem",
]
