"""Plaintext token files, used only when the user opted in: one file per key, mode 0600, each write an
atomic replace, under ``<state dir>/tokens`` (mode 0700)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path

from brickauth.errors import TokenStoreError
from brickauth.store.base import DEFAULT_LOCK_TIMEOUT, Document, FileLocks, decode, encode, log
from brickauth.store.keys import StoreKey
from brickauth.store.paths import private_dir, state_dir


class FileStore:
    def __init__(self, directory: Path | None = None, *, lock_dir: Path | None = None) -> None:
        self._dir = directory
        self._locks = FileLocks(lock_dir)

    @property
    def directory(self) -> Path:
        return self._dir or state_dir() / "tokens"

    @property
    def name(self) -> str:
        return f"file (plaintext, {self.directory})"

    def _path(self, key: StoreKey) -> Path:
        return self.directory / f"{key.name}.json"

    def load(self, key: StoreKey) -> Document | None:
        path = self._path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(
                f"Cannot read the token file {path}: {exc.strerror}.",
                fix=f"check the permissions of {path.parent} (it should belong to you, mode 0700).",
                code="BA420",
            ) from None
        outer = decode(text, key.name, str(path))
        doc = outer.get("doc") if outer else None
        if not isinstance(doc, dict):
            if outer is not None:
                log.warning("Dropped a corrupt token cache entry %s in %s.", key.name, path)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return doc

    def save(self, key: StoreKey, doc: Document) -> None:
        directory = private_dir(self.directory)
        text = encode({"key": key.to_json(), "doc": doc})
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            if sys.platform != "win32":
                os.chmod(tmp, 0o600)
            os.replace(tmp, self._path(key))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise TokenStoreError(
                f"Cannot write the token file in {directory}: {exc.strerror}.",
                fix=f"make {directory} writable by you, or set BRICKAUTH_STATE_DIR to a writable folder.",
                code="BA421",
            ) from None

    def delete(self, key: StoreKey) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def keys(self) -> list[StoreKey]:
        found: list[StoreKey] = []
        if not self.directory.is_dir():
            return found
        for path in sorted(self.directory.glob("brickauth-*.json")):
            try:
                found.append(StoreKey.from_json(json.loads(path.read_text(encoding="utf-8"))["key"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # corrupt: load() drops it
        return found

    def lock(self, key: StoreKey, *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> AbstractContextManager[None]:
        return self._locks.lock(key, timeout=timeout)
