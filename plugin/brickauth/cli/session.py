"""``brickauth login | logout [--all] | status | token [--json]``: the user's sign-in sessions.

Heavy modules (msal, keyring, requests) load only inside the command functions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from brickauth.durations import format_duration

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
    login.set_defaults(func=cmd_login)

    logout = subparsers.add_parser("logout", help="forget a saved sign-in (or --all of them)")
    _add_target_args(logout, u2m_only=True)
    logout.add_argument("--all", action="store_true", help="forget every saved sign-in")
    logout.set_defaults(func=cmd_logout)

    status = subparsers.add_parser("status", help="saved sign-ins, their expiry and the token store "
                                   "(never a token)")
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


def _u2m_source(args: argparse.Namespace) -> Any:
    from brickauth.config import resolve_settings
    from brickauth.errors import ConfigurationError
    from brickauth.provider import load_source_class

    settings = resolve_settings(_explicit(args, interactive=True))
    if settings.auth_type not in U2M_TYPES:
        raise ConfigurationError(
            f"`brickauth {args.command}` is for user sign-in, but the settings select {settings.auth_type} "
            f"({settings.auth_type_reason}).",
            fix="pass --auth-type azure-u2m or --auth-type databricks-u2m.",
            code="BA199",
        )
    return load_source_class(settings.auth_type)(settings)


def cmd_login(args: argparse.Namespace) -> int:
    source = _u2m_source(args)
    result = source.login()
    left = result.token.expires_at - time.time()
    print(f"Signed in as {result.account or 'your account'} for {source.target()} ({source.flow}). "
          f"Access token valid for {format_duration(left)}; session saved in {source.store.name}.")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    if args.all:
        from brickauth.store import open_store

        store = open_store()
        keys = store.keys()
        for key in keys:
            with store.lock(key, timeout=30):
                store.delete(key)
        print(f"Removed {len(keys)} saved sign-in{'s' if len(keys) != 1 else ''} from {store.name}.")
        return 0
    source = _u2m_source(args)
    removed = source.logout()
    print(("Removed" if removed else "No saved sign-in for") + f" {source.describe()} "
          f"({source.store.name}).")
    return 0


def status_rows() -> tuple[str, list[dict[str, Any]]]:
    """The token store's name and one row per saved sign-in; never a token."""
    from brickauth.store import open_store

    store = open_store()
    now = time.time()
    rows = []
    for key in store.keys():
        doc = store.load(key) or {}
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
            "can_refresh": bool(doc.get("refresh_token") or doc.get("msal_cache")),
        })
    return store.name, rows


def cmd_status(args: argparse.Namespace) -> int:
    store_name, rows = status_rows()
    from brickauth.flows.auto import current_choice  # fleet (issue 12): which auth type, and why

    choice = current_choice()
    if args.json:
        print(json.dumps({"store": store_name, "sessions": rows, "auth": choice}, indent=2))
        return 0
    print(f"Auth: {choice['auth_type']} ({choice['reason']})")
    print(f"Token store: {store_name}")
    if not rows:
        print("No saved sign-ins. Run `brickauth login` to sign in.")
        return 0
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
