"""The cached U2M sign-in, read from ``brickauth.store`` the way the flows read it; never a browser.

The flow's own ``TokenSource`` (``brickauth.flows.azure_u2m`` / ``databricks_u2m``) names the store
key, decodes the saved document and knows the exact ``brickauth login ...`` command; doctor only
never calls its sign-in. An expired access token is refreshed silently with the saved refresh token
(as any run would, under the store's cross-process lock, and saved back: refresh tokens rotate);
``--refresh`` refreshes a fresh one too, to prove the refresh token still works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brickauth.durations import format_duration
from brickauth.errors import BrickauthError

if TYPE_CHECKING:
    from brickauth.clock import Clock
    from brickauth.doctor.model import Context, Outcome


# Knowledge-base causes whose only fix is a new sign-in, whatever error class the refusal raised.
_RESIGN_IN_CAUSES = frozenset({"databricks.refresh_token_expired"})


def _never_open(url: str) -> bool:  # pragma: no cover - doctor never starts a sign-in
    raise AssertionError("doctor must not open a browser")


def u2m_clock(ctx: Context) -> Clock:
    """The clock the U2M check judges and refreshes the cached sign-in by: doctor's own when one was
    injected, else the U2M code's default clock, so that doctor sees the cache exactly as the next run
    of the flow would."""
    from brickauth.clock import SYSTEM_CLOCK
    from brickauth.oauth import u2m

    return u2m.DEFAULT_CLOCK if ctx.clock is SYSTEM_CLOCK else ctx.clock


def u2m_source(ctx: Context) -> Any:
    """The plan's U2M token source, over the store doctor opened and an HTTP client bounded by the step."""
    from brickauth.provider import load_source_class

    settings = ctx.plan.settings
    assert settings is not None
    store = ctx.state.get("store") or open_token_store(ctx)
    # One try, the step's timeout: a refresh is never sent twice (refresh tokens rotate).
    return load_source_class(settings.auth_type)(
        settings, store=store, http=ctx.http_client(), opener=_never_open, clock=u2m_clock(ctx)
    )


def open_token_store(ctx: Context) -> Any:
    """The store the library would use for these settings, its keyring calls bounded by the step."""
    from brickauth.store import open_store

    settings = ctx.plan.settings
    store = open_store(
        settings.token_store if settings else None,
        allow_plaintext=(settings.allow_plaintext_store or None) if settings else None,
        keyring_timeout=min(ctx.step_timeout / 2, 3.0),
    )
    ctx.state["store"] = store
    return store


