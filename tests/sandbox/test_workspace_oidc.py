"""The workspace's OAuth server: client credentials (Databricks OAuth secrets), authorization code + PKCE
signed in by a real headless Chromium, refresh tokens and their TTL, through requests and databricks-sdk."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from test_workspace_harness import (
    ALICE,
    ALICE_PASSWORD,
    CLI_APP,
    DAVE,
    DBX_SP,
    DBX_SP_EXPIRED,
    DBX_SP_EXPIRED_SECRET,
    DBX_SP_SECRET,
    Harness,
    running_workspace,
)

from brickauth_sandbox.workspace.model import OAuthAppIntegration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with running_workspace(tmp_path) as h:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(h.ca_bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(h.ca_bundle))
        for name in (
            "DATABRICKS_HOST",
            "DATABRICKS_TOKEN",
            "DATABRICKS_CLIENT_ID",
            "DATABRICKS_CLIENT_SECRET",
            "DATABRICKS_CONFIG_PROFILE",
            "DATABRICKS_AUTH_TYPE",
            "ARM_CLIENT_ID",
            "AZURE_CLIENT_ID",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
        yield h


def token_request(h: Harness, data: dict[str, str], auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.post(h.url("/oidc/v1/token"), data=data, auth=auth, timeout=10)


def me(h: Harness, token: str) -> requests.Response:
    return requests.get(
        h.url("/api/2.0/preview/scim/v2/Me"), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


# --- client credentials ------------------------------------------------------------------------------


def test_client_credentials_basic(ws: Harness) -> None:
    r = token_request(
        ws, {"grant_type": "client_credentials", "scope": "all-apis"}, auth=(DBX_SP, DBX_SP_SECRET)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "all-apis"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body
    assert me(ws, body["access_token"]).json()["userName"] == DBX_SP
    entry = ws.log.last(path="/oidc/v1/token")
    assert entry is not None
    assert entry.fields == {"grant_type": "client_credentials", "client_id": DBX_SP, "principal": DBX_SP}


def test_client_credentials_post(ws: Harness) -> None:
    r = token_request(
        ws,
        {
            "grant_type": "client_credentials",
            "scope": "all-apis",
            "client_id": DBX_SP,
            "client_secret": DBX_SP_SECRET,
        },
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "client_id, secret",
    [
        (DBX_SP, "dose" + "0" * 64),  # wrong secret
        ("00000000-0000-0000-0000-000000000000", DBX_SP_SECRET),  # unknown client
        (DBX_SP_EXPIRED, DBX_SP_EXPIRED_SECRET),  # expired secret
    ],
)
def test_client_credentials_refused(ws: Harness, client_id: str, secret: str) -> None:
    r = token_request(ws, {"grant_type": "client_credentials", "scope": "all-apis"}, auth=(client_id, secret))
    assert r.status_code == 401
    assert r.json() == {"error_description": "Client authentication failed", "error": "invalid_client"}
    assert ws.log.last(path="/oidc/v1/token").fields["error_code"] == "invalid_client"  # type: ignore[union-attr]


def test_sql_scope_token_cannot_call_rest(ws: Harness) -> None:
    r = token_request(ws, {"grant_type": "client_credentials", "scope": "sql"}, auth=(DBX_SP, DBX_SP_SECRET))
    r2 = me(ws, r.json()["access_token"])
    assert (r2.status_code, r2.json()["message"]) == (403, "Invalid scope")


def test_unknown_grant_type(ws: Harness) -> None:
    r = token_request(ws, {"grant_type": "password", "username": "x", "password": "y"})
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")


def test_sdk_oauth_m2m(ws: Harness) -> None:
    from databricks.sdk import WorkspaceClient

    w = WorkspaceClient(
        host=ws.base_url, client_id=DBX_SP, client_secret=DBX_SP_SECRET, auth_type="oauth-m2m"
    )
    user = w.current_user.me()
    assert user.user_name == DBX_SP
    assert ws.log.count(path="/.well-known/databricks-config") >= 1
    assert ws.log.count(path="/oidc/v1/token", grant_type="client_credentials", status=200) == 1


def test_sdk_oauth_m2m_with_expired_secret(ws: Harness) -> None:
    from databricks.sdk import WorkspaceClient

    w = WorkspaceClient(
        host=ws.base_url, client_id=DBX_SP_EXPIRED, client_secret=DBX_SP_EXPIRED_SECRET, auth_type="oauth-m2m"
    )
    with pytest.raises(Exception) as info:
        w.current_user.me()
    assert "invalid_client" in str(info.value)
    assert "Client authentication failed" in str(info.value)


def test_sdk_rest_errors_map_to_sdk_exceptions(ws: Harness) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import NotFound, PermissionDenied

    w = WorkspaceClient(
        host=ws.base_url, client_id=DBX_SP, client_secret=DBX_SP_SECRET, auth_type="oauth-m2m"
    )
    with pytest.raises(NotFound):
        w.warehouses.get("doesnotexist")
    ws.workspace.warehouses["4b9e8f7a6c5d3e21"].can_use.discard(DBX_SP)
    with pytest.raises(PermissionDenied, match="permission to use warehouse"):
        w.warehouses.get("4b9e8f7a6c5d3e21")
    w.workspace.mkdirs(f"/Users/{DBX_SP}/dbt_python_models/main/default")
    status = w.workspace.get_status(f"/Users/{DBX_SP}/dbt_python_models/main/default")
    assert status.object_type is not None and status.object_type.value == "DIRECTORY"


# --- authorization code + PKCE ----------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Callback:
    """A one-shot loopback redirect listener (RFC 8252) on 127.0.0.1."""

    def __init__(self) -> None:
        self.query: dict[str, str] = {}
        self.received = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith("/callback"):  # the browser also asks for /favicon.ico
                    self.send_response(404)
                    self.end_headers()
                    return
                owner.query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<html><body>Signed in. You can close this tab.</body></html>")
                owner.received.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Callback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def authorize_url(
    h: Harness,
    client_id: str,
    redirect_uri: str,
    challenge: str | None,
    state: str,
    scope: str = "all-apis offline_access",
) -> str:
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
        "state": state,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return h.url("/oidc/v1/authorize?" + urlencode(params))


@contextlib.contextmanager
def chromium_page(url: str) -> Iterator[Any]:
    """A real headless Chromium page opened at ``url`` (skips when Chromium or Playwright is missing)."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.goto(url, timeout=15_000)
            yield page
        finally:
            browser.close()


