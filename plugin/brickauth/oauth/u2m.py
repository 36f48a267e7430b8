"""What both user sign-in flows (azure-u2m, databricks-u2m) share: the cache-then-lock-then-refresh-
then-sign-in sequence, the re-sign-in policy, and the terminal side of a browser sign-in.

``fetch()``:
1. a token in the store that is still fresh is returned (no lock, no network);
2. otherwise, under the cross-process lock for this key, the store is read again (another process
   may have refreshed or signed in meanwhile), then the refresh token is used;
3. a refresh refused as expired/revoked (``invalid_grant``, AADSTS700082/50173/700084) or no cached
   sign-in at all leads to an interactive sign-in, or, when this run cannot ask a person,
   to ``LoginRequiredError`` naming the exact ``brickauth login`` command.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TextIO, TypeVar

from brickauth.browser import Opener, browser_available, is_interactive, open_browser
from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings
from brickauth.entra_codes import RESIGN_IN_CODES
from brickauth.errors import (
    BrickauthError,
    IdentityProviderError,
    InvalidGrantError,
    LoginError,
    LoginRequiredError,
)
from brickauth.http import HttpClient
from brickauth.oauth import landing
from brickauth.oauth.loopback import Callback, LoopbackServer
from brickauth.oauth.u2m_apps import AppChoice
from brickauth.oauth.u2m_documents import document_problem
from brickauth.oauth.u2m_logout import forget
from brickauth.store import Document, StoreKey, TokenStore, open_store
from brickauth.token import AccessToken
from brickauth.windows import is_shareable

log = logging.getLogger(__name__)

# The clock U2M sessions are judged and timed by when none is passed in: the system clock. (The test
# suite moves it in child processes, to make saved tokens look aged; production code never does.)
DEFAULT_CLOCK: Clock = SYSTEM_CLOCK
RESIGN_IN_ERRORS = frozenset({"invalid_grant", "interaction_required", "login_required", "consent_required"})
REFRESH_LOCK_TIMEOUT = 90.0


def needs_new_sign_in(err: BaseException) -> bool:
    if isinstance(err, InvalidGrantError):
        return True
    if isinstance(err, IdentityProviderError) and not err.transient:
        return err.idp_error in RESIGN_IN_ERRORS or bool(RESIGN_IN_CODES & set(err.idp_error_codes))
    return False


@dataclass
class SignInResult:
    token: AccessToken
    account: str | None
    doc: Document = field(repr=False)


class Terminal:
    """The terminal side of a sign-in: the link to open by hand, a countdown (stderr, TTY only) and
    the pasted answer (stdin)."""

    def __init__(self, out: TextIO | None = None, stdin: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.stdin = stdin
        self._live: Any = None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def ask(self, prompt: str) -> str:
        self.out.write(prompt)
        self.out.flush()
        return (self.stdin or sys.stdin).readline().strip()

    def countdown(self, seconds_left: float) -> None:
        if not (hasattr(self.out, "isatty") and self.out.isatty()):
            return
        minutes, seconds = divmod(int(seconds_left), 60)
        text = f"Waiting for the sign-in in the browser: {minutes}:{seconds:02d} left (Ctrl+C to cancel)"
        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(text, console=Console(file=self.out), transient=True, auto_refresh=False)
            self._live.start()
        self._live.update(text, refresh=True)

    def done(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


_S = TypeVar("_S", bound="U2MSource")


class U2MSource(ABC):
    """Base of the user sign-in ``TokenSource``s. Everything but ``settings`` is for tests:
    ``no_browser`` / ``login_timeout`` override the settings; ``clock`` defaults to the system clock;
    ``sleep`` waits between device code polls."""

    flow: ClassVar[str]
    provider_label: ClassVar[str]
    default_client_id: ClassVar[str]
    app: AppChoice  # set by configure(): brickauth.oauth.u2m.choose_app

    def __init__(
        self,
        settings: Settings,
        *,
        http: HttpClient | None = None,
        store: TokenStore | None = None,
        opener: Opener | None = None,
        no_browser: bool | None = None,
        login_timeout: float | None = None,
        clock: Clock | None = None,
        out: TextIO | None = None,
        stdin: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.clock = clock if clock is not None else DEFAULT_CLOCK
        self.http = http or HttpClient(timeout=settings.timeout, verify=settings.verify)
        self.no_browser = settings.no_browser if no_browser is None else no_browser
        self.login_timeout = settings.login_timeout if login_timeout is None else login_timeout
        self.opener = opener
        self.sleep = sleep
        self.terminal = Terminal(out, stdin)
        self.logout_note = ""
        authority, client_id, scopes = self.configure()
        self.key = StoreKey(authority, client_id, scopes, settings.login_hint or "", flow=self.flow)
        self.store = store if store is not None else open_store(
            settings.token_store, allow_plaintext=settings.allow_plaintext_store or None)

    @classmethod
    def from_settings(
        cls: type[_S], settings: Settings, *, clock: Clock | None = None, http: HttpClient | None = None
    ) -> _S:
        return cls(settings, http=http, clock=clock)

    # -- provided by each flow ------------------------------------------------------------------
    @abstractmethod
    def configure(self) -> tuple[str, str, tuple[str, ...]]:
        """Set up from ``self.settings``; return (authority or host, client id, scopes) for the store key."""

    @abstractmethod
    def target(self) -> str:
        """What the user signs in to, for messages (e.g. the workspace URL)."""

    def login_args(self) -> list[str]:
        """Flow-specific ``brickauth login`` options (besides profile, host, client id, login hint)."""
        return []

    @abstractmethod
    def cached_token(self, doc: Document) -> tuple[AccessToken, float] | None:
        """The access token in ``doc`` and when it was obtained, without network."""

    @abstractmethod
    def refresh(self, doc: Document) -> SignInResult | None:
        """Use the refresh token in ``doc``; None when there is none. Raises ``BrickauthError``."""

    @abstractmethod
    def browser_sign_in(self) -> SignInResult:
        """Authorization code + PKCE through the loopback redirect."""

    @abstractmethod
    def headless_sign_in(self) -> SignInResult:
        """Sign-in without a local browser (device code, or a pasted redirect URL)."""

    def login_command(self) -> str:
        """The exact ``brickauth login ...`` that fixes a missing or expired sign-in."""
        s = self.settings
        parts = ["brickauth login"]
        if s.profile:
            parts.append(f"--profile {s.profile}")
        if s.host:
            parts.append(f"--host {s.host.url}")
        parts += [f"--auth-type {self.flow}", *self.login_args()]
        if self.key.client_id != self.default_client_id:
            parts.append(f"--client-id {self.key.client_id}")
        if self.key.account:
            parts.append(f"--login-hint {self.key.account}")
        return " ".join(parts)

    # -- TokenSource -----------------------------------------------------------------------------
    def describe(self) -> str:
        who = self.key.account or "default account"
        return f"{self.flow} {who} at {self.target()} (client {self.key.client_id})"

    @property
    def fetch_deadline(self) -> float:
        """Seconds a caller of the lifecycle waits for a token from this source (``RefreshingToken``):
        an interactive run may sign in (the lock wait plus ``login_timeout``), a non-interactive one
        only waits for the cross-process lock and one refresh."""
        if self.interactive()[0]:
            return self.login_timeout + 60.0 + 2 * self.settings.timeout
        return REFRESH_LOCK_TIMEOUT + 2 * self.settings.timeout

    def interactive(self) -> tuple[bool, str]:
        return is_interactive(self.settings.interactive)

    def fetch(self) -> AccessToken:
        token = self._fresh_from(self.load())
        if token is not None:
            return token
        interactive, why = self.interactive()
        doc = self.load()
        if not interactive and (doc is None or not self._has_refresh_token(doc)):
            raise self._login_required(f"no saved sign-in was found in {self.store.name}", why)
        timeout = self.login_timeout + 60.0 if interactive else REFRESH_LOCK_TIMEOUT
        with self.store.lock(self.key, timeout=timeout):
            doc = self.load()  # another process may have refreshed or signed in
            token = self._fresh_from(doc)
            if token is not None:
                return token
            if doc is not None:
                try:
                    result = self.refresh(doc)
                except BrickauthError as err:
                    if not needs_new_sign_in(err):
                        raise
                    if not interactive:
                        what = f"the saved sign-in can no longer be refreshed ({err.message})"
                        raise self._login_required(what, why) from None
                    log.warning("The saved sign-in for %s expired or was revoked; signing in again.",
                                self.target())
                    result = None
                if result is not None:
                    self._save(result)
                    return _without_refresh_token(result.token)
            if not interactive:
                raise self._login_required(f"no saved sign-in was found in {self.store.name}", why)
            result = self.sign_in()
            self._save(result)
            return _without_refresh_token(result.token)

    # -- explicit commands ----------------------------------------------------------------------
    def login(self) -> SignInResult:
        """Sign in now (``brickauth login``), replacing any saved sign-in for this key."""
        with self.store.lock(self.key, timeout=self.login_timeout + 60.0):
            result = self.sign_in()
            self._save(result)
            return result

    def logout(self) -> bool:
        """Forget the saved sign-in and revoke its refresh token where the IdP offers revocation;
        ``self.logout_note`` says what happened to the refresh token."""
        present, self.logout_note = forget(self.store, self.key, self.http, lock_timeout=REFRESH_LOCK_TIMEOUT)
        return present

    def sign_in(self) -> SignInResult:
        self.terminal.say(f"brickauth: signing in with the OAuth app {self.app.client_id} ({self.app.why}).")
        available, why_not = browser_available(self.no_browser, command=self.settings.browser)
        if available or self.opener is not None:
            return self.browser_sign_in()
        log.info("No browser (%s): signing in without one.", why_not)
        return self.headless_sign_in()

    # -- helpers for subclasses -------------------------------------------------------------------
    def run_loopback(
        self,
        *,
        port: int,
        redirect_host: str,
        build_url: Callable[[str], tuple[str, str]],
        finish: Callable[[Callback, str], SignInResult],
        describe_error: Callable[[Callback], BrickauthError],
    ) -> SignInResult:
        """Listen, open the browser at ``build_url(redirect_uri) -> (url, state)``, wait for the
        redirect, ``finish`` (code exchange) and answer the browser with the landing page."""
        with LoopbackServer(port=port, redirect_host=redirect_host) as server:
            url, state = build_url(server.redirect_uri)
            server.expect(state)
            self.check_sign_in_page(url, server.redirect_uri)
            opened = open_browser(url, opener=self.opener, command=self.settings.browser)
            self.terminal.say(
                f"brickauth: sign in to {self.target()} in the browser"
                + (" window that just opened." if opened else ".")
                + f"\nIf no browser opened, open this link within {self.login_timeout:g} s:\n  {url}"
            )
            try:
                callback = server.wait(state, timeout=self.login_timeout, on_tick=self.terminal.countdown)
            finally:
                self.terminal.done()
            if callback.code is None:
                err = describe_error(callback)
                callback.respond(landing.failure_page(cause=err.message, fix=err.fix, code=err.code,
                                                      detail=callback.error_description), 400)
                server.flush()
                raise err
            try:
                result = finish(callback, server.redirect_uri)
            except BrickauthError as err:
                callback.respond(landing.failure_page(cause=err.message, fix=err.fix, code=err.code), 400)
                server.flush()
                raise
            except BaseException:
                callback.respond(landing.failure_page(cause="brickauth failed to finish the sign-in.",
                                                      fix="check the terminal for details."), 500)
                server.flush()
                raise
            callback.respond(landing.success_page(account=result.account, target=self.target(),
                                                  provider=self.provider_label))
            server.flush()
            self.terminal.say(f"brickauth: signed in as {result.account or 'your account'} "
                              f"for {self.target()}.")
            return result

    def check_sign_in_page(self, url: str, redirect_uri: str) -> None:
        """Raise ``LoginError`` at once when the IdP answers ``url`` with an error page or an error
        redirect (``brickauth.oauth.sign_in_page``), before anyone waits for the browser."""
        from brickauth.oauth.sign_in_page import page_error_to_login_error, read_sign_in_page

        page = read_sign_in_page(self.http, url, redirect_uri)
        if page is not None:
            self.terminal.say(f"brickauth: the sign-in page answers with an error; not opening the browser "
                              f"(to see the page yourself, open:\n  {url} )")
            raise page_error_to_login_error(page, provider=self.provider_label, client_id=self.key.client_id,
                                            tenant=getattr(self, "tenant", None), url=url)

    def invalidate(self) -> None:
        """The workspace refused the saved access token (401): make it unusable in the store (the
        refresh token stays), so every process's next fetch refreshes instead of reusing it."""
        with self.store.lock(self.key, timeout=REFRESH_LOCK_TIMEOUT):
            doc = self.load()
            if doc is None:
                return
            doc = dict(doc, expires_at=0.0)
            if isinstance(doc.get("msal_cache"), str):
                cache = json.loads(doc["msal_cache"])
                cache["AccessToken"] = {}
                doc["msal_cache"] = json.dumps(cache)
            self.store.save(self.key, doc)
        log.info("The workspace refused the saved access token for %s; the next use refreshes it.",
                 self.target())

    def load(self) -> Document | None:
        """The saved sign-in; a corrupt one is deleted with a warning and treated as signed out."""
        doc = self.store.load(self.key)
        if doc is None:
            return None
        problem = document_problem(self.flow, doc)
        if problem is None:
            return doc
        log.warning("Dropped a corrupt saved sign-in for %s (field %s) from %s; sign in again.",
                    self.describe(), problem, self.store.name)
        self.store.delete(self.key)
        return None

    def _fresh_from(self, doc: Document | None) -> AccessToken | None:
        if doc is None:
            return None
        cached = self.cached_token(doc)
        if cached is None:
            return None
        token, obtained_at = cached
        if is_shareable(token.expires_at, obtained_at, self.clock.now()):
            return _without_refresh_token(token)
        return None

    def _has_refresh_token(self, doc: Document) -> bool:
        return bool(doc.get("refresh_token") or doc.get("msal_cache"))

    def _save(self, result: SignInResult) -> None:
        self.store.save(self.key, result.doc)

    def _login_required(self, what: str, why: str) -> LoginRequiredError:
        return LoginRequiredError(
            f"Sign-in needed for {self.flow} at {self.target()}: {what}, and this run cannot open a "
            f"sign-in ({why}).",
            fix=f"run `{self.login_command()}` in a terminal, then run this again.",
            code="BA602",
        )


