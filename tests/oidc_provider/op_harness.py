"""Playing the user at npm's oidc-provider development pages, with plain HTTP."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

M2M_SECRET = "m2m-secret-canary-5d1e"


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen[str]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        if tag == "input" and a.get("name") and a.get("type") in ("hidden", None):
            self.inputs[str(a["name"])] = a.get("value") or ""


def sign_in_headless(auth_url: str, redirect_prefix: str, *, login: str = "alice@example.com",
                     abort: bool = False) -> str:
    """Play the user at oidc-provider's development login and consent pages with plain HTTP (no
    JavaScript there); returns the redirect URL the browser would be sent to."""
    http = requests.Session()
    http.trust_env = False
    url = auth_url
    for _ in range(20):
        resp = http.get(url, allow_redirects=False, timeout=10)
        if resp.is_redirect:
            url = urljoin(url, resp.headers["Location"])
            if url.startswith(redirect_prefix):
                return url
            continue
        forms = _Forms()
        forms.feed(resp.text)
        assert resp.status_code == 200 and forms.action, resp.text[:500]
        if abort:
            url = urljoin(url, forms.action.rstrip("/") + "/abort")
            continue
        data = dict(forms.inputs)
        if 'name="login"' in resp.text:
            data.update(prompt="login", login=login, password="any")
        else:
            data.update(prompt="consent")
        post = http.post(urljoin(url, forms.action), data=data, allow_redirects=False, timeout=10)
        assert post.is_redirect, post.text[:500]
        url = urljoin(url, post.headers["Location"])
        if url.startswith(redirect_prefix):
            return url
    raise AssertionError("the sign-in did not come back to the redirect URI")