def browser_sign_in(url: str, username: str, password: str) -> str:
    """Drive a real headless Chromium through the sign-in page; returns the final page text."""
    with chromium_page(url) as page:
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("load", timeout=15_000)
        return str(page.inner_text("body", timeout=15_000))


@pytest.fixture
def app_with_loopback(ws: Harness) -> Iterator[tuple[Harness, Callback]]:
    with Callback() as cb:
        ws.workspace.oauth_apps["brickauth-test"] = OAuthAppIntegration(
            "brickauth-test", "brickauth test", [cb.redirect_uri]
        )
        yield ws, cb


@pytest.mark.browser
def test_authorization_code_with_pkce_in_a_real_browser(app_with_loopback: tuple[Harness, Callback]) -> None:
    ws, cb = app_with_loopback
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(16)
    text = browser_sign_in(
        authorize_url(ws, "brickauth-test", cb.redirect_uri, challenge, state), ALICE.upper(), ALICE_PASSWORD
    )
    assert "Signed in" in text
    assert cb.received.wait(10)
    assert cb.query["state"] == state
    code = cb.query["code"]

    # A wrong verifier is refused, and the code is spent: codes are single-use.
    bad = token_request(
        ws,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": cb.redirect_uri,
            "code_verifier": verifier + "x",
            "client_id": "brickauth-test",
        },
    )
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")

    ws2_code = _sign_in_again(ws, cb, challenge)
    r = token_request(
        ws,
        {
            "grant_type": "authorization_code",
            "code": ws2_code,
            "redirect_uri": cb.redirect_uri,
            "code_verifier": verifier,
            "client_id": "brickauth-test",
        },
    )
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["scope"] == "all-apis offline_access"
    assert me(ws, tokens["access_token"]).json()["userName"] == ALICE
    again = token_request(
        ws,
        {
            "grant_type": "authorization_code",
            "code": ws2_code,
            "redirect_uri": cb.redirect_uri,
            "code_verifier": verifier,
            "client_id": "brickauth-test",
        },
    )
    assert again.json()["error"] == "invalid_grant"

    refreshed = token_request(
        ws,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "brickauth-test",
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert me(ws, refreshed.json()["access_token"]).status_code == 200
    assert ws.log.count(path="/oidc/v1/authorize", method="POST", principal=ALICE) == 2


def form_sign_in(
    ws: Harness,
    username: str,
    password: str,
    *,
    client_id: str = CLI_APP,
    redirect_uri: str = "http://localhost:8020",
    challenge: str = "c" * 43,
    state: str = "s",
    scope: str = "all-apis offline_access",
) -> requests.Response:
    """Sign in on the workspace's HTML form without a browser; returns the form post's answer."""
    s = requests.Session()
    page = s.get(authorize_url(ws, client_id, redirect_uri, challenge, state, scope=scope), timeout=10)
    txn = page.text.split('name="txn" value="')[1].split('"')[0]
    return s.post(
        ws.url("/oidc/v1/authorize"),
        data={"txn": txn, "username": username, "password": password},
        allow_redirects=False,
        timeout=10,
    )


def code_of(answer: requests.Response) -> str:
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def redeem(ws: Harness, code: str, verifier: str) -> dict[str, str]:
    data = {"grant_type": "authorization_code", "code": code, "client_id": CLI_APP,
            "redirect_uri": "http://localhost:8020", "code_verifier": verifier}
    tokens: dict[str, str] = token_request(ws, data).json()
    return tokens


def _sign_in_again(ws: Harness, cb: Callback, challenge: str) -> str:
    """A second sign-in without a browser (form post), for a fresh code."""
    cb.received.clear()
    r = form_sign_in(ws, ALICE, ALICE_PASSWORD, client_id="brickauth-test", redirect_uri=cb.redirect_uri,
                     challenge=challenge, state="s2")
    assert r.status_code == 302
    return code_of(r)


@pytest.mark.browser
def test_wrong_password_stays_on_sign_in_page(app_with_loopback: tuple[Harness, Callback]) -> None:
    ws, cb = app_with_loopback
    _, challenge = pkce()
    text = browser_sign_in(
        authorize_url(ws, "brickauth-test", cb.redirect_uri, challenge, "s"), ALICE, "nope"
    )
    assert "Invalid email or password." in text
    assert not cb.received.is_set()


@pytest.mark.browser
def test_unregistered_redirect_uri_in_the_browser(ws: Harness) -> None:
    _, challenge = pkce()
    text = browser_sign_in_expecting_error(
        authorize_url(ws, CLI_APP, "http://localhost:8021", challenge, "s")
    )
    assert (
        "redirect_uri 'http://localhost:8021' not registered for OAuth application 'databricks-cli'" in text
    )


def browser_sign_in_expecting_error(url: str) -> str:
    with chromium_page(url) as page:
        return str(page.inner_text("body", timeout=15_000))


def test_unknown_client_id_at_authorize(ws: Harness) -> None:
    _, challenge = pkce()
    r = requests.get(authorize_url(ws, "no-such-app", "http://localhost:8020", challenge, "s"), timeout=10)
    assert r.status_code == 400
    assert r.json() == {
        "error_description": "OAuth application with client_id: 'no-such-app' not available in "
        f"Databricks account '{ws.workspace.account_id}'.",
        "error": "invalid_request",
    }


def test_pkce_is_required(ws: Harness) -> None:
    r = requests.get(
        authorize_url(ws, CLI_APP, "http://localhost:8020", None, "st"), allow_redirects=False, timeout=10
    )
    assert r.status_code == 302
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    assert q["error"] == ["invalid_request"] and q["state"] == ["st"]
    assert r.headers["Location"].startswith("http://localhost:8020")


def test_deactivated_user_cannot_sign_in(ws: Harness) -> None:
    _, challenge = pkce()
    r = form_sign_in(ws, DAVE, "Dave-pw-1", challenge=challenge)
    assert r.status_code == 403
    assert "not active" in r.text


def test_refresh_token_expires_after_the_app_ttl(ws: Harness) -> None:
    ws.workspace.oauth_apps[CLI_APP].refresh_token_ttl_minutes = 60
    verifier, challenge = pkce()
    tokens = redeem(ws, code_of(form_sign_in(ws, ALICE, ALICE_PASSWORD, challenge=challenge)), verifier)
    ws.clock.advance(59 * 60)
    ok = token_request(
        ws, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": CLI_APP}
    )
    assert ok.status_code == 200
    ws.clock.advance(61)
    late = token_request(
        ws, {"grant_type": "refresh_token", "refresh_token": ok.json()["refresh_token"], "client_id": CLI_APP}
    )
    # Real Databricks words a dead refresh token as invalid_request (databricks/cli#667).
    assert late.status_code == 400
    assert late.json() == {"error": "invalid_request", "error_description": "Refresh token is invalid"}


def test_no_refresh_token_without_offline_access(ws: Harness) -> None:
    verifier, challenge = pkce()
    answer = form_sign_in(ws, ALICE, ALICE_PASSWORD, challenge=challenge, scope="all-apis")
    tokens = redeem(ws, code_of(answer), verifier)
    assert "access_token" in tokens and "refresh_token" not in tokens
