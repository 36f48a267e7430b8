"""Settings: explicit arguments, then environment variables, then a ``~/.databrickscfg`` profile.

The only reader of brickauth's environment variables. Modules, one job each:
``fields`` (names, env variables, profile keys), ``sources`` (the layered lookup and the config file),
``coerce`` (typed values), ``model`` (``Settings``), ``validate`` (what each flow needs) and
``resolve`` (``resolve_settings``/``check_settings``). Import public names from here.
"""

from __future__ import annotations

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
    "SettingProblem",
    "Settings",
    "SettingsCheck",
    "TokenStoreKind",
    "azure_credential_kind",
    "check_settings",
    "family_of",
    "looks_like_databricks_secret",
    "resolve_settings",
    "secret_shape_problem",
]
