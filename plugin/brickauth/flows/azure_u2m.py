"""azure-u2m: a user signs in with Microsoft Entra ID through msal (PublicClientApplication), for the
Azure Databricks resource (``2ff814a6-.../user_impersonation``).

- silent first: msal's ``SerializableTokenCache`` lives in our token store (keyring by default) and
  its refresh token is used under the cross-process lock;
- a browser sign-in is msal's ``initiate_auth_code_flow`` / ``acquire_token_by_auth_code_flow`` (msal
  checks state and PKCE) with the redirect received by our loopback listener on
  ``http://localhost:<port>`` (Entra accepts any port for a mobile/desktop ``http://localhost``
  redirect; ``redirect_port`` / ``BRICKAUTH_REDIRECT_PORT`` pins one, 0 = any free port);
- without a browser, the device code flow (the app must allow public client flows): the user opens
  the printed page on any device and enters the printed code; we poll at the server's interval until
  the code expires or 5 x ``login_timeout`` (default 10 min) has passed.

Defaults: tenant ``organizations`` (set ``AZURE_TENANT_ID`` to the workspace's tenant, needed for
guest accounts) and the Azure CLI's public client id, present in every tenant (set
``BRICKAUTH_AZURE_U2M_CLIENT_ID`` / ``u2m_client_id`` to your own app registration; ``AZURE_CLIENT_ID``
names the M2M app and is not used here: ``brickauth.oauth.u2m.choose_app``).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from brickauth.durations import format_duration
from brickauth.entra import AZURE_DATABRICKS_USER_SCOPE
from brickauth.errors import BrickauthError, IdentityProviderError, LoginError
from brickauth.oauth.loopback import Callback
from brickauth.oauth.u2m import SignInResult, U2MSource, login_error_from_redirect
from brickauth.oauth.u2m_apps import choose_app
from brickauth.store import Document
from brickauth.token import AccessToken, expires_at_for

log = logging.getLogger(__name__)

DEFAULT_SCOPES = (AZURE_DATABRICKS_USER_SCOPE,)
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
DEFAULT_APP_ID = AZURE_CLI_CLIENT_ID
DEFAULT_APP_LABEL = (f"the Azure CLI's public client app {AZURE_CLI_CLIENT_ID}, present in every Entra "
                     "tenant (Microsoft publishes no Azure Databricks sign-in app of its own)")
DEFAULT_TENANT = "organizations"
_RESERVED = {"openid", "profile", "offline_access"}  # msal adds these itself
DEVICE_CODE_WAIT_FACTOR = 5  # a device code sign-in happens on another device: allow 5 x login_timeout


class AzureU2MSource(U2MSource):
    flow = "azure-u2m"
    provider_label = "Microsoft Entra ID"
    default_client_id = AZURE_CLI_CLIENT_ID

    def configure(self) -> tuple[str, str, tuple[str, ...]]:
        settings = self.settings
        authority_host = settings.host.entra_authority_host if settings.host else settings.authority_host
        self.tenant = settings.tenant_id or DEFAULT_TENANT
        self.authority = f"{authority_host.rstrip('/')}/{self.tenant}"
        self.app = choose_app(settings, self.flow, AZURE_CLI_CLIENT_ID, DEFAULT_APP_LABEL)
        self.client_id = self.app.client_id
        self.scopes = tuple(s for s in (settings.scopes or DEFAULT_SCOPES) if s not in _RESERVED)
        self.redirect_port = settings.redirect_port or 0
        self.login_hint = settings.login_hint
        self._app: Any = None
        self._cache: Any = None
        return self.authority, self.client_id, self.scopes

    def target(self) -> str:
        return str(self.settings.host) if self.settings.host else "Azure Databricks"

    def login_args(self) -> list[str]:
        return [f"--tenant-id {self.settings.tenant_id}"] if self.settings.tenant_id else []

    # -- msal -----------------------------------------------------------------------------------
    def _msal(self, doc: Document | None) -> Any:
        """The msal app (made once) with its cache loaded from ``doc``."""
        import msal

        if self._app is None:
            self._cache = msal.SerializableTokenCache()
            known = urlsplit(self.authority).hostname in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS
            try:
                self._app = msal.PublicClientApplication(
                    self.client_id, authority=self.authority, token_cache=self._cache,
                    http_client=self.http, instance_discovery=known,
                )  # fmt: skip
            except ValueError as exc:  # msal's authority validation; never carries a secret
                raise LoginError(
                    f"Entra ID authority {self.authority} could not be used: {str(exc)[:200]}",
                    fix="check AZURE_TENANT_ID (a tenant GUID or domain) and AZURE_AUTHORITY_HOST.",
                    code="BA616",
                ) from None
        text = doc.get("msal_cache") if doc else None
        self._cache.deserialize(text if isinstance(text, str) else "{}")
        return self._app

    def _account(self, app: Any, doc: Document | None) -> Any:
        accounts = app.get_accounts(username=self.login_hint) if self.login_hint else app.get_accounts()
        wanted = doc.get("home_account_id") if doc else None
        for account in accounts:
            if wanted and account.get("home_account_id") == wanted:
                return account
        return accounts[0] if accounts else None

    def _result(self, app: Any, result: dict[str, Any]) -> SignInResult:
        now = self.clock.now()
        claims = result.get("id_token_claims") or {}
        username = claims.get("preferred_username") or claims.get("upn") or claims.get("email")
        home = None
        for account in app.get_accounts():
            if username and account.get("username", "").lower() == str(username).lower():
                home = account.get("home_account_id")
        expires_at = expires_at_for(str(result["access_token"]), now, result.get("expires_in"))
        doc: Document = {
            "flow": self.flow,
            "account": username,
            "home_account_id": home,
            "expires_at": expires_at,
            "obtained_at": now,
            "msal_cache": self._cache.serialize(),
        }
        token = AccessToken(token=str(result["access_token"]), expires_at=expires_at,
                            token_type=str(result.get("token_type") or "Bearer"), scopes=self.scopes)
        return SignInResult(token=token, account=username, doc=doc)

    @staticmethod
    def _error(result: dict[str, Any]) -> IdentityProviderError:
        from brickauth.idp_errors import from_entra

        return from_entra(result)

    # -- U2MSource ------------------------------------------------------------------------------
    def cached_token(self, doc: Document) -> tuple[AccessToken, float] | None:
        """The best access token for our scopes in the stored msal cache (read as JSON, no msal)."""
        try:
            cache = json.loads(doc["msal_cache"])
            entries = cache.get("AccessToken", {}).values()
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        wanted = {s.lower() for s in self.scopes}
        home = doc.get("home_account_id")
        best: tuple[AccessToken, float] | None = None
        for entry in entries:
            try:
                if entry.get("client_id") != self.client_id:
                    continue
                if home and entry.get("home_account_id") != home:
                    continue
                if not wanted <= {t.lower() for t in str(entry.get("target", "")).split()}:
                    continue
                expires = float(entry["expires_on"])
                token = AccessToken(token=str(entry["secret"]), expires_at=expires,
                                    token_type=str(entry.get("token_type") or "Bearer"), scopes=self.scopes)
                if best is None or expires > best[0].expires_at:
                    best = (token, float(entry.get("cached_at") or 0))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
        return best

    def refresh(self, doc: Document) -> SignInResult | None:
        app = self._msal(doc)
        account = self._account(app, doc)
        if account is None:
            return None
        result = app.acquire_token_silent_with_error(list(self.scopes), account=account, force_refresh=True)
        if not result:
            return None  # no refresh token for this account and scopes
        if "access_token" not in result:
            raise self._error(result)
        return self._result(app, result)

    def browser_sign_in(self) -> SignInResult:
        app = self._msal(self.load())
        flows: dict[str, Any] = {}

        def build(redirect_uri: str) -> tuple[str, str]:
            # form_post keeps the code out of the browser's address bar and history (RFC 9700 4.3.1)
            flow = app.initiate_auth_code_flow(list(self.scopes), redirect_uri=redirect_uri,
                                               login_hint=self.login_hint, response_mode="form_post")
            flows["flow"] = flow
            return str(flow["auth_uri"]), str(flow["state"])

        def finish(callback: Callback, redirect_uri: str) -> SignInResult:
            try:  # msal checks state and sends the PKCE verifier it made
                result = app.acquire_token_by_auth_code_flow(flows["flow"], callback.params,
                                                             scopes=list(self.scopes))
            except ValueError:
                raise LoginError("msal refused the sign-in response (state mismatch).",
                                 fix="run `brickauth login` again.", code="BA611") from None
            if "access_token" not in result:
                raise self._sign_in_error(result)
            return self._result(app, result)

        return self.run_loopback(port=self.redirect_port, redirect_host="localhost", build_url=build,
                                 finish=finish,
                                 describe_error=lambda cb: login_error_from_redirect(cb, "Entra ID",
                                                                                     self.client_id))

    def headless_sign_in(self) -> SignInResult:
        """Device code: print the page and code, then poll (one msal call per poll, our own waits)."""
        app = self._msal(self.load())
        flow = app.initiate_device_flow(scopes=list(self.scopes))
        if "user_code" not in flow:
            err: BrickauthError = self._error(flow)
            raise LoginError(
                f"Device code sign-in could not start: {err.message}",
                fix=err.fix or "allow public client flows on the app registration, or use a browser.",
                code=err.code,
            )
        page, code = flow.get("verification_uri"), flow["user_code"]
        wait = min(self.login_timeout * DEVICE_CODE_WAIT_FACTOR, float(flow.get("expires_in", 900)))
        self.terminal.say(
            f"brickauth: no browser here. To sign in to {self.target()}, open {page} in a browser on any "
            f"device and enter the code {code} (within {format_duration(wait)})."
        )
        deadline = self.clock.now() + wait
        while True:
            # exit_condition True: msal polls once and returns (its own loop would time.sleep)
            result = app.acquire_token_by_device_flow(flow, exit_condition=lambda _flow: True)
            if "access_token" in result:
                signed_in = self._result(app, result)
                self.terminal.say(f"brickauth: signed in as {signed_in.account or 'your account'} "
                                  f"for {self.target()}.")
                return signed_in
            if result.get("error") not in ("authorization_pending", "slow_down"):
                raise self._device_code_error(result, page)
            left = deadline - self.clock.now()
            if left <= 0:
                raise LoginError(
                    f"No one entered the device code at {page} within {wait:g} s.",
                    fix="run `brickauth login` again and enter the new code in time (BRICKAUTH_LOGIN_TIMEOUT "
                    f"sets the wait: {DEVICE_CODE_WAIT_FACTOR} x its value).",
                    code="BA612",
                )
            self.sleep(min(float(flow.get("interval") or 5), left))  # msal adds 5 s after slow_down

    def _sign_in_error(self, result: dict[str, Any]) -> LoginError:
        """A refused code redemption, with the doctor's sign-in fix (never "set AZURE_CLIENT_SECRET")."""
        from brickauth.oauth.sign_in_page import doctor_fix

        err = self._error(result)
        description = str(result.get("error_description") or "")
        message = err.message
        if 7000218 in err.idp_error_codes:
            message = (f"Entra ID refused to redeem the sign-in code (AADSTS7000218): the app registration "
                       f"{self.client_id} is set up as a confidential app (its redirect URI is on the 'Web' "
                       "platform), so Entra asks for a client secret that a desktop sign-in does not have.")
        fix = doctor_fix(description, client_id=self.client_id) or err.fix
        return LoginError(message, fix=fix, code=err.code)

    def _device_code_error(self, result: dict[str, Any], page: object) -> LoginError:
        error = result.get("error")
        if error == "authorization_declined":
            return LoginError(
                f"The device code sign-in at {page} was declined (authorization_declined).",
                fix="run `brickauth login` again and accept the sign-in and permissions prompt; if your "
                "organisation requires admin consent, ask an admin to grant it for this app.",
                code="BA613",
            )
        if error == "expired_token":
            return LoginError(
                f"The device code expired before the sign-in at {page} was completed (expired_token).",
                fix="run `brickauth login` again and enter the new code within its lifetime (15 min).",
                code="BA612",
            )
        if 7000218 in (result.get("error_codes") or ()):
            return LoginError(
                f"The app registration {self.client_id} does not allow public client flows, which device "
                "code sign-in needs (AADSTS7000218).",
                fix="in the app registration's Authentication page set 'Allow public client flows' to Yes, "
                "or sign in with a browser (without --no-browser / BRICKAUTH_NO_BROWSER).",
                code="BA617",
            )
        err = self._error(result)
        return LoginError(err.message, fix=err.fix, code=err.code)
