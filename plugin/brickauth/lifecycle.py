"""One token lifecycle for every flow: expiry skew, advisory and mandatory refresh windows.

Timeline of a token fetched at ``t0`` that expires at ``exp`` (``ttl = exp - t0``); every lead is
``min(cap, fraction * ttl)`` so that one-hour tokens and the sandbox's five-second tokens both work::

    t0 ........ advisory_at ........ mandatory_at ........ usable_until ... exp
       fresh      advisory: one        mandatory: callers     expired
       (no lock,  background refresh,  block on a single      (never handed
       no I/O)    callers keep token   refresh                 out)

- advisory window: one background refresh runs while callers keep the current token. Its failures are
  logged and retried with jittered exponential backoff, never raised (as botocore's advisory window
  and databricks-sdk's stale window).
- mandatory window: callers block on one refresh shared by all threads (single flight). A transient
  failure while the token is still usable hands out the current token (retried after a short
  backoff); a permanent failure, or any failure once the token is unusable, is raised.

Flows implement ``TokenSource``; each class registered in ``brickauth.flows.FLOWS`` is built with
``from_settings(settings)``, which may also take keywords ``clock`` (compute ``expires_at`` with it) and
``http`` (a ``brickauth.http.HttpClient`` for every request: doctor passes one bounded by its step).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from brickauth.bounded import run_bounded
from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.errors import BrickauthError, IdentityProviderError, NetworkError
from brickauth.token import AccessToken, expires_at_for
from brickauth.windows import DEFAULT_POLICY, RefreshPolicy

log = logging.getLogger(__name__)


@runtime_checkable
class TokenSource(Protocol):
    def describe(self) -> str:
        """E.g. ``"azure-m2m client 1234.. tenant abcd.."``; never a secret."""

    def fetch(self) -> AccessToken:
        """One acquisition from the identity provider; raises ``BrickauthError``."""


def is_transient(error: BaseException) -> bool:
    """Retrying later may help (network trouble, 5xx/429, IdP hiccup); permanent errors return False."""
    if isinstance(error, NetworkError):
        return True
    if isinstance(error, IdentityProviderError):
        return error.transient
    return not isinstance(error, BrickauthError)  # unexpected exceptions: assume transient, log them


class _State(NamedTuple):
    token: AccessToken
    advisory_at: float
    mandatory_at: float
    usable_until: float


class RefreshingToken:
    """Hands out a valid token from a ``TokenSource``; thread-safe; refreshes ahead of expiry.

    ``spawn`` runs a background refresh (a daemon thread by default; tests may pass a synchronous
    runner). ``get()`` on a fresh token reads one attribute and the clock: no lock, no I/O.
    """

    def __init__(
        self,
        source: TokenSource,
        *,
        clock: Clock = SYSTEM_CLOCK,
        policy: RefreshPolicy | None = None,
        spawn: Callable[[Callable[[], None]], None] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.source = source
        self._clock = clock
        self._policy = policy or DEFAULT_POLICY
        self._spawn = spawn or _spawn_daemon
        self._jitter = jitter
        self._state: _State | None = None
        self._refresh_lock = threading.Lock()  # single flight: held during every fetch
        self._flag_lock = threading.Lock()  # guards the fields below
        self._background_running = False
        self._failures = 0
        self._next_attempt = 0.0  # monotonic time before which no background refresh starts
        self._mandatory_hold_until = 0.0  # monotonic; after a tolerated mandatory failure
        self._attempts_done = 0  # fetches finished (guarded by _refresh_lock)
        self._last_failure: Exception | None = None
        self.fetch_count = 0  # acquisitions attempted (for tests and status)
        self.deadline = float(getattr(source, "fetch_deadline", None) or self._policy.wait_deadline)

    # -- the hot path ------------------------------------------------------------------------
    def get(self) -> AccessToken:
        state = self._state
        if state is not None:
            now = self._clock.now()
            if now < state.advisory_at:
                return state.token
            if now < state.mandatory_at:
                self._maybe_start_background()
                return state.token
        return self._blocking_refresh()

    def peek(self) -> AccessToken | None:
        """The current token without refreshing (may be stale)."""
        state = self._state
        return state.token if state is not None else None

    def invalidate(self) -> None:
        """Forget the token (e.g. after the workspace answered 401); the next ``get`` refetches."""
        self._state = None

    # -- refreshes ---------------------------------------------------------------------------
    def _blocking_refresh(self) -> AccessToken:
        attempts_seen = self._attempts_done
        arrived = time.monotonic()
        if not self._refresh_lock.acquire(timeout=self.deadline):
            raise self._deadline_error("waiting for the token request another thread started")
        try:
            return self._refresh_locked(attempts_seen, arrived)
        finally:
            self._refresh_lock.release()

    def _deadline_error(self, what: str) -> NetworkError:
        return NetworkError(
            f"No token from {self.source.describe()} within {self.deadline:g} s ({what}): the identity "
            "provider is not answering.",
            fix="check the identity provider's status and the network path to it, then run again "
            "(`brickauth doctor` tests each step).",
            code="BA503",
        )

    def _refresh_locked(self, attempts_seen: int, arrived: float) -> AccessToken:
        failure = self._last_failure
        if failure is not None and self._attempts_done != attempts_seen:
            raise failure  # single flight: share the outcome of the attempt we waited for
        state = self._state
        now = self._clock.now()
        if state is not None and now < state.mandatory_at:
            return state.token  # another thread refreshed while we waited
        usable = state is not None and now < state.usable_until
        if state is not None and usable and self._clock.monotonic() < self._mandatory_hold_until:
            return state.token  # a refresh failed transiently moments ago; don't hammer the IdP
        try:
            return self._fetch_and_store(self.deadline - (time.monotonic() - arrived))
        except Exception as exc:
            if state is not None and usable and is_transient(exc):
                self._mandatory_hold_until = self._clock.monotonic() + self._policy.mandatory_retry_after
                log.warning(
                    "token refresh failed, using the current token until it expires in %.0f s: %s",
                    state.usable_until - now,
                    _describe_error(exc),
                )
                return state.token
            raise

    def _maybe_start_background(self) -> None:
        with self._flag_lock:
            if self._background_running or self._clock.monotonic() < self._next_attempt:
                return
            self._background_running = True
        try:
            self._spawn(self._background_refresh)
        except BaseException:
            with self._flag_lock:
                self._background_running = False
            raise

    def _background_refresh(self) -> None:
        try:
            with self._refresh_lock:
                state = self._state
                if state is not None and self._clock.now() < state.advisory_at:
                    return  # someone refreshed already
                self._fetch_and_store()
        except Exception as exc:  # never raised: the current token is still good
            with self._flag_lock:
                self._failures += 1
                delay = self._backoff(self._failures)
                self._next_attempt = self._clock.monotonic() + delay
            log.warning(
                "background token refresh failed, retrying in %.1f s: %s", delay, _describe_error(exc)
            )
        finally:
            with self._flag_lock:
                self._background_running = False

    def _backoff(self, failures: int) -> float:
        p = self._policy
        state = self._state
        cap = p.backoff_max
        if state is not None:  # never back off beyond the start of the mandatory window
            cap = min(cap, max(0.05, state.mandatory_at - self._clock.now()))
        base = min(cap, p.backoff_initial * (2 ** (failures - 1)))
        return float(base / 2 + self._jitter() * base / 2)

    def _fetch_and_store(self, budget: float | None = None) -> AccessToken:
        """Called with ``_refresh_lock`` held. The fetch runs bounded by ``budget`` seconds (default:
        the deadline); a fetch that does not return in time is abandoned and raises BA503."""
        self.fetch_count += 1
        started = self._clock.now()
        try:
            limit = max(budget if budget is not None else self.deadline, 0.0)
            returned = run_bounded(self.source.fetch, limit, name="brickauth-token-fetch")
            if returned is None:
                raise self._deadline_error("the token request did not return")
            token = returned.get()
        except Exception as exc:
            self._last_failure = exc
            raise
        finally:
            self._attempts_done += 1
        self._last_failure = None
        self._state = self._windows(token, started)
        with self._flag_lock:
            self._failures = 0
            self._next_attempt = 0.0
            self._mandatory_hold_until = 0.0
        log.debug(
            "token from %s valid for %.0f s", self.source.describe(), token.expires_at - self._clock.now()
        )
        return token

    def _windows(self, token: AccessToken, fetched_at: float) -> _State:
        p = self._policy
        ttl = token.expires_at - fetched_at
        if ttl <= 0:
            log.warning(
                "the identity provider issued a token that is already expired by this machine's clock "
                "(%.0f s); check the system clock",
                -ttl,
            )
            ttl = 0.0
        usable_until = token.expires_at - p.skew(ttl)
        mandatory_at = usable_until - p.mandatory(ttl)
        advisory_at = usable_until - p.advisory(ttl)
        return _State(token, min(advisory_at, mandatory_at), mandatory_at, usable_until)


def access_token_from_response(
    body: Mapping[str, Any], requested_at: float, scopes: Sequence[str]
) -> AccessToken:
    """The ``AccessToken`` of a successful token endpoint answer (OAuth 2.0 JSON, or msal's result)."""
    access_token = str(body["access_token"])
    return AccessToken(
        token=access_token,
        expires_at=expires_at_for(access_token, requested_at, body.get("expires_in")),
        token_type=str(body.get("token_type") or "Bearer"),
        scopes=tuple(scopes),
    )


def _spawn_daemon(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="brickauth-token-refresh", daemon=True).start()


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, BrickauthError):
        return str(exc)
    return f"{type(exc).__name__}"  # unknown errors: the type only (their text might hold secrets)
