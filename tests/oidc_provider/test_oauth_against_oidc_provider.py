"""brickauth.oauth (PKCE, loopback redirect, code exchange, refresh, client credentials) against an
independent certified authorization server: npm's oidc-provider."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import pytest
import requests
from op_harness import M2M_SECRET, OidcProvider, sign_in_headless

from brickauth.errors import InvalidClientError, InvalidGrantError, LoginError
from brickauth.http import HttpClient
from brickauth.oauth import landing
from brickauth.oauth.client import OAuthClient, TokenResponse
from brickauth.oauth.loopback import Callback, LoopbackServer
from brickauth.oauth.metadata import ServerMetadata, discover
from brickauth.oauth.pkce import PKCEPair, new_state
from brickauth.secret import Secret

NATIVE = "brickauth-native"
SCOPES = ("openid", "offline_access", "email", "profile")


@pytest.fixture
def metadata(oidc_provider: OidcProvider) -> ServerMetadata:
    return discover(oidc_provider.issuer, http=HttpClient(timeout=10))


def browser_get(url: str, out: dict[str, Any]) -> None:
    resp = requests.get(url, timeout=30)
    out["status"], out["html"] = resp.status_code, resp.text


class SignIn:
    """One authorization-code sign-in through the loopback listener, the user played by HTTP."""

    def __init__(self, metadata: ServerMetadata, *, tamper_state: bool = False, abort: bool = False) -> None:
        self.client = OAuthClient(metadata, NATIVE, http=HttpClient(timeout=10))
        self.pkce = PKCEPair.generate()
        self.state = new_state()
        self.server = LoopbackServer(redirect_host="127.0.0.1")
        self.auth_url = self.client.authorization_url(
            redirect_uri=self.server.redirect_uri, scopes=SCOPES, state=self.state,
            code_challenge=self.pkce.challenge, extra={"prompt": "consent"})
        self.redirect = sign_in_headless(self.auth_url, self.server.redirect_uri, abort=abort)
        if tamper_state:
            self.redirect = self.redirect.replace(f"state={self.state}", "state=forged")
        self.browser: dict[str, Any] = {}
        self.thread = threading.Thread(target=browser_get, args=(self.redirect, self.browser))
        self.thread.start()

    def wait(self, timeout: float = 10) -> Callback:
        return self.server.wait(self.state, timeout=timeout)

    def finish(self) -> dict[str, Any]:
        self.thread.join(timeout=30)
        self.server.close()
        return self.browser


def test_discovery_finds_endpoints_and_s256(metadata: ServerMetadata, oidc_provider: OidcProvider) -> None:
    assert metadata.issuer == oidc_provider.issuer
    assert metadata.token_endpoint.startswith(oidc_provider.issuer)
    assert "S256" in metadata.code_challenge_methods_supported


def test_code_flow_with_pkce_then_refresh(metadata: ServerMetadata, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in = SignIn(metadata)
    callback = sign_in.wait()
    assert callback.code is not None and callback.error is None
    tokens = sign_in.client.exchange_code(callback.code, redirect_uri=sign_in.server.redirect_uri,
                                          code_verifier=sign_in.pkce.verifier)
    callback.respond(landing.success_page(account=tokens.account(), target="oidc-provider",
                                          provider="OpenID Connect"))
    page = sign_in.finish()
    assert page["status"] == 200
    assert "Signed in as" in page["html"] and "alice@example.com" in page["html"]
    assert "You can close this tab" in page["html"]
    assert tokens.account() == "alice@example.com"
    assert tokens.refresh_token is not None and tokens.expires_at > tokens.obtained_at

    refreshed = sign_in.client.refresh(tokens.refresh_token)
    assert refreshed.access_token.reveal() != tokens.access_token.reveal()
    assert refreshed.refresh_token is not None
    # no code, verifier or token reached a brickauth log line (urllib3 logs the test browser's URL)
    secrets = [callback.code.reveal(), sign_in.pkce.verifier.reveal(), tokens.access_token.reveal(),
               tokens.refresh_token.reveal(), refreshed.access_token.reveal()]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("brickauth"))
    assert "token endpoint" in ours
    assert not [s for s in secrets if s in ours]
    assert not [s for s in secrets if s in repr(tokens) + repr(refreshed) + repr(callback)]


def test_replayed_code_is_refused(metadata: ServerMetadata) -> None:
    sign_in = SignIn(metadata)
    callback = sign_in.wait()
    assert callback.code is not None
    first = sign_in.client.exchange_code(callback.code, redirect_uri=sign_in.server.redirect_uri,
                                         code_verifier=sign_in.pkce.verifier)
    assert isinstance(first, TokenResponse)
    with pytest.raises(InvalidGrantError) as err:
        sign_in.client.exchange_code(callback.code, redirect_uri=sign_in.server.redirect_uri,
                                     code_verifier=sign_in.pkce.verifier)
    assert err.value.idp_error == "invalid_grant" and not err.value.transient
    callback.respond("ok")
    sign_in.finish()


def test_wrong_verifier_is_refused(metadata: ServerMetadata) -> None:
    sign_in = SignIn(metadata)
    callback = sign_in.wait()
    assert callback.code is not None
    with pytest.raises(InvalidGrantError) as err:
        sign_in.client.exchange_code(callback.code, redirect_uri=sign_in.server.redirect_uri,
                                     code_verifier=PKCEPair.generate().verifier)
    assert err.value.idp_error == "invalid_grant"
    callback.respond("no")
    sign_in.finish()


def test_wrong_state_is_refused_and_the_listener_keeps_waiting(metadata: ServerMetadata) -> None:
    sign_in = SignIn(metadata, tamper_state=True)
    with pytest.raises(LoginError) as err:
        sign_in.wait(timeout=1.5)
    page = sign_in.finish()
    assert err.value.code == "BA612"
    assert page["status"] == 400
    assert "does not belong to the sign-in" in page["html"]
    assert sign_in.server.refused == 1


def test_denied_consent_reaches_the_caller_as_an_error(metadata: ServerMetadata) -> None:
    sign_in = SignIn(metadata, abort=True)
    callback = sign_in.wait()
    assert callback.code is None and callback.error == "access_denied"
    page_html = landing.failure_page(cause="You declined the sign-in.", fix="run it again", code="BA613")
    callback.respond(page_html, 400)
    page = sign_in.finish()
    assert page["status"] == 400 and "declined" in page["html"]


def test_client_credentials(metadata: ServerMetadata) -> None:
    client = OAuthClient(metadata, "brickauth-m2m", client_secret=Secret(M2M_SECRET),
                         http=HttpClient(timeout=10))
    tokens = client.client_credentials(scopes=["api"])
    assert tokens.access_token.reveal() and tokens.refresh_token is None
    assert tokens.scope == ("api",)


def test_wrong_client_secret_fails_at_once_classified(metadata: ServerMetadata) -> None:
    http = HttpClient(timeout=10)
    client = OAuthClient(metadata, "brickauth-m2m", client_secret=Secret("wrong-secret"), http=http)
    with pytest.raises(InvalidClientError) as err:
        client.client_credentials(scopes=["api"])
    assert http.requests_sent == 1
    assert "wrong-secret" not in str(err.value) and err.value.idp_error == "invalid_client"


def test_port_in_use_names_the_port_and_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LoginError) as err:
            LoopbackServer(port=port)
    assert err.value.code == "BA610"
    assert f"port {port}" in str(err.value) and "BRICKAUTH_REDIRECT_PORT" in str(err.value)


def test_listener_binds_loopback_only_and_is_one_shot() -> None:
    with LoopbackServer() as server:
        assert server._server.server_address[0] == "127.0.0.1"
        assert server.redirect_uri == f"http://localhost:{server.port}"
        out: dict[str, Any] = {}
        url = f"http://127.0.0.1:{server.port}/?code=abc&state=s1"
        t = threading.Thread(target=browser_get, args=(url, out))
        t.start()
        cb = server.wait("s1", timeout=10)
        cb.respond("<p>done</p>")
        t.join(10)
        assert out["status"] == 200
        again = requests.get(url, timeout=10)  # a second delivery is not accepted
        assert again.status_code == 404
