"""Plaintext token files, used only when the user opted in: one file per key, mode 0600, each write an
atomic replace, under ``<state dir>/tokens`` (mode 0700)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

from brickauth.errors import TokenStoreError
from brickauth.store.base import DEFAULT_LOCK_TIMEOUT, Document, FileLocks, decode, encode, log
from brickauth.store.keys import StoreKey
from brickauth.store.paths import private_dir, state_dir

TMP_PREFIX = ".tmp-"  # + "<pid>-": a save's temporary file, renamed over the token file when complete
STALE_UNKNOWN_TMP = 600.0  # seconds after which a temporary file of unknown origin counts as left over


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: someone else's live process
        return True
    return True


class FileStore:
    def __init__(self, directory: Path | None = None, *, lock_dir: Path | None = None) -> None:
        self._dir = directory
        self._locks = FileLocks(lock_dir)
        self.sweep()  # the next start removes what a killed save left behind

    def sweep(self) -> int:
        """Delete temporary files (token copies) of saves whose process died (kill -9 mid-save);
        returns how many. Never touches a live process's file."""
        directory = self.directory
        if not directory.is_dir():
            return 0
        removed = 0
        for path in directory.glob(f"{TMP_PREFIX}*"):
            pid_text = path.name[len(TMP_PREFIX):].split("-", 1)[0]
            try:
                stale = not _alive(int(pid_text)) if pid_text.isdigit() else (
                    time.time() - path.stat().st_mtime > STALE_UNKNOWN_TMP)
                if stale:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        if removed:
            log.debug("removed %d temporary token file(s) of interrupted saves in %s", removed, directory)
        return removed

    def purge(self) -> None:
        """``logout --all``: no token file left, corrupt or unlisted ones included."""
        self.sweep()
        if self.directory.is_dir():
            for path in self.directory.glob("brickauth-*.json"):
                with contextlib.suppress(OSError):
                    path.unlink()

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
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=directory)  # created 0600
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
        self.sweep()

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