def cached_sign_in(ctx: Context) -> Outcome:
    from brickauth.doctor.model import TIMED_OUT, Outcome
    from brickauth.oauth.u2m import needs_new_sign_in

    source = u2m_source(ctx)
    store = source.store
    before = store.name
    doc = store.load(source.key)
    if store.name != before:  # the keyring failed and the store fell back: say so, not "signed out"
        return Outcome(
            "fail", f"the token store {before} did not answer; now using {store.name}", "store.keyring_locked"
        )
    login = source.login_command()
    details: dict[str, Any] = {"store": store.name, "login_command": login, "key": source.key.to_json()}
    if doc is None and _fell_back_to_memory(ctx, store):
        # Headless, no keyring: a `brickauth login` would end with its process. That is the finding,
        # not "run brickauth login" (which cannot help).
        return Outcome(
            "fail",
            f"no keyring backend on this machine, so the token store is {store.name}: a sign-in by "
            f"`{login}` ends with that process and nothing is cached for the next run",
            "store.no_keyring_backend",
            details=details,
        )
    if doc is None:
        return Outcome(
            "fail",
            f"no cached sign-in for {source.describe()} in {store.name}: run `{login}`",
            "store.not_signed_in",
            details=details,
        )
    _redact_stored(ctx, doc)
    cached = source.cached_token(doc)
    account = doc.get("account") or source.key.account or "unknown account"
    can_refresh = bool(doc.get("refresh_token") or doc.get("msal_cache"))
    now = source.clock.now()
    details.update(account=account, can_refresh=can_refresh)
    refreshed = False
    if not _fresh(cached, now) or ctx.refresh:
        if not can_refresh:
            return Outcome(
                "fail",
                f"the cached sign-in of {account} has expired and has no refresh token: run `{login}`",
                "store.not_signed_in",
                details=details,
            )
        result = None
        try:
            with store.lock(source.key, timeout=ctx.step_timeout / 2):
                doc = store.load(source.key) or doc  # another process may have refreshed meanwhile
                _redact_stored(ctx, doc)
                cached = source.cached_token(doc)
                if ctx.refresh or not _fresh(cached, now):
                    result = source.refresh(doc)
                    if result is None:
                        return Outcome(
                            "fail", f"the cached sign-in of {account} cannot be refreshed: run `{login}`",
                            "store.not_signed_in", details=details,
                        )  # fmt: skip
                    store.save(source.key, result.doc)
        except BrickauthError as err:
            if err.code == TIMED_OUT:
                raise  # the runner names the identity provider that did not answer
            outcome = ctx.error_outcome(
                f"refreshing the cached sign-in of {account} failed",
                err,
                "store.not_signed_in" if needs_new_sign_in(err) else None,
            )
            # Databricks itself answers an expired refresh token with invalid_request (BA245), which
            # the flows do not treat as "sign in again": the knowledge base recognises its wording.
            new_sign_in = needs_new_sign_in(err) or outcome.cause_id in _RESIGN_IN_CAUSES
            if new_sign_in:  # the exact command, instead of the error's generic "brickauth login"
                what = f"refreshing the cached sign-in of {account} was refused"
                outcome.summary = f"{what}: [{err.code}] {err.message} Fix: run `{login}`"
            outcome.details = details
            return outcome
        if result is not None:
            _redact_stored(ctx, result.doc)
            cached, account, refreshed = (result.token, now), result.account or account, True
    assert cached is not None
    token = cached[0]
    ctx.redact.add(token.token)
    ctx.state["token"] = token.token
    ctx.state["expiry"] = (token.expires_at, source.clock)  # on the clock the flow judges it by
    left = int(token.expires_at - now)
    details.update(account=account, expires_at=int(token.expires_at), expires_in=left, refreshed=refreshed)
    how = "refreshed with the saved refresh token" if refreshed else "cached"
    refresh_note = "" if refreshed or not can_refresh else "; refreshes silently"
    return Outcome(
        "ok",
        f"signed in as {account} ({source.flow}, {store.name}); access token {how}, "
        f"expires in {format_duration(left)}{refresh_note}",
        details=details,
    )


def _fell_back_to_memory(ctx: Context, store: Any) -> bool:
    """The store is memory only because no keyring backend answered (not because it was asked for)."""
    from brickauth.store import MemoryStore

    settings = ctx.plan.settings
    asked = settings.token_store if settings is not None else "auto"
    return isinstance(store, MemoryStore) and asked != "memory"


def _fresh(cached: Any, now: float) -> bool:
    return cached is not None and cached[0].expires_at - now > 60


def _redact_stored(ctx: Context, doc: Any) -> None:
    """Every token of a stored sign-in is masked in doctor's output (an msal cache holds several)."""
    import json

    for name in ("access_token", "refresh_token"):
        if isinstance(doc.get(name), str) and doc[name]:
            ctx.redact.add(doc[name])
    try:
        cache = json.loads(doc.get("msal_cache") or "{}")
    except (TypeError, ValueError):
        return
    for kind in ("AccessToken", "RefreshToken", "IdToken"):
        for entry in (cache.get(kind) or {}).values():
            if isinstance(entry, dict) and isinstance(entry.get("secret"), str) and entry["secret"]:
                ctx.redact.add(entry["secret"])
