"""Token stores: where U2M sign-ins (and optionally M2M tokens) are cached between runs.

``open_store()`` picks one: the OS keyring by default; when no keyring works, a plaintext file only if
the user opted in (``BRICKAUTH_ALLOW_PLAINTEXT_STORE=1`` or ``BRICKAUTH_TOKEN_STORE=file``), else
memory with one warning that says how to persist. A keyring that starts failing mid-run (timeout,
locked) is swapped for that fallback the same way, so a run never stalls on its token cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from brickauth.config.store import STORE_MODES, store_settings
from brickauth.errors import TokenStoreError
from brickauth.store.base import DEFAULT_LOCK_TIMEOUT, Document, TokenStore
from brickauth.store.file import FileStore
from brickauth.store.keys import StoreKey
from brickauth.store.memory import MemoryStore

log = logging.getLogger("brickauth.store")

_warned: set[str] = set()
_warned_guard = threading.Lock()


def _warn_once(tag: str, message: str, *args: object) -> None:
    with _warned_guard:
        if tag in _warned:
            return
        _warned.add(tag)
    log.warning(message, *args)


class ResilientStore:
    """The keyring, swapped for a fallback store (with one warning) the first time it fails."""

    def __init__(self, primary: TokenStore, fallback: TokenStore, why_fallback: str) -> None:
        self._primary: TokenStore | None = primary
        self._fallback = fallback
        self._why = why_fallback

    @property
    def active(self) -> TokenStore:
        return self._primary or self._fallback

    @property
    def name(self) -> str:
        return self.active.name

    def _fail(self, err: TokenStoreError) -> None:
        if self._primary is None:
            return
        self._primary = None
        _warn_once("fallback", "%s Using %s instead. %s", err, self._fallback.name, self._why)

    def _run(self, method: str, *args: Any) -> Any:
        primary = self._primary
        if primary is not None:
            try:
                return getattr(primary, method)(*args)
            except TokenStoreError as err:
                self._fail(err)
        return getattr(self._fallback, method)(*args)

    def load(self, key: StoreKey) -> Document | None:
        result: Document | None = self._run("load", key)
        return result

    def save(self, key: StoreKey, doc: Document) -> None:
        self._run("save", key, doc)

    def delete(self, key: StoreKey) -> None:
        self._run("delete", key)

    def keys(self) -> list[StoreKey]:
        result: list[StoreKey] = self._run("keys")
        return result

    def lock(self, key: StoreKey, *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> AbstractContextManager[None]:
        return self.active.lock(key, timeout=timeout)


def open_store(
    mode: str | None = None,
    *,
    allow_plaintext: bool | None = None,
    keyring_timeout: float | None = None,
    backend: Any = None,
    directory: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> TokenStore:
    """The token store for this process. Arguments override ``BRICKAUTH_TOKEN_STORE``
    (auto|keyring|file|memory), ``BRICKAUTH_ALLOW_PLAINTEXT_STORE`` and ``BRICKAUTH_KEYRING_TIMEOUT``
    (read by ``brickauth.config.store``)."""
    from brickauth.store.keyring_store import KeyringStore

    cfg = store_settings(mode, allow_plaintext=allow_plaintext, keyring_timeout=keyring_timeout, env=env)
    mode, allow_plaintext, keyring_timeout = cfg.mode, cfg.allow_plaintext, cfg.keyring_timeout
    root = directory or cfg.state_dir
    locks = root / "locks"
    if mode == "memory":
        return MemoryStore(lock_dir=locks)
    if mode == "file":
        return FileStore(root / "tokens", lock_dir=locks)
    try:
        keyring_store: TokenStore = KeyringStore(backend, timeout=keyring_timeout, lock_dir=locks)
    except TokenStoreError as err:
        if mode == "keyring":
            raise
        fallback, why = _fallback(root, allow_plaintext)
        _warn_once("fallback", "%s Using %s instead. %s", err, fallback.name, why)
        return fallback
    if mode == "keyring":
        return keyring_store
    fallback, why = _fallback(root, allow_plaintext)
    return ResilientStore(keyring_store, fallback, why)


def _fallback(root: Path, allow_plaintext: bool) -> tuple[TokenStore, str]:
    if allow_plaintext:
        store = FileStore(root / "tokens", lock_dir=root / "locks")
        return store, "Plaintext storage was allowed by BRICKAUTH_ALLOW_PLAINTEXT_STORE."
    return MemoryStore(lock_dir=root / "locks"), (
        "Tokens are not persisted: the next run will ask you to sign in again. To persist them, "
        "install a keyring backend (`pip install keyrings.alt` or a desktop keyring), or set "
        f"BRICKAUTH_ALLOW_PLAINTEXT_STORE=1 to allow a plaintext file under {root / 'tokens'} (mode 0600)."
    )


__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "STORE_MODES",
    "Document",
    "FileStore",
    "MemoryStore",
    "ResilientStore",
    "StoreKey",
    "TokenStore",
    "open_store",
]
