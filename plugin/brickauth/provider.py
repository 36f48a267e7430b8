"""``credentials_provider(...)``: one object for databricks-sql-connector and databricks-sdk.

- SQL connector: ``sql.connect(credentials_provider=p)`` calls ``p()`` once per connection and then
  the returned header factory for requests.
- databricks-sdk: ``Config(credentials_strategy=p)`` calls ``p(cfg)`` and ``p.auth_type()``.

One ``RefreshingToken`` per provider: every connection and thread sharing the provider shares the token.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from brickauth import logging_utils
from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.config import Settings, resolve_settings
from brickauth.errors import ConfigurationError
from brickauth.flows import FLOWS
from brickauth.lifecycle import RefreshingToken, TokenSource
from brickauth.token import AccessToken

if TYPE_CHECKING:
    from brickauth.http import HttpClient

log = logging.getLogger(__name__)

HeaderFactory = Callable[[], dict[str, str]]


class CredentialsProvider:
    """Callable returning a header factory; ``auth_type()`` names it (``brickauth-azure-m2m``)."""

    def __init__(self, settings: Settings, source: TokenSource, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._settings = settings
        self._token = RefreshingToken(source, clock=clock)
        self._header_factory: HeaderFactory = _header_factory(self._token.get, "Authorization")
        self._connector_factory = self._header_factory
        if settings.family == "azure":  # Entra tokens: see brickauth.exchange
            from brickauth.exchange import CONNECTOR_HEADER

            self._connector_factory = _header_factory(self._token.get, CONNECTOR_HEADER)

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def source(self) -> TokenSource:
        return self._token.source

    @property
    def refreshing_token(self) -> RefreshingToken:
        return self._token

    def auth_type(self) -> str:
        return f"brickauth-{self._settings.auth_type}"

    def __call__(self, *args: Any, **kwargs: Any) -> HeaderFactory:
        host = _client_host(args)
        if host is not None:
            _check_same_host(self._settings, host)
        if args or kwargs:  # databricks-sdk: p(cfg)
            return self._header_factory
        return self._connector_factory  # the SQL connector: p(); also dbt-databricks' REST requests

    def token(self) -> AccessToken:
        return self._token.get()

    def invalidate(self) -> None:
        """The workspace refused the token we believed valid (HTTP 401): forget it here and in the
        token store (U2M keeps its refresh token), so the next connection or request gets a new one.
        ``is_unauthorized(exc)`` tells such a refusal from other errors (issue 10)."""
        self._token.invalidate()
        forget = getattr(self.source, "invalidate", None)
        if callable(forget):
            forget()

    def __repr__(self) -> str:
        s = self._settings
        return f"CredentialsProvider(auth_type={s.auth_type!r}, host={str(s.host) if s.host else None!r})"


def _client_host(args: tuple[Any, ...]) -> str | None:
    """The host a client hands the provider: databricks-sdk calls ``p(cfg)`` with its ``Config``."""
    host = getattr(args[0], "host", None) if args else None
    return host if isinstance(host, str) and host.strip() else None


def _check_same_host(settings: Settings, client_host: str) -> None:
    """A client configured for another workspace than brickauth's own host setting: refused, naming
    both, never a silent sign-in at the wrong place (issue 10)."""
    from brickauth.errors import ConfigurationError
    from brickauth.hosts import WorkspaceHost

    ours = settings.host
    if ours is None:
        return
    theirs = WorkspaceHost.parse(client_host, authority_host=None)
    if (theirs.hostname.lower(), theirs.port) != (ours.hostname.lower(), ours.port):
        raise ConfigurationError(
            f"The client is configured for {theirs.url}, but brickauth's host setting is {ours.url} "
            f"({settings.source_of('host') or 'explicit'}).",
            fix="use one workspace: pass the same host to both (or leave brickauth's unset, e.g. unset "
            "DATABRICKS_HOST, and brickauth takes the client's).",
            code="BA123",
        )


class _HostFromClient(CredentialsProvider):
    """No host was configured: the client's own host decides it, as databricks-sdk hands it over in
    ``p(cfg)``. Until then (e.g. the SQL connector's ``p()``) the missing-host error is raised."""

    def __init__(self, explicit: dict[str, Any], env: dict[str, str] | None, clock: Clock,
                 missing: BaseException) -> None:  # fmt: skip
        self._explicit, self._env, self._clock, self._missing = explicit, env, clock, missing
        self._bound: CredentialsProvider | None = None
        self._bind_lock = threading.Lock()

    def _provider(self, host: str | None = None) -> CredentialsProvider:
        with self._bind_lock:
            if self._bound is None:
                if host is None:
                    raise self._missing
                self._bound = credentials_provider(host=host, env=self._env, clock=self._clock,
                                                   **self._explicit)  # fmt: skip
                log.info("brickauth: no host configured; using the client's host %s", host)
            return self._bound

    @property
    def settings(self) -> Settings:
        return self._provider().settings

    @property
    def source(self) -> TokenSource:
        return self._provider().source

    @property
    def refreshing_token(self) -> RefreshingToken:
        return self._provider().refreshing_token

    def auth_type(self) -> str:
        bound = self._bound
        return bound.auth_type() if bound else f"brickauth-{self._explicit.get('auth_type', 'auto')}"

    def __call__(self, *args: Any, **kwargs: Any) -> HeaderFactory:
        return self._provider(_client_host(args))(*args, **kwargs)

    def token(self) -> AccessToken:
        return self._provider().token()

    def invalidate(self) -> None:
        if self._bound is not None:
            self._bound.invalidate()

    def __repr__(self) -> str:
        return f"CredentialsProvider(auth_type={self.auth_type()[10:]!r}, host=<from the client>)"


def is_unauthorized(error: BaseException | None) -> bool:
    """An error (or its cause) that is the workspace answering 401 to our token: the SQL connector's
    ``RequestError`` (``context['http-code']``), databricks-sdk's ``Unauthenticated``, requests' 401."""
    seen = 0
    while error is not None and seen < 8:
        seen += 1
        context = getattr(error, "context", None)
        if isinstance(context, dict) and context.get("http-code") == 401:
            return True
        response = getattr(error, "response", None)
        if getattr(response, "status_code", None) == 401 or type(error).__name__ == "Unauthenticated":
            return True
        if "401 - UNAUTHORIZED" in str(error) or "HTTP 401" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _header_factory(get: Callable[[], AccessToken], name: str) -> HeaderFactory:
    cached: tuple[AccessToken | None, str] = (None, "")  # a token and its header value, swapped whole

    def header_factory() -> dict[str, str]:
        nonlocal cached
        token = get()
        seen, value = cached
        if token is not seen:
            value = f"{token.token_type} {token.token}"
            cached = (token, value)
        return {name: value}

    return header_factory


def load_source_class(auth_type: str) -> Any:
    module_name, _, class_name = FLOWS[auth_type].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def build_source(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, http: HttpClient | None = None
) -> TokenSource:
    """The flow's ``TokenSource``. A ``clock`` other than the system's, and an ``http`` client (e.g. one
    bounded by a doctor step), reach ``from_settings`` when it accepts them, so a token's
    ``expires_at`` and the lifecycle read the same time and every request uses the given client."""
    factory = load_source_class(settings.auth_type).from_settings
    accepted = inspect.signature(factory).parameters
    options: dict[str, Any] = {}
    if clock is not SYSTEM_CLOCK and "clock" in accepted:
        options["clock"] = clock
    if http is not None and "http" in accepted:
        options["http"] = http
    source: TokenSource = factory(settings, **options)
    return source


def credentials_provider(
    auth_type: str = "auto",
    host: str | None = None,
    *,
    env: dict[str, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    **settings: Any,
) -> CredentialsProvider:
    """Resolve settings (explicit, then environment, then ``~/.databrickscfg``), validate them and build
    the provider. No network call happens until the first token is needed."""
    explicit = dict(settings)
    if host is not None:
        explicit["host"] = host
    if auth_type and auth_type != "auto":
        explicit["auth_type"] = auth_type
    try:
        resolved = resolve_settings(explicit, env)
    except ConfigurationError as err:
        if err.code != "BA110" or "host" in explicit:
            raise
        return _HostFromClient(explicit, env, clock, err)
    logging_utils.register_secret(resolved.client_secret)
    logging_utils.register_secret(resolved.client_certificate_password)
    logging_utils.install()
    source = build_source(resolved, clock=clock)
    from brickauth.store.token_cache import machine_cached

    if resolved.family == "azure" and resolved.host is not None and not resolved.cloud.startswith("azure"):
        # The connector's exchange, once per token; Azure Databricks accepts Entra tokens as they are.
        from brickauth.exchange import ExchangedSource

        source = ExchangedSource(source, resolved.host.url, resolved.host.hostname,
                                 timeout=resolved.timeout, verify=resolved.verify, clock=clock)
    source = machine_cached(source, resolved, clock=clock)  # M2M: one token per machine, not per process
    log.info("brickauth: %s (%s)", source.describe(), resolved.auth_type_reason)
    return CredentialsProvider(resolved, source, clock=clock)
