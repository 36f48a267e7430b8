"""``brickauth login | logout [--all] | status | token [--json]``: the user's sign-in sessions.

Heavy modules (msal, keyring, requests) load only inside the command functions.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

from brickauth.durations import format_duration

log = logging.getLogger(__name__)

U2M_TYPES = ("azure-u2m", "databricks-u2m")


def _add_target_args(p: argparse.ArgumentParser, *, u2m_only: bool) -> None:
    p.add_argument("--host", help="workspace URL (default: DATABRICKS_HOST or the profile's host)")
    p.add_argument("--profile", help="~/.databrickscfg profile (default: DATABRICKS_CONFIG_PROFILE)")
    p.add_argument("--auth-type", choices=U2M_TYPES if u2m_only else None,
                   help="azure-u2m or databricks-u2m" if u2m_only else "any brickauth auth type")
    p.add_argument("--client-id", help="OAuth client id (azure-u2m: the app registration; "
                   "databricks-u2m: default databricks-cli)")
    p.add_argument("--tenant-id", help="Entra tenant (azure-u2m)")
    p.add_argument("--login-hint", help="the account to sign in as (user name)")


def configure(subparsers: Any) -> None:
    login = subparsers.add_parser("login", help="sign in in the browser (or with a device code) and "
                                  "save the session in the token store")
    _add_target_args(login, u2m_only=True)
    login.add_argument("--redirect-port", type=int, help="loopback redirect port (databricks-u2m default "
                       "8020; azure-u2m default: any free port)")
    login.add_argument("--no-browser", action="store_true", default=None,
                       help="no browser: device code (Entra) or paste the redirect URL (Databricks); "
                       "default: BRICKAUTH_NO_BROWSER")
    login.add_argument("--browser", metavar="COMMAND", help="command that opens the sign-in URL, "
                       "%%s = the URL (default: BRICKAUTH_BROWSER, else the system's browser)")
    login.add_argument("--timeout", type=float, dest="login_timeout", metavar="SECONDS",
                       help="seconds to wait for the browser sign-in (default: BRICKAUTH_LOGIN_TIMEOUT "
                       "or 120; device code: 5 x this)")
    login.add_argument("--json", action="store_true", help="print the result as JSON (never a token)")
    login.add_argument("--no-save-profile", action="store_true",
                       help="do not write the profile to ~/.databrickscfg (DATABRICKS_CONFIG_FILE)")
    login.set_defaults(func=cmd_login)

    logout = subparsers.add_parser("logout", help="forget a saved sign-in (or --all of them)")
    _add_target_args(logout, u2m_only=True)
    logout.add_argument("--all", action="store_true", help="forget every saved sign-in")
    logout.set_defaults(func=cmd_logout)

    status = subparsers.add_parser("status", help="saved sign-ins, their expiry and the token store "
                                   "(never a token); exit 1 when nothing is signed in")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)

    token = subparsers.add_parser("token", help="print an access token (for curl and other tools)")
    _add_target_args(token, u2m_only=False)
    token.add_argument("--json", action="store_true",
                       help="print {access_token, token_type, expires_at, expires_in} as JSON")
    token.set_defaults(func=cmd_token)


def _explicit(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    explicit: dict[str, Any] = {}
    for name in ("host", "profile", "auth_type", "client_id", "tenant_id", "login_hint", "redirect_port",
                 "no_browser", "browser", "login_timeout"):
        value = getattr(args, name, None)
        if value is not None:
            explicit[name] = value
    explicit.update(extra)
    return explicit


def _u2m_source(args: argparse.Namespace, *, new_profile: bool = False) -> Any:
    from brickauth.config import resolve_settings
    from brickauth.errors import ConfigurationError
    from brickauth.provider import load_source_class

    explicit = _explicit(args, interactive=True)
    if new_profile:
        explicit.pop("profile", None)  # `login --profile NEW` creates it: nothing to read from it yet
    settings = resolve_settings(explicit)
    if settings.auth_type not in U2M_TYPES:
        raise ConfigurationError(
            f"`brickauth {args.command}` is for user sign-in, but the settings select {settings.auth_type} "
            f"({settings.auth_type_reason}).",
            fix="pass --auth-type azure-u2m or --auth-type databricks-u2m.",
            code="BA199",
        )
    return load_source_class(settings.auth_type)(settings)


def cmd_login(args: argparse.Namespace) -> int:
    from brickauth.cli.databrickscfg import read_profiles
    from brickauth.config import config_path

    path = config_path()
    profiles = read_profiles(path)
    new_profile = bool(args.profile) and args.profile not in profiles
    source = _u2m_source(args, new_profile=new_profile)
    memory_only = _require_persistent_store(source)
    result = source.login()
    left = result.token.expires_at - time.time()
    profile = None if args.no_save_profile else _save_profile(args, source, path, profiles)
    if args.json:
        print(json.dumps({
            "account": result.account, "flow": source.flow, "target": source.target(),
            "client_id": source.app.client_id, "client_id_reason": source.app.why, "store": source.store.name,
            "expires_at": int(result.token.expires_at), "expires_in": int(left),
            "profile": profile, "config_file": str(path) if profile else None,
        }, indent=2))  # fmt: skip
        return 0
    print(f"Signed in as {result.account or 'your account'} for {source.target()} ({source.flow}). "
          f"Access token valid for {format_duration(left)}; session saved in {source.store.name}.")
    if memory_only:
        print(f"The session is kept in memory only ({memory_only}): it ends with this command.")
    if profile:
        print(f"Profile [{profile}] saved in {path}: next time `brickauth token --profile {profile}`, "
              f"`brickauth logout --profile {profile}`, `brickauth doctor --profile {profile}`, or "
              f"`profile: {profile}` in a dbt profile.")
    return 0


def _require_persistent_store(source: Any) -> str:
    """Refuse a sign-in that would only live in this process's memory (no keyring, headless Linux)
    unless memory was asked for; returns the setting that asked for it ("" when the store persists)."""
    from brickauth.errors import BrickauthError, TokenStoreError
    from brickauth.store import MemoryStore, ResilientStore

    store = source.store
    try:
        store.keys()  # a keyring that fails now swaps to its fallback here, not after the sign-in
    except BrickauthError:
        pass
    active = store.active if isinstance(store, ResilientStore) else store
    if not isinstance(active, MemoryStore):
        return ""
    asked = source.settings.source_of("token_store")
    if source.settings.token_store == "memory" and asked:
        return f"token_store = memory from {asked}"
    raise TokenStoreError(
        "No OS keyring works on this machine (headless Linux, container), so this sign-in would be kept "
        "in memory and end with this command; nothing was signed in.",
        fix="install and unlock a Secret Service keyring (gnome-keyring or KWallet, with a D-Bus session), "
        "or opt in to the plaintext file store: export BRICKAUTH_TOKEN_STORE=file (one 0600 file per "
        "session under ~/.local/state/brickauth/tokens); BRICKAUTH_TOKEN_STORE=memory signs in for this "
        "command only.",
        code="BA411",
    )


def _save_profile(
    args: argparse.Namespace, source: Any, path: Any, profiles: dict[str, dict[str, str]]
) -> str:
    """Write (or update) the profile this sign-in can be found with again; never a secret."""
    from brickauth.cli.databrickscfg import PROFILE_AUTH_TYPE, default_profile_name, save_profile

    s = source.settings
    if s.host is None:
        return ""
    name = args.profile or default_profile_name(s.host.hostname, source.flow, profiles, s.host.url)
    values = {"host": s.host.url, "auth_type": PROFILE_AUTH_TYPE[source.flow]}
    if source.app.chosen:
        values["u2m_client_id"] = source.app.client_id
    if source.flow == "azure-u2m":
        if s.tenant_id:
            values["azure_tenant_id"] = s.tenant_id
        authority_source = s.source_of("authority_host") or ""
        if authority_source and not authority_source.startswith("detected"):
            values["azure_authority_host"] = s.authority_host
    if s.redirect_port is not None and s.source_of("redirect_port") == "explicit":
        values["redirect_port"] = str(s.redirect_port)
    save_profile(path, name, values)
    return str(name)


def cmd_logout(args: argparse.Namespace) -> int:
    if args.all:
        from brickauth.store import open_store

        store = open_store()
        keys = store.keys()
        for key in keys:
            with store.lock(key, timeout=30):
                store.delete(key)
        active = getattr(store, "active", store)
        purge = getattr(active, "purge", None)
        if purge is not None:  # the file store: no token file left (corrupt or unlisted ones too)
            purge()
        print(f"Removed {len(keys)} saved sign-in{'s' if len(keys) != 1 else ''} from {store.name}.")
        return 0
    from brickauth.config import config_profile

    targeted = any(getattr(args, n, None) for n in _TARGET_ARGS)
    targeted = targeted or config_profile() is not None
    if not targeted:
        return _logout_the_only_session()
    source = _u2m_source(args)
    removed = source.logout()
    print(("Removed" if removed else "No saved sign-in for") + f" {source.describe()} "
          f"({source.store.name}).{source.logout_note}")
    return 0


_TARGET_ARGS = ("host", "profile", "auth_type", "client_id", "tenant_id", "login_hint")


def _logout_the_only_session() -> int:
    """``brickauth logout`` with no flags: the one saved sign-in, if there is exactly one."""
    from brickauth.errors import ConfigurationError
    from brickauth.oauth.u2m_logout import forget_session
    from brickauth.store import open_store

    store = open_store()
    keys = [k for k in store.keys() if k.flow in U2M_TYPES]
    if not keys:
        print(f"No saved sign-ins in {store.name}.")
        return 0
    if len(keys) > 1:
        listed = "; ".join(_describe_key(k) for k in keys)
        raise ConfigurationError(
            f"`brickauth logout` without options needs exactly one saved sign-in, and {store.name} holds "
            f"{len(keys)}: {listed}.",
            fix="name one with --profile NAME (or --host/--auth-type/--client-id), or run "
            "`brickauth logout --all`.",
            code="BA618",
        )
    doc = store.load(keys[0]) or {}
    account = doc.get("account") if isinstance(doc.get("account"), str) else None
    outcome = forget_session(store, keys[0])
    print(f"Removed {_describe_key(keys[0], account)} from {store.name}.{outcome}")
    return 0


def _describe_key(key: Any, account: str | None = None) -> str:
    who = account or key.account or "default account"
    return f"{key.flow} {who} at {key.authority} (client {key.client_id})"


def status_rows() -> tuple[str, list[dict[str, Any]]]:
    """The token store's name and one row per saved sign-in; never a token."""
    from brickauth.oauth.u2m_documents import document_problem
    from brickauth.store import open_store

    store = open_store()
    now = time.time()
    rows = []
    for key in store.keys():
        doc = store.load(key) or {}
        problem = document_problem(key.flow, doc) if key.flow in U2M_TYPES else None
        if problem is not None:  # as every flow does: dropped, signed out
            log.warning("Dropped a corrupt saved sign-in %s (field %s) from %s; sign in again.",
                        _describe_key(key), problem, store.name)
            store.delete(key)
            continue
        expires_at = doc.get("expires_at")
        left = round(expires_at - now) if isinstance(expires_at, (int, float)) else None
        rows.append({
            "flow": key.flow or doc.get("flow"),
            "account": doc.get("account") or key.account or None,
            "authority": key.authority,
            "client_id": key.client_id,
            "scopes": list(key.scopes),
            "access_token_expires_at": expires_at,
            "access_token_expires_in": left,
            "can_refresh": bool(doc.get("refresh_token") or doc.get("msal_cache"))
            or doc.get("kind") == "m2m-access-token",  # M2M (store/token_cache.py): fetched anew
        })
    return store.name, rows


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 when a sign-in is saved or the settings need none (a service principal or the platform's
    identity), else 1 (as ``gh auth status``): nothing to sign in with, or a user sign-in is missing."""
    store_name, rows = status_rows()
    from brickauth.flows.auto import current_choice  # which auth type, and why

    choice = current_choice()
    ready = bool(rows) or choice["auth_type"] not in ("none", *U2M_TYPES)
    if args.json:
        print(json.dumps({"store": store_name, "sessions": rows, "auth": choice}, indent=2))
        return 0 if ready else 1
    print(f"Auth: {choice['auth_type']} ({choice['reason']})")
    print(f"Token store: {store_name}")
    if not rows:
        print("No saved sign-ins." + ("" if ready else " Run `brickauth login` to sign in."))
        return 0 if ready else 1
    for row in rows:
        left = row["access_token_expires_in"]
        state = "unknown" if left is None else (
            f"expires in {format_duration(left)}" if left > 0 else f"expired {format_duration(-left)} ago")
        refresh = "refreshes silently" if row["can_refresh"] else "no refresh token: sign in again"
        print(f"- {row['flow']}: {row['account'] or 'unknown account'} at {row['authority']} "
              f"(client {row['client_id']}; access token {state}; {refresh})")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from brickauth.provider import credentials_provider

    explicit = _explicit(args)
    auth_type = explicit.pop("auth_type", "auto")
    token = credentials_provider(auth_type=auth_type, **explicit).token()
    if args.json:
        print(json.dumps({"access_token": token.token, "token_type": token.token_type,
                          "expires_at": int(token.expires_at),
                          "expires_in": int(token.expires_at - time.time())}))
    else:
        sys.stdout.write(token.token + "\n")
    return 0
