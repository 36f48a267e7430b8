"""``brickauth logout`` of a saved sign-in: delete it from the token store and revoke its refresh token
at the identity provider where it offers revocation (RFC 7009)."""

from __future__ import annotations

from brickauth.errors import BrickauthError
from brickauth.http import HttpClient
from brickauth.store import Document, StoreKey, TokenStore


def forget_session(store: TokenStore, key: StoreKey, http: HttpClient | None = None, *,
                   lock_timeout: float = 90.0) -> str:
    """``brickauth logout`` of one saved session by its store key: delete it, revoke its refresh token
    where the identity provider offers revocation. Returns a note for the user (leading space)."""
    return forget(store, key, http, lock_timeout=lock_timeout)[1]


def forget(store: TokenStore, key: StoreKey, http: HttpClient | None, *,
           lock_timeout: float) -> tuple[bool, str]:
    """Delete the saved sign-in (even a corrupt one) and revoke its refresh token: (was present, note)."""
    with store.lock(key, timeout=lock_timeout):
        try:
            doc = store.load(key)
        finally:
            store.delete(key)  # even when the entry was corrupt
    if doc is None:
        return False, ""
    return True, revoke_refresh_token(key, doc, http or HttpClient(timeout=10.0))


def revoke_refresh_token(key: StoreKey, doc: Document, http: HttpClient) -> str:
    """RFC 7009 revocation of the session's refresh token, best effort and bounded by ``http``'s
    timeout. Databricks OIDC: at the ``revocation_endpoint`` of the workspace's metadata, if it has
    one. Entra ID offers no revocation endpoint to public clients: said so."""
    refresh_token = doc.get("refresh_token")
    if key.flow == "azure-u2m":
        return (" Entra ID offers apps no way to revoke a refresh token: the copy deleted here stays valid "
                "at Entra until it expires or an admin revokes your sessions.")
    if not isinstance(refresh_token, str) or not refresh_token:
        return ""
    from brickauth.oauth.metadata import discover

    stays = "stays valid until it expires"
    try:
        meta = discover(f"{key.authority.rstrip('/')}/oidc", http=http)
        if not meta.revocation_endpoint:
            return f" {key.authority} offers no token revocation: the refresh token {stays}."
        form = {"token": refresh_token, "token_type_hint": "refresh_token", "client_id": key.client_id}
        response = http.post(meta.revocation_endpoint, data=form)
        status = response.status_code
        response.close()
    except BrickauthError as err:
        return f" Revoking the refresh token at {key.authority} failed ({err.code}): it {stays}."
    if status != 200:
        return f" {key.authority} refused to revoke the refresh token (HTTP {status})."
    return f" The refresh token was revoked at {key.authority}."
