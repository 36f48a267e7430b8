"""Tokens kept in this process only (used when no keyring works and plaintext was not allowed)."""

from __future__ import annotations

import copy
import threading
from contextlib import AbstractContextManager
from pathlib import Path

from brickauth.store.base import DEFAULT_LOCK_TIMEOUT, Document, FileLocks
from brickauth.store.keys import StoreKey


class MemoryStore:
    def __init__(self, *, lock_dir: Path | None = None) -> None:
        self._docs: dict[StoreKey, Document] = {}
        self._guard = threading.Lock()
        self._locks = FileLocks(lock_dir)

    @property
    def name(self) -> str:
        return "memory (this process only)"

    def load(self, key: StoreKey) -> Document | None:
        with self._guard:
            doc = self._docs.get(key)
            return copy.deepcopy(doc) if doc is not None else None

    def save(self, key: StoreKey, doc: Document) -> None:
        with self._guard:
            self._docs[key] = copy.deepcopy(doc)

    def delete(self, key: StoreKey) -> None:
        with self._guard:
            self._docs.pop(key, None)

    def keys(self) -> list[StoreKey]:
        with self._guard:
            return list(self._docs)

    def lock(self, key: StoreKey, *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> AbstractContextManager[None]:
        return self._locks.lock(key, timeout=timeout)
