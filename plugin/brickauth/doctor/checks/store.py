"""The token store the library would use: keyring backend, entry size limit, the cross-process lock."""

from __future__ import annotations

from typing import Any

from brickauth.doctor.model import Check, Context, Outcome

PROBE_KEY_AUTHORITY = "https://brickauth-doctor.invalid"


def check_store(ctx: Context) -> list[Outcome]:
    """The token store the library would use: keyring backend, entry size limit, a bounded read and
    write, and the cross-process lock (each keyring call and the lock wait bounded)."""
    from brickauth.errors import ConfigurationError, TokenStoreError
    from brickauth.store import StoreKey, open_store
    from brickauth.store.keyring_store import KeyringStore

    plan = ctx.plan
    try:  # the library's own reading of the store's environment (BRICKAUTH_KEYRING_TIMEOUT...)
        open_store("memory", env=plan.raw.env)
    except ConfigurationError as err:
        return [ctx.error_outcome("the token store settings are refused", err)]
    needed = plan.is_u2m
    settings = plan.settings
    mode = settings.token_store if settings else "auto"
    bound = max(min(ctx.step_timeout / 4, 3.0), 0.05)
    outcomes: list[Outcome] = []
    if mode in ("file", "memory"):
        outcomes.append(Outcome("ok", f"token store: {mode} (BRICKAUTH_TOKEN_STORE); keyring not used"))
        store: Any = None
    else:
        try:
            store = KeyringStore(timeout=bound)
        except TokenStoreError as err:
            if err.code == "BA401":  # finding the backend hung
                return [Outcome("fail", f"{err.message}", "store.keyring_locked")]
            import logging

            store_log = logging.getLogger("brickauth.store")
            level = store_log.level
            store_log.setLevel(logging.ERROR)  # its fallback warning is this finding
            try:
                fallback = open_store(
                    settings.token_store if settings else None,
                    allow_plaintext=(settings.allow_plaintext_store or None) if settings else None,
                ) if mode == "auto" else None  # fmt: skip
            finally:
                store_log.setLevel(level)
            where = f"; sign-ins are kept in {fallback.name}" if fallback is not None else ""
            outcomes.append(Outcome(
                "warn" if needed else "ok",
                f"no usable keyring backend ({err.message.split('(', 1)[-1].rstrip(').')}){where}"
                + ("" if needed else ": not needed for M2M"),
                "store.no_keyring_backend" if needed else None,
            ))  # fmt: skip
            store = fallback
        else:
            try:
                store.load(StoreKey(PROBE_KEY_AUTHORITY, "doctor-probe", flow="doctor"))  # a bounded read
                store.probe()  # a bounded write of a long entry: shows a size limit
            except TokenStoreError as err:
                cause = "store.keyring_locked" if err.code == "BA401" else None
                return [ctx.error_outcome(f"keyring {store.name} failed", err, cause)]
            chunk = store.chunk_size
            limit = (f"entries over {chunk} characters are split into chunks" if chunk
                     else "no entry size limit met")  # fmt: skip
            outcomes.append(Outcome(
                "ok", f"{store.name} answers a read and a write within {bound:g} s; {limit}",
                details={"backend": store.name, "chunk_size": chunk, "bound_s": bound},
            ))  # fmt: skip
    outcomes.append(_check_lock(ctx, store, bound))
    return outcomes


def _check_lock(ctx: Context, store: Any, bound: float) -> Outcome:
    """Take and release the cross-process lock sign-in and refresh hold (the plan's U2M key)."""
    from brickauth.errors import TokenStoreError
    from brickauth.store import StoreKey
    from brickauth.store.base import FileLocks

    key = StoreKey(PROBE_KEY_AUTHORITY, "doctor-probe", flow="doctor")
    if ctx.plan.is_u2m and ctx.plan.settings is not None:
        from brickauth.doctor.u2m import u2m_source

        key = u2m_source(ctx).key
    locks = store if store is not None else FileLocks()
    try:
        with locks.lock(key, timeout=bound):
            pass
    except TokenStoreError as err:
        return Outcome("fail", err.message, "store.lock_held")
    return Outcome("ok", f"cross-process lock taken and released within {bound:g} s")


CHECKS: tuple[Check, ...] = (
    Check("store.keyring", "Token store (keyring, lock)", check_store, target="keyring"),
)
