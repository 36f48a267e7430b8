"""HTTP for token endpoints: timeouts on every call, bounded jittered retries, explicit CA bundle.

Retried: connection errors and resets, timeouts, HTTP 429 (Retry-After honoured up to a cap) and
500/502/503/504. Not retried: TLS verification failures and every other status (returned to the
caller, which classifies it). ``HttpClient`` also serves as msal's ``http_client`` so msal's calls get
the same timeouts, retries and CA bundle.

CA bundle: requests lets ``REQUESTS_CA_BUNDLE`` override a session's ``verify``; we pass ``verify``
on every request, resolved once by ``brickauth.config`` (explicit > BRICKAUTH_CA_BUNDLE >
REQUESTS_CA_BUNDLE > CURL_CA_BUNDLE > SSL_CERT_FILE > certifi), so every client agrees.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from brickauth.errors import NetworkError

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries
    backoff_initial: float = 0.2
    backoff_max: float = 4.0
    retry_after_max: float = 20.0  # a longer Retry-After is capped to this
    deadline: float = 60.0  # no retry starts after this many seconds since the first try


NO_RETRY = RetryPolicy(attempts=1)


class HttpClient:
    """A requests session with timeouts, retries and an explicit CA bundle; msal-compatible."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        verify: str | bool = True,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        session: requests.Session | None = None,
        user_agent: str | None = None,
    ) -> None:
        import requests

        from brickauth import __version__

        self.timeout = timeout
        self.verify = verify
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent or f"brickauth/{__version__}"
        self.requests_sent = 0

    # msal calls these two (``http_client.post(url, params=, data=, headers=, **kw)``).
    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any) -> Any:
        return self.request("POST", url, params=params, data=data, headers=headers, **kw)

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any) -> Any:
        return self.request("GET", url, params=params, headers=headers, **kw)

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        timeout: Any = None,
        retry: RetryPolicy | None = None,
        **_ignored: Any,
    ) -> requests.Response:
        import requests

        policy = retry or self.retry
        connect = min(10.0, self.timeout)
        timeouts = timeout if timeout is not None else (connect, self.timeout)
        where = _safe_url(url)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.requests_sent += 1
            t0 = time.monotonic()
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=dict(headers or {}), auth=auth,
                    timeout=timeouts, verify=self.verify, allow_redirects=False,
                )  # fmt: skip
            except requests.exceptions.SSLError as exc:
                raise _tls_error(where, exc) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "failed to connect"
                if _one_shot(data) and not _never_sent(exc):
                    raise _code_maybe_used(where, exc) from None
                delay = self._delay(policy, attempt, started, None)
                if delay is None:
                    raise _network_error(method, where, kind, attempt, exc) from None
                log.debug("%s %s %s (%s), retry %d in %.2f s", method, where, kind, type(exc).__name__,
                          attempt, delay)  # fmt: skip
                self._sleep(delay)
                continue
            log.debug("%s %s -> %d in %.3f s (try %d)", method, where, response.status_code,
                      time.monotonic() - t0, attempt)  # fmt: skip
            if response.status_code in RETRY_STATUSES and not _one_shot(data):
                delay = self._delay(policy, attempt, started, response.headers.get("Retry-After"))
                if delay is not None:
                    response.close()
                    self._sleep(delay)
                    continue
            return response

    def _delay(
        self, policy: RetryPolicy, attempt: int, started: float, retry_after: str | None
    ) -> float | None:
        if attempt >= policy.attempts:
            return None
        base = min(policy.backoff_max, policy.backoff_initial * (2 ** (attempt - 1)))
        delay = base / 2 + self._jitter() * base / 2
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            delay = max(delay, min(hinted, policy.retry_after_max))
        if time.monotonic() - started + delay > policy.deadline:
            return None
        return float(delay)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def post_form(
    url: str,
    data: Mapping[str, str],
    *,
    client: HttpClient,
    auth: tuple[str, str] | None = None,
    retry: RetryPolicy | None = None,
) -> requests.Response:
    """POST ``application/x-www-form-urlencoded`` with retries; returns the final response."""
    return client.request(
        "POST", url, data=dict(data), auth=auth, retry=retry, headers={"Accept": "application/json"}
    )


def _one_shot(data: Any) -> bool:
    """A request that must reach the server at most once: an authorization code redemption (issue 10;
    RFC 6749 4.1.2: a code used twice makes the server revoke what it issued for it)."""
    return isinstance(data, Mapping) and data.get("grant_type") == "authorization_code"


def _never_sent(exc: Exception) -> bool:
    """The request cannot have reached the server (no connection was made)."""
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text


def _code_maybe_used(where: str, exc: Exception) -> NetworkError:
    return NetworkError(
        f"The sign-in code was sent to {where}, but no answer came back ({type(exc).__name__}); a code "
        "can be used only once, so brickauth does not send it again.",
        fix="run `brickauth login` again; if this repeats, check the network path to the identity "
        "provider (`brickauth doctor`) or raise BRICKAUTH_TIMEOUT.",
        code="BA504",
    )


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the query (it may carry a code)


def _tls_error(where: str, exc: Exception) -> NetworkError:
    detail = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in str(exc) else type(exc).__name__
    return NetworkError(
        f"TLS to {where} failed ({detail}).",
        fix="Trust the server's CA: set REQUESTS_CA_BUNDLE (or ca_bundle=) to a PEM bundle holding the "
        "system CAs plus your proxy's or private CA.",
        code="BA510",
    )


def _network_error(method: str, where: str, kind: str, attempts: int, exc: Exception) -> NetworkError:
    return NetworkError(
        f"{method} {where} {kind} after {attempts} tries ({type(exc).__name__}).",
        fix="Check the network path to this host (proxy: HTTPS_PROXY/NO_PROXY) and that the host is right; "
        "raise timeout= if the network is slow.",
        code="BA501" if kind == "timed out" else "BA502",
    )
