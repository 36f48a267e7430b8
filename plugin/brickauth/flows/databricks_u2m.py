"""databricks-u2m: a user signs in at the workspace's own OAuth server (``/oidc/v1/authorize`` and
``/oidc/v1/token``) with authorization code + PKCE S256, ``state`` and ``offline_access``.

Defaults are those of the Databricks CLI, whose OAuth app every workspace has: client id
``databricks-cli`` and redirect ``http://localhost:8020`` (set ``u2m_client_id``
(``BRICKAUTH_DATABRICKS_U2M_CLIENT_ID``) / ``redirect_port`` (``BRICKAUTH_REDIRECT_PORT``) for a
custom OAuth app connection; ``DATABRICKS_CLIENT_ID`` names the M2M service principal and is not used
here). Without a browser (SSH, containers,
``--no-browser``) the sign-in link is printed and the user pastes back the URL the browser was sent
to (its page fails to load there, which is expected).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from brickauth.errors import ConfigurationError, LoginError
from brickauth.oauth.client import OAuthClient, TokenResponse
from brickauth.oauth.loopback import Callback
from brickauth.oauth.metadata import databricks_workspace_metadata
from brickauth.oauth.pkce import PKCEPair, new_state
from brickauth.oauth.u2m import SignInResult, U2MSource, login_error_from_redirect
from brickauth.oauth.u2m_apps import choose_app
from brickauth.secret import Secret
from brickauth.store import Document
from brickauth.token import AccessToken

DEFAULT_CLIENT_ID = "databricks-cli"
DEFAULT_APP_ID = DEFAULT_CLIENT_ID
DEFAULT_APP_LABEL = ("databricks-cli, the Databricks CLI's published OAuth app, in every workspace "
                     "(dbt-databricks is another published one)")
DEFAULT_REDIRECT_PORT = 8020
DEFAULT_SCOPES = ("all-apis", "offline_access")


class DatabricksU2MSource(U2MSource):
    flow = "databricks-u2m"
    provider_label = "Databricks OAuth (workspace sign-in)"
    default_client_id = DEFAULT_CLIENT_ID

    def configure(self) -> tuple[str, str, tuple[str, ...]]:
        settings = self.settings
        if settings.host is None:
            raise ConfigurationError("databricks-u2m needs the workspace URL.",
                                     fix="set DATABRICKS_HOST or pass host=.", code="BA110")
        self.host_url = settings.host.url
        self.app = choose_app(settings, self.flow, DEFAULT_CLIENT_ID, DEFAULT_APP_LABEL)
        self.client_id = self.app.client_id
        self.scopes = tuple(settings.scopes or DEFAULT_SCOPES)
        if "offline_access" not in self.scopes:
            self.scopes = (*self.scopes, "offline_access")
        port = settings.redirect_port
        self.redirect_port = port if port is not None else DEFAULT_REDIRECT_PORT
        self.oauth = OAuthClient(databricks_workspace_metadata(self.host_url), self.client_id,
                                 client_secret=self.app.client_secret, http=self.http,
                                 issuer_label="Databricks", clock=self.clock)
        return self.host_url, self.client_id, self.scopes

    def target(self) -> str:
        return self.host_url

    # -- tokens <-> stored document -------------------------------------------------------------
    def cached_token(self, doc: Document) -> tuple[AccessToken, float] | None:
        try:
            token = AccessToken(token=str(doc["access_token"]), expires_at=float(doc["expires_at"]),
                                token_type=str(doc.get("token_type") or "Bearer"), scopes=self.scopes)
            return token, float(doc.get("obtained_at") or 0.0)
        except (KeyError, TypeError, ValueError):
            return None

    def _result(self, tokens: TokenResponse, account: str | None) -> SignInResult:
        account = tokens.account() or account
        doc: Document = {
            "flow": self.flow,
            "account": account,
            "access_token": tokens.access_token.reveal(),
            "refresh_token": tokens.refresh_token.reveal() if tokens.refresh_token else None,
            "token_type": tokens.token_type,
            "expires_at": tokens.expires_at,
            "obtained_at": tokens.obtained_at,
        }
        return SignInResult(token=tokens.to_access_token(), account=account, doc=doc)

    def refresh(self, doc: Document) -> SignInResult | None:
        refresh_token = doc.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            return None
        tokens = self.oauth.refresh(Secret(refresh_token))
        return self._result(tokens, doc.get("account"))

    # -- sign-in --------------------------------------------------------------------------------
    def _authorize_url(self, redirect_uri: str, pkce: PKCEPair, state: str) -> str:
        extra = {"login_hint": self.key.account} if self.key.account else {}
        return self.oauth.authorization_url(redirect_uri=redirect_uri, scopes=self.scopes, state=state,
                                            code_challenge=pkce.challenge, extra=extra)

    def browser_sign_in(self) -> SignInResult:
        pkce = PKCEPair.generate()
        state = new_state()

        def finish(callback: Callback, redirect_uri: str) -> SignInResult:
            assert callback.code is not None
            tokens = self.oauth.exchange_code(callback.code, redirect_uri=redirect_uri,
                                              code_verifier=pkce.verifier)
            return self._result(tokens, None)

        return self.run_loopback(
            port=self.redirect_port,
            redirect_host="localhost",
            build_url=lambda redirect_uri: (self._authorize_url(redirect_uri, pkce, state), state),
            finish=finish,
            describe_error=lambda cb: login_error_from_redirect(cb, f"{self.host_url}"),
        )

    def headless_sign_in(self) -> SignInResult:
        pkce = PKCEPair.generate()
        state = new_state()
        redirect_uri = f"http://localhost:{self.redirect_port}"
        url = self._authorize_url(redirect_uri, pkce, state)
        self.check_sign_in_page(url, redirect_uri)
        self.terminal.say(
            f"brickauth: no browser here. Open this link on any device and sign in to {self.host_url}:\n"
            f"  {url}\nThe browser then goes to {redirect_uri}/?code=... and shows an error page: "
            "that is expected. Copy that whole address from the address bar."
        )
        line = self.terminal.ask("Paste the address here: ")
        if not line:
            raise LoginError("No redirect address was pasted.",
                             fix="run `brickauth login` again and paste the address the browser ended on.",
                             code="BA615")
        params = {k: v[0] for k, v in parse_qs(urlsplit(line).query).items()}
        if params.get("state") != state:
            raise LoginError(
                "The pasted address does not belong to this sign-in (its state value does not match).",
                fix="paste the address from the sign-in started by this command (the newest tab).",
                code="BA611",
            )
        if "code" not in params:
            raise login_error_from_redirect(
                Callback(code=None, error=params.get("error"),
                         error_description=params.get("error_description"), params=params),
                self.host_url)
        tokens = self.oauth.exchange_code(Secret(params["code"]), redirect_uri=redirect_uri,
                                          code_verifier=pkce.verifier)
        return self._result(tokens, None)
