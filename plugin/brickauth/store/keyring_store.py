"""Tokens in the OS keyring (through the ``keyring`` library), with two guards users need:

* every keyring call runs in a worker thread and is abandoned after ``timeout`` seconds (Secret Service
  can hang on an unlock prompt; the Databricks CLI bounds each call at 3 s). After a timeout the
  store refuses further calls at once, so the caller falls back instead of stalling again.
* a document larger than the backend holds (Windows Credential Manager: about 1280 characters) is
  split into chunks: the main entry holds ``bav1c:<generation>:<count>:<sha256>`` and the chunks
  live in ``<name>#<generation>.<i>``; a reader checks the hash, so a torn or corrupt entry is dropped
  with a warning and never crashes a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

from brickauth.bounded import run_bounded
from brickauth.config.store import DEFAULT_KEYRING_TIMEOUT
from brickauth.errors import TokenStoreError
from brickauth.store.base import DEFAULT_LOCK_TIMEOUT, Document, FileLocks, decode, encode, log
from brickauth.store.keys import StoreKey

T = TypeVar("T")

SERVICE = "brickauth"
INDEX_NAME = "brickauth-index"
DEFAULT_TIMEOUT = DEFAULT_KEYRING_TIMEOUT
SINGLE_PREFIX = "bav1:"
CHUNKED_PREFIX = "bav1c:"
# Backends with a known per-entry limit, by class name (characters).
KNOWN_LIMITS = {"WinVaultKeyring": 1280}
# Chunk size used after a backend refused a long entry without telling us its limit.
FALLBACK_CHUNK = 1000


class KeyringUnavailableError(TokenStoreError):
    code = "BA403"


def _backend_name(backend: Any) -> str:
    name = getattr(backend, "name", None)
    return str(name) if isinstance(name, str) and name else type(backend).__name__


def _is_usable(backend: Any) -> bool:
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return False
    if type(backend).__module__ == "keyring.backends.null":
        return False
    return not (isinstance(backend, chainer.ChainerBackend) and not backend.backends)


class KeyringStore:
    def __init__(
        self,
        backend: Any = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_entry_chars: int | None = None,
        lock_dir: Path | None = None,
        service: str = SERVICE,
    ) -> None:
        self._timeout = timeout
        self._service = service
        self._locks = FileLocks(lock_dir)
        self._calls = threading.Lock()
        self._index_guard = threading.Lock()
        self._failed: TokenStoreError | None = None
        self._backend = backend if backend is not None else self._bounded("find a backend", _default_backend)
        if not _is_usable(self._backend):
            raise KeyringUnavailableError(
                f"No usable OS keyring backend ({_backend_name(self._backend)}).",
                fix="install one (e.g. gnome-keyring or `pip install keyrings.alt`), or set "
                "BRICKAUTH_TOKEN_STORE=file to keep tokens in a plaintext file (0600).",
            )
        limit = max_entry_chars or KNOWN_LIMITS.get(type(self._backend).__name__)
        self._chunk = max(64, limit - 32) if limit else None

    @property
    def name(self) -> str:
        return f"keyring ({_backend_name(self._backend)})"

    # -- bounded keyring calls ---------------------------------------------------------------
    def _bounded(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        if self._failed is not None:
            raise self._failed
        backend = getattr(self, "_backend", None)  # None: finding the backend itself
        keyring = f"The OS keyring ({_backend_name(backend) if backend is not None else 'backend'})"
        with self._calls:  # backends are not all thread-safe; one call at a time
            returned = run_bounded(lambda: fn(*args), self._timeout, name="brickauth-keyring")
            if returned is None:
                self._failed = TokenStoreError(
                    f"{keyring} did not answer within {self._timeout:g} s ({what}); it may be locked or "
                    "waiting for a prompt.",
                    fix="unlock the keyring (or answer its prompt) and run again; set "
                    "BRICKAUTH_KEYRING_TIMEOUT to wait longer, or BRICKAUTH_TOKEN_STORE=file to skip it.",
                    code="BA401",
                )
                raise self._failed
        exc = returned.error
        if exc is None:
            return returned.get()
        if isinstance(exc, TokenStoreError):
            raise exc
        raise TokenStoreError(
            f"{keyring} failed to {what}: {type(exc).__name__}.",
            fix="check that the keyring is unlocked and working (`keyring diagnose`), or set "
            "BRICKAUTH_TOKEN_STORE=file to keep tokens in a plaintext file (0600).",
            code="BA402",
        ) from None

    def _get(self, name: str) -> str | None:
        value = self._bounded("read an entry", self._backend.get_password, self._service, name)
        return value if isinstance(value, str) else None

    def _set(self, name: str, value: str) -> None:
        self._bounded("write an entry", self._backend.set_password, self._service, name, value)

    def _delete(self, name: str) -> None:
        from keyring.errors import PasswordDeleteError

        def delete() -> None:
            with contextlib.suppress(PasswordDeleteError):
                self._backend.delete_password(self._service, name)

        self._bounded("delete an entry", delete)

    # -- chunked values ----------------------------------------------------------------------
    def _read_value(self, name: str) -> str | None:
        for _attempt in range(2):  # a writer may swap generations under us: re-read once
            head = self._get(name)
            if head is None:
                return None
            if head.startswith(SINGLE_PREFIX):
                return head[len(SINGLE_PREFIX):]
            parsed = _parse_chunk_header(head)
            if parsed is None:
                break
            gen, count, digest = parsed
            parts = [self._get(f"{name}#{gen}.{i}") for i in range(count)]
            if all(p is not None for p in parts):
                value = "".join(p for p in parts if p is not None)
                if hashlib.sha256(value.encode()).hexdigest() == digest:
                    return value
            if self._get(name) == head:
                break  # stable header, broken chunks: corrupt
        log.warning("Dropped a corrupt token cache entry %s in %s; you may be asked to sign in again.",
                    name, self.name)
        self._remove_value(name)
        return None

    def _write_value(self, name: str, value: str) -> None:
        old = self._get(name)
        if self._chunk is None or len(SINGLE_PREFIX) + len(value) <= self._chunk:
            try:
                self._set(name, SINGLE_PREFIX + value)
                self._drop_chunks(name, old)
                return
            except TokenStoreError as exc:
                if exc.code == "BA401" or len(value) <= FALLBACK_CHUNK:
                    raise
                # Refused a long entry (e.g. Windows error 1783): split it from now on.
                log.debug("keyring refused a %d-character entry; splitting into chunks", len(value))
                self._chunk = FALLBACK_CHUNK
        size = self._chunk or FALLBACK_CHUNK
        gen = secrets.token_hex(4)
        chunks = [value[i : i + size] for i in range(0, len(value), size)]
        for i, chunk in enumerate(chunks):
            self._set(f"{name}#{gen}.{i}", chunk)
        digest = hashlib.sha256(value.encode()).hexdigest()
        self._set(name, f"{CHUNKED_PREFIX}{gen}:{len(chunks)}:{digest}")
        self._drop_chunks(name, old)

    def _drop_chunks(self, name: str, header: str | None) -> None:
        parsed = _parse_chunk_header(header) if header else None
        if parsed:
            gen, count, _ = parsed
            for i in range(count):
                self._delete(f"{name}#{gen}.{i}")

    def _remove_value(self, name: str) -> None:
        head = self._get(name)
        self._delete(name)
        self._drop_chunks(name, head)

    # -- diagnostics (brickauth doctor) ------------------------------------------------------------
    @property
    def chunk_size(self) -> int | None:
        """Characters per entry before a document is split (None: no limit known for the backend)."""
        return self._chunk

    def probe(self, size: int = 2000) -> None:
        """Write, read back and delete a ``size``-character entry outside the index, so a backend's
        size limit shows (``chunk_size`` afterwards). Raises ``TokenStoreError``."""
        name = "brickauth-doctor-probe"
        value = secrets.token_hex(size // 2 + 1)[:size]
        try:
            self._write_value(name, value)
            if self._read_value(name) != value:
                raise TokenStoreError(
                    f"The OS keyring ({_backend_name(self._backend)}) did not return a {size}-character "
                    "entry as written.",
                    fix="check the keyring (`keyring diagnose`), or set BRICKAUTH_TOKEN_STORE=file.",
                    code="BA402",
                )
        finally:
            if self._failed is None:
                self._remove_value(name)

    # -- index (keyring has no listing API) ----------------------------------------------------
    def _read_index(self) -> list[StoreKey]:
        text = self._read_value(INDEX_NAME)
        if not text:
            return []
        try:
            return [StoreKey.from_json(item) for item in json.loads(text)]
        except (ValueError, KeyError, TypeError):
            log.warning("Dropped the corrupt brickauth index entry in %s.", self.name)
            self._remove_value(INDEX_NAME)
            return []

    def _update_index(self, key: StoreKey, present: bool) -> None:
        with self._index_guard, self._locks.lock(INDEX_NAME, timeout=30.0):
            keys = [k for k in self._read_index() if k.name != key.name]
            if present:
                keys.append(key)
            self._write_value(INDEX_NAME, json.dumps([k.to_json() for k in keys]))

    # -- TokenStore ----------------------------------------------------------------------------
    def load(self, key: StoreKey) -> Document | None:
        text = self._read_value(key.name)
        if text is None:
            return None
        outer = decode(text, key.name, self.name)
        doc = outer.get("doc") if outer else None
        if not isinstance(doc, dict):
            if outer is not None:
                log.warning("Dropped a corrupt token cache entry %s in %s.", key.name, self.name)
            self._remove_value(key.name)
            return None
        return doc

    def save(self, key: StoreKey, doc: Document) -> None:
        # Listed first: a save killed midway leaves an entry `logout --all` still finds (issue 10).
        if key.name not in {k.name for k in self._read_index()}:
            self._update_index(key, present=True)
        self._write_value(key.name, encode({"key": key.to_json(), "doc": doc}))

    def delete(self, key: StoreKey) -> None:
        self._remove_value(key.name)
        self._update_index(key, present=False)

    def keys(self) -> list[StoreKey]:
        return self._read_index()

    def lock(self, key: StoreKey, *, timeout: float = DEFAULT_LOCK_TIMEOUT) -> AbstractContextManager[None]:
        return self._locks.lock(key, timeout=timeout)


def _default_backend() -> Any:
    import keyring

    return keyring.get_keyring()


def _parse_chunk_header(head: str | None) -> tuple[str, int, str] | None:
    if not head or not head.startswith(CHUNKED_PREFIX):
        return None
    try:
        gen, count, digest = head[len(CHUNKED_PREFIX):].split(":")
        n = int(count)
    except ValueError:
        return None
    if not (0 < n < 10_000) or len(digest) != 64:
        return None
    return gen, n, digest
