"""Token store settings: which store, whether plaintext is allowed, keyring call bound, state folder.

Read here (the one reader of brickauth's environment) for every caller of ``brickauth.store.open_store``,
including the CLI's ``status``/``logout`` that have no flow settings.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from brickauth.config.environment import environment
from brickauth.config.fields import TokenStoreKind
from brickauth.errors import ConfigurationError

STORE_MODES: tuple[TokenStoreKind, ...] = ("auto", "keyring", "file", "memory")
DEFAULT_KEYRING_TIMEOUT = 3.0  # seconds per keyring call (the Databricks CLI bounds them at 3 s too)
STATE_DIR_ENV = "BRICKAUTH_STATE_DIR"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class StoreSettings:
    mode: TokenStoreKind
    allow_plaintext: bool
    keyring_timeout: float
    state_dir: Path


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$BRICKAUTH_STATE_DIR``, else ``%LOCALAPPDATA%\\brickauth`` on Windows, else
    ``$XDG_STATE_HOME/brickauth`` (``~/.local/state/brickauth``)."""
    env = environment(env)
    explicit = env.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "brickauth"
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "brickauth"


def store_settings(
    mode: str | None = None,
    *,
    allow_plaintext: bool | None = None,
    keyring_timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> StoreSettings:
    """Arguments win over ``BRICKAUTH_TOKEN_STORE`` (auto|keyring|file|memory),
    ``BRICKAUTH_ALLOW_PLAINTEXT_STORE``, ``BRICKAUTH_KEYRING_TIMEOUT`` and ``BRICKAUTH_STATE_DIR``."""
    env = environment(env)
    chosen = (mode or env.get("BRICKAUTH_TOKEN_STORE") or "auto").strip().lower()
    if chosen not in STORE_MODES:
        raise ConfigurationError(
            f"Unknown token store {chosen!r}.",
            fix=f"set BRICKAUTH_TOKEN_STORE to one of {', '.join(STORE_MODES)}.",
            code="BA197",
        )
    if allow_plaintext is None:
        allow_plaintext = env.get("BRICKAUTH_ALLOW_PLAINTEXT_STORE", "").strip().lower() in _TRUE
    if keyring_timeout is None:
        raw = env.get("BRICKAUTH_KEYRING_TIMEOUT", "").strip()
        try:
            keyring_timeout = float(raw) if raw else DEFAULT_KEYRING_TIMEOUT
        except ValueError:
            raise ConfigurationError(
                f"BRICKAUTH_KEYRING_TIMEOUT={raw!r} is not a number of seconds.",
                fix="set it to a number such as 3 or 10.",
                code="BA198",
            ) from None
    return StoreSettings(chosen, allow_plaintext, keyring_timeout, state_dir(env))  # type: ignore[arg-type]
