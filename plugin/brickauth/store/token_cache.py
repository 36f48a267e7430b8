"""The machine-wide token cache of non-interactive flows (M2M): one token request per token lifetime
for all the processes of a machine, not one per process.

A flow's ``TokenSource`` that has ``cache_identity()`` is wrapped in ``MachineCachedSource`` (on by
default; ``BRICKAUTH_TOKEN_CACHE=off`` / ``token_cache: false`` turns it off). ``fetch()``:

1. reads the entry for this identity from the token store (the one U2M sign-ins use): a token before
   its mandatory window (``windows.is_shareable``: more than 2.5 min of a one-hour token left) is
   returned as it is: no lock, no network;
2. otherwise takes the cross-process lock for the entry, reads it again (another process may just
   have fetched), and only then asks the identity provider, and saves the answer for the others.

Only the access token is stored, never the secret. The entry's key holds a fingerprint of the
credential: HMAC-SHA256 with a random 256-bit key kept in ``<state dir>/token-cache.key`` (0600), so a
rotated secret never reuses a token of the old one, and the fingerprint reveals nothing of the secret
to whoever reads the store without that key file. The fingerprint is never logged or shown.

The cache never makes a run fail: no usable store (no keyring and plaintext not allowed, a keyring
that times out, a lock held too long, a corrupt entry) means a debug line and per-process tokens.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.errors import TokenStoreError
from brickauth.store.base import Document, TokenStore
from brickauth.store.keys import StoreKey
from brickauth.store.paths import private_dir, state_dir
from brickauth.token import AccessToken
from brickauth.windows import is_shareable

if TYPE_CHECKING:
    from brickauth.config import Settings
    from brickauth.lifecycle import TokenSource

log = logging.getLogger(__name__)

KEY_FILE = "token-cache.key"
DOC_KIND = "m2m-access-token"
LOCK_TIMEOUT = 60.0  # a token request is bounded well below this (HTTP timeout x retries)


@dataclass(frozen=True)
class CacheIdentity:
    """Whose token an entry holds. ``credential`` (secret material) only goes into the HMAC."""

    flow: str
    authority: str  # the workspace URL (M2M tokens are cached per workspace)
    client_id: str
    tenant: str = ""
    scopes: tuple[str, ...] = ()
    credential: bytes = field(default=b"", repr=False)


@runtime_checkable
class CacheableSource(Protocol):
    """A ``TokenSource`` whose tokens any process with the same settings may reuse."""

    def describe(self) -> str: ...

    def fetch(self) -> AccessToken: ...

    def cache_identity(self) -> CacheIdentity: ...


def is_fresh(token: AccessToken, obtained_at: float, now: float) -> bool:
    """Fresh enough to hand out from the cache (the lifecycle's rule for shared tokens)."""
    return is_shareable(token.expires_at, obtained_at, now)


def fingerprint_key(root: Path) -> bytes:
    """The random HMAC key of this machine's cache (created on first use, 0600). Raises ``OSError``."""
    path = root / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    directory = private_dir(root)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic create-if-absent: concurrent first runs agree on one key
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
    except ValueError:
        pass
    raise OSError(f"{path} does not hold a 256-bit hex key (delete it: a new one is made)")


def store_key(identity: CacheIdentity, hmac_key: bytes) -> StoreKey:
    """The entry's key: the identity's settings plus a keyed fingerprint of its credential."""
    settings = json.dumps(
        [identity.flow, identity.authority, identity.client_id, identity.tenant, sorted(identity.scopes)]
    ).encode()
    mac = hmac.new(hmac_key, settings + b"\0" + identity.credential, hashlib.sha256).hexdigest()
    authority = identity.authority + (f"#tenant={identity.tenant}" if identity.tenant else "")
    return StoreKey(authority, identity.client_id, identity.scopes, f"credential:{mac[:32]}",
                    flow=identity.flow)


def _token_doc(identity: CacheIdentity, token: AccessToken, obtained_at: float) -> Document:
    return {
        "kind": DOC_KIND,
        "flow": identity.flow,
        "account": f"service principal {identity.client_id}",  # what `brickauth status` shows
        "access_token": token.token,
        "token_type": token.token_type,
        "expires_at": token.expires_at,
        "obtained_at": obtained_at,
        "scopes": list(token.scopes),
    }


def _token_from(doc: Document) -> tuple[AccessToken, float] | None:
    """The token in an entry, or None when the entry is not one of ours / is damaged."""
    token, token_type = doc.get("access_token"), doc.get("token_type", "Bearer")
    expires_at, obtained_at = doc.get("expires_at"), doc.get("obtained_at")
    scopes = doc.get("scopes", [])
    if (
        doc.get("kind") != DOC_KIND
        or not isinstance(token, str) or not token or any(c in token for c in " \r\n")
        or not isinstance(token_type, str) or not token_type
        or not _is_number(expires_at) or not _is_number(obtained_at)
        or not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)
    ):  # fmt: skip
        return None
    expires, obtained = float(expires_at), float(obtained_at)  # type: ignore[arg-type]
    if obtained > expires:
        return None
    return AccessToken(token=token, expires_at=expires, token_type=token_type, scopes=tuple(scopes)), obtained


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class MachineCachedSource:
    """A ``TokenSource`` that shares its tokens with the machine's other processes through ``store``.

    Attributes other than ``fetch``/``describe``/``invalidate`` are the wrapped source's (``inner``).
    """

    def __init__(
        self,
        inner: CacheableSource,
        store: TokenStore,
        key: StoreKey,
        identity: CacheIdentity,
        *,
        clock: Clock = SYSTEM_CLOCK,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.inner = inner
        self.store: TokenStore | None = store
        self.key = key
        self._identity = identity
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._rejected: str | None = None  # a token the workspace refused (see ``invalidate``)
        self._last: str | None = None  # the token handed out last
        self.cache_hits = 0  # tokens served from the store (for tests and benchmarks)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def describe(self) -> str:
        return self.inner.describe()

    def invalidate(self) -> None:
        """The workspace refused the token this source handed out last (HTTP 401; called by
        ``CredentialsProvider.invalidate``): never hand it out from the cache again."""
        self._rejected = self._last
        forget = getattr(self.inner, "invalidate", None)
        if callable(forget):
            forget()

    def fetch(self) -> AccessToken:
        token = self._fetch()
        self._last = token.token
        return token

    def _fetch(self) -> AccessToken:
        token = self._cached()
        if token is not None:
            return token
        store = self.store
        if store is None:  # off, or given up on
            return self.inner.fetch()
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(store.lock(self.key, timeout=self._lock_timeout))
            except TokenStoreError as err:
                self._give_up(err)
                return self.inner.fetch()
            token = self._cached()  # another process may have fetched while we waited
            if token is not None:
                return token
            obtained_at = self._clock.now()
            token = self.inner.fetch()
            self._save(token, obtained_at)
            return token
        raise AssertionError("unreachable")  # pragma: no cover - for mypy

    def _cached(self) -> AccessToken | None:
        store = self.store
        if store is None:
            return None
        try:
            doc = store.load(self.key)
        except TokenStoreError as err:
            self._give_up(err)
            return None
        if doc is None:
            return None
        found = _token_from(doc)
        if found is None:
            log.warning("Dropped a corrupt cached token for %s in %s; fetching a new one.",
                        self.inner.describe(), store.name)
            return None  # replaced by the next save (under the lock)
        token, obtained_at = found
        if token.token == self._rejected or not is_fresh(token, obtained_at, self._clock.now()):
            return None
        self.cache_hits += 1
        log.debug("token for %s from the machine-wide cache (%s), valid for %.0f s",
                  self.inner.describe(), store.name, token.expires_at - self._clock.now())
        return token

    def _save(self, token: AccessToken, obtained_at: float) -> None:
        if self.store is None:
            return
        try:
            self.store.save(self.key, _token_doc(self._identity, token, obtained_at))
        except TokenStoreError as err:
            self._give_up(err)

    def _give_up(self, err: TokenStoreError) -> None:
        """Per-process tokens from now on: the cache must never stall or fail a run."""
        if self.store is not None:
            log.debug("machine-wide token cache off for %s: %s", self.inner.describe(), err)
        self.store = None


def open_cache_store(settings: Settings) -> tuple[TokenStore, Path] | None:
    """The store U2M sign-ins use (and its state folder), opened without their warnings; None (debug
    log) when it would be memory only (``token_store: memory``, or no keyring and plaintext files not
    allowed)."""
    from brickauth.config.store import store_settings
    from brickauth.errors import ConfigurationError
    from brickauth.store.file import FileStore

    try:
        cfg = store_settings(settings.token_store, allow_plaintext=settings.allow_plaintext_store or None)
    except ConfigurationError as err:
        log.debug("machine-wide token cache off: %s", err)
        return None
    root = cfg.state_dir
    locks = root / "locks"
    if cfg.mode == "memory":
        return None
    if cfg.mode == "file":
        return FileStore(root / "tokens", lock_dir=locks), root
    from brickauth.store.keyring_store import KeyringStore

    try:
        return KeyringStore(timeout=cfg.keyring_timeout, lock_dir=locks), root
    except TokenStoreError as err:
        if cfg.mode != "keyring" and cfg.allow_plaintext:
            return FileStore(root / "tokens", lock_dir=locks), root
        log.debug("machine-wide token cache off (tokens are kept per process): %s", err)
        return None


def machine_cached(
    source: TokenSource, settings: Settings, *, clock: Clock = SYSTEM_CLOCK,
    store: TokenStore | None = None,
) -> TokenSource:
    """``source`` wrapped in the machine-wide cache when its flow allows it and the setting is on."""
    if not settings.token_cache or not isinstance(source, CacheableSource):
        return source
    identity = source.cache_identity()
    root = state_dir()
    if store is None:
        opened = open_cache_store(settings)
        if opened is None:
            return source
        store, root = opened
    try:
        hmac_key = fingerprint_key(root)
    except OSError as exc:
        log.debug("machine-wide token cache off: cannot use the key file in %s (%s)",
                  root, exc.strerror or type(exc).__name__)
        return source
    return MachineCachedSource(source, store, store_key(identity, hmac_key), identity, clock=clock)
