"""Starts npm's oidc-provider (``server.mjs``) with node for the generic OAuth tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

HERE = Path(__file__).parent
M2M_SECRET = "m2m-secret-canary-5d1e"


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen[str]


def _ensure_installed() -> None:
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install oidc-provider (tests/oidc_provider/package.json)")
    subprocess.run([npm, "ci" if (HERE / "package-lock.json").exists() else "install", "--no-audit",
                    "--no-fund"], cwd=HERE, check=True, timeout=300)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run npm's oidc-provider (apt-get install nodejs npm)")
    _ensure_installed()
    env = {**os.environ, "OP_M2M_SECRET": M2M_SECRET, "OP_ACCESS_TOKEN_TTL": "600"}
    proc = subprocess.Popen([node, str(HERE / "server.mjs")], cwd=HERE, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the server prints its issuer once it listens
        if not line:
            pytest.fail(f"oidc-provider did not start (exit {proc.wait(timeout=10)})")
        yield OidcProvider(issuer=json.loads(line)["issuer"], process=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
