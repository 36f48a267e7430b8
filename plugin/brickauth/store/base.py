"""The ``TokenStore`` protocol and what every store shares: JSON documents, index, locks."""

from __future__ import annotations

import json
import logging
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from brickauth.store.keys import StoreKey
from brickauth.store.lock import process_lock
from brickauth.store.paths import state_dir

log = logging.getLogger("brickauth.store")

Document = dict[str, Any]

# Seconds a sign-in may hold the lock; waiting processes wait a bit longer than one browser sign-in.
DEFAULT_LOCK_TIMEOUT = 180.0


@runtime_checkable
class TokenStore(Protocol):
    """Persists one JSON document per ``StoreKey``. Documents hold secrets: only flows read them."""

    @property
    def name(self) -> str:
        """Human description of where tokens live, e.g. ``keyring (SecretService Keyring)``."""

    def load(self, key: StoreKey) -> Document | None:
        """The document, or None when absent. A corrupt entry is dropped with a warning."""

    def save(self, key: StoreKey, doc: Document) -> None: ...

    def delete(self, key: StoreKey) -> None: ...

    def keys(self) -> list[StoreKey]:
        """Every key with a stored document."""

    def lock(self, key: StoreKey, *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> AbstractContextManager[None]:
        """A cross-process lock for ``key`` (held around sign-in and refresh)."""


def encode(doc: Document) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def decode(text: str, key_name: str, where: str) -> Document | None:
    """Parse a stored document; None (with a warning naming the entry, never its content) if corrupt."""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        log.warning("Dropped a corrupt token cache entry %s in %s; you may be asked to sign in again.",
                    key_name, where)
        return None
    return doc


class FileLocks:
    """Lock files under ``<state dir>/locks`` (shared by every store kind, so the lock holds even
    when two processes fell back to different stores)."""

    def __init__(self, lock_dir: Path | None = None) -> None:
        self._dir = lock_dir

    @property
    def directory(self) -> Path:
        return self._dir or state_dir() / "locks"

    def lock(
        self, key: StoreKey | str, *, timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> AbstractContextManager[None]:
        name = key if isinstance(key, str) else key.name
        return process_lock(self.directory / f"{name}.lock", timeout=timeout)