def _without_refresh_token(token: AccessToken) -> AccessToken:
    if token.refresh_token is None:
        return token
    return AccessToken(token=token.token, expires_at=token.expires_at, token_type=token.token_type,
                       scopes=token.scopes)


def login_error_from_redirect(callback: Callback, provider: str, client_id: str | None = None) -> LoginError:
    """The IdP sent the browser back with ``error=...`` (declined consent, AADSTS errors...)."""
    error = callback.error or "unknown_error"
    description = (callback.error_description or "").strip()
    first = description.split("\n")[0].split(" Trace ID:")[0].strip()[:300]
    aadsts = re.search(r"AADSTS(\d+)", description)
    if (aadsts and aadsts.group(1) == "65004") or (error == "access_denied" and not aadsts):
        return LoginError(
            f"The sign-in at {provider} was cancelled or the consent prompt was declined ({error}).",
            fix="sign in again and accept the permissions prompt; if your organisation requires admin "
            "consent, ask an admin to grant it for this app.",
            code="BA613",
        )
    if aadsts:
        from brickauth.idp_errors import from_entra
        from brickauth.oauth.sign_in_page import doctor_fix

        classified = from_entra({"error": error, "error_description": description})
        said = re.sub(r"^AADSTS\d+:\s*", "", first)
        return LoginError(f"{provider} did not sign you in (AADSTS{aadsts.group(1)}): {said}",
                          fix=doctor_fix(description, client_id=client_id) or classified.fix,
                          code=classified.code)
    return LoginError(
        f"{provider} refused the sign-in ({error}{': ' + first if first else ''}).",
        fix="check the client id, redirect URL and scopes registered for the OAuth app; "
        "`brickauth doctor` explains common causes.",
        code="BA614",
    )
