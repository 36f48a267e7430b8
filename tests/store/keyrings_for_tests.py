"""Real keyring backends (``keyring.backend.KeyringBackend`` subclasses) for tests.

Select one in any process with ``PYTHON_KEYRING_BACKEND=keyrings_for_tests.FileKeyring`` (this folder
on ``PYTHONPATH``) and ``BRICKAUTH_TEST_KEYRING_FILE=/path/keyring.json``.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError, PasswordSetError

# keyring's discovery instantiates every KeyringBackend subclass a process has imported and picks the
# highest priority (its chainer takes every one above 0). These backends are for tests that select
# them by name or instance only: a negative priority keeps them out of discovery, and a FileKeyring
# without a file raises TypeError, which discovery skips (a test that imported this module must not
# change which keyring a later test of the same process discovers).
NOT_DISCOVERED = -1


class FileKeyring(KeyringBackend):
    """Persists entries to one JSON file, shared by every process that names the same file."""

    priority = NOT_DISCOVERED  # type: ignore[assignment]

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        path = path or os.environ.get("BRICKAUTH_TEST_KEYRING_FILE")
        if not path:
            raise TypeError("FileKeyring needs a path or BRICKAUTH_TEST_KEYRING_FILE")
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self.path.read_text()) if self.path.exists() else {}
            except ValueError:
                data = {}
            before = dict(data)
            yield data
            if data != before:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(data))
                os.replace(tmp, self.path)

    def entries(self) -> dict[str, str]:
        with self._locked() as data:
            return dict(data)

    def get_password(self, service: str, username: str) -> str | None:
        with self._locked() as data:
            return data.get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked() as data:
            data[f"{service}\x00{username}"] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._locked() as data:
            if data.pop(f"{service}\x00{username}", None) is None:
                raise PasswordDeleteError("not found")


class LimitedFileKeyring(FileKeyring):
    """Refuses entries over 1280 characters, the way Windows Credential Manager does."""

    limit = 1280

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password) > self.limit:
            raise PasswordSetError("(1783, 'CredWrite', 'The stub received bad data.')")
        super().set_password(service, username, password)


class HangingKeyring(KeyringBackend):
    """Never answers (a Secret Service waiting on an unlock prompt) until ``release`` is set."""

    priority = NOT_DISCOVERED  # type: ignore[assignment]
    release = threading.Event()
    calls = 0

    def _hang(self, *args: Any) -> None:
        type(self).calls += 1
        type(self).release.wait()

    def get_password(self, service: str, username: str) -> str | None:
        self._hang()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang()

    def delete_password(self, service: str, username: str) -> None:
        self._hang()
