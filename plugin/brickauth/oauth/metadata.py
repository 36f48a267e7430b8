"""Authorization server metadata (RFC 8414 / OpenID Connect Discovery)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from brickauth.errors import IdentityProviderError
from brickauth.http import HttpClient


@dataclass(frozen=True)
class ServerMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    code_challenge_methods_supported: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ServerMetadata:
        for name in ("issuer", "authorization_endpoint", "token_endpoint"):
            if not isinstance(doc.get(name), str):
                raise IdentityProviderError(
                    f"The authorization server's metadata has no {name}.",
                    fix="check the host (it must be the workspace or issuer URL).",
                    code="BA260",
                )
        return cls(
            issuer=doc["issuer"],
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            device_authorization_endpoint=doc.get("device_authorization_endpoint"),
            revocation_endpoint=doc.get("revocation_endpoint"),
            userinfo_endpoint=doc.get("userinfo_endpoint"),
            code_challenge_methods_supported=tuple(doc.get("code_challenge_methods_supported") or ()),
            raw=doc,
        )


def well_known_urls(issuer: str) -> list[str]:
    """Where metadata may live for ``issuer``: RFC 8414 section 3 (inserted well-known) and the
    OpenID Connect form (appended), in that order."""
    parts = urlsplit(issuer.rstrip("/"))
    path = parts.path
    urls = []
    for name in ("oauth-authorization-server", "openid-configuration"):
        urls.append(urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{name}{path}", "", "")))
        if path:
            urls.append(urlunsplit((parts.scheme, parts.netloc, f"{path}/.well-known/{name}", "", "")))
    return list(dict.fromkeys(urls))


def discover(
    issuer: str,
    *,
    http: HttpClient | None = None,
    check_issuer: bool = True,
) -> ServerMetadata:
    """Fetch metadata for ``issuer``; with ``check_issuer`` the document's issuer must equal it
    (RFC 8414 3.3), so a look-alike server cannot redirect the sign-in."""
    client = http or HttpClient()
    last: str = ""
    for url in well_known_urls(issuer):
        resp = client.get(url, headers={"Accept": "application/json"})
        if resp.status_code != 200:
            last = f"HTTP {resp.status_code}"
            continue
        try:
            doc = resp.json()
        except ValueError:
            last = "not JSON"
            continue
        meta = ServerMetadata.from_json(doc)
        if check_issuer and meta.issuer.rstrip("/") != issuer.rstrip("/"):
            raise IdentityProviderError(
                f"OAuth metadata at {url} names issuer {meta.issuer}, not {issuer}.",
                fix="use the issuer's own URL as the host/authority.",
                code="BA261",
            )
        return meta
    raise IdentityProviderError(
        f"No OAuth metadata found for {issuer} ({last}).",
        fix="check that the host is a Databricks workspace URL or an OAuth issuer URL.",
        code="BA262",
    )


def databricks_workspace_metadata(host_url: str) -> ServerMetadata:
    """The workspace's OIDC endpoints without a network call (as the Databricks CLI derives them)."""
    base = host_url.rstrip("/")
    return ServerMetadata(
        issuer=f"{base}/oidc",
        authorization_endpoint=f"{base}/oidc/v1/authorize",
        token_endpoint=f"{base}/oidc/v1/token",
        code_challenge_methods_supported=("S256",),
    )
