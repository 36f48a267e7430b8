"""What a saved U2M sign-in must look like: a corrupt entry (a field of the wrong type, an access token
that is not a non-empty string, an msal cache that does not parse) is dropped and means signed out."""

from __future__ import annotations

import json
from typing import Any


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _text_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(value))


def document_problem(flow: str | None, doc: Any) -> str | None:
    """What is wrong with a saved sign-in (a field of the wrong type, an access token that is not a
    non-empty string, an msal cache that does not parse), or None. Names fields, never values."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    if doc.get("flow") not in (None, flow):
        return "flow"
    for name in ("account", "token_type", "home_account_id"):
        if name in doc and not _text_or_none(doc[name]):
            return name
    for name in ("expires_at", "obtained_at"):
        if name in doc and doc[name] is not None and not _number(doc[name]):
            return name
    if flow == "azure-u2m":
        return _msal_cache_problem(doc.get("msal_cache"))
    if not isinstance(doc.get("access_token"), str) or not doc["access_token"].strip():
        return "access_token"
    if not _number(doc.get("expires_at")):
        return "expires_at"
    if not _text_or_none(doc.get("refresh_token")):
        return "refresh_token"
    return None


def _msal_cache_problem(text: Any) -> str | None:
    if not isinstance(text, str):
        return "msal_cache"
    try:
        cache = json.loads(text)
    except ValueError:
        return "msal_cache (not JSON)"
    if not isinstance(cache, dict):
        return "msal_cache"
    for section in ("AccessToken", "RefreshToken", "Account", "IdToken", "AppMetadata"):
        entries = cache.get(section, {})
        if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
            return f"msal_cache {section}"
    for entry in cache.get("AccessToken", {}).values():
        if not isinstance(entry.get("secret"), str) or not entry["secret"].strip():
            return "msal_cache AccessToken secret"
        try:
            float(entry.get("expires_on"))
        except (TypeError, ValueError):
            return "msal_cache AccessToken expires_on"
    for entry in cache.get("RefreshToken", {}).values():
        if not isinstance(entry.get("secret"), str) or not entry["secret"].strip():
            return "msal_cache RefreshToken secret"
    return None
