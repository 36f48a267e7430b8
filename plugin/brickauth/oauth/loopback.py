"""The RFC 8252 loopback redirect: a one-shot HTTP listener on 127.0.0.1 that receives the
authorization response, checks ``state`` and answers the browser with a landing page.

The browser's request is held open until the caller has exchanged the code, so the page can say who
signed in (or why it failed): ``wait()`` returns a ``Callback``; call ``callback.respond(html)``.
"""

from __future__ import annotations

import errno
import hmac
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from brickauth.errors import LoginError
from brickauth.oauth import landing
from brickauth.secret import Secret

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
# How long the browser's request waits for the caller to finish the code exchange.
RESPOND_TIMEOUT = 60.0
MAX_FORM_BYTES = 64 * 1024


@dataclass
class Callback:
    """One authorization response that carried the expected ``state``."""

    code: Secret | None
    error: str | None
    error_description: str | None
    params: dict[str, str] = field(repr=False)
    _page: tuple[int, str] | None = field(default=None, repr=False)
    _answered: threading.Event = field(default_factory=threading.Event, repr=False)

    def respond(self, html: str, status: int = 200) -> None:
        """Answer the browser (once); the listener then stops."""
        if not self._answered.is_set():
            self._page = (status, html)
            self._answered.set()

    @property
    def url_params(self) -> dict[str, str]:
        return {k: v for k, v in self.params.items() if k != "code"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = sys.platform != "win32"  # on Windows SO_REUSEADDR would allow port theft
    owner: LoopbackServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A broken or malformed request (reset connection, bad headers): one debug line, never the
        traceback socketserver prints to stderr by default."""
        kind = sys.exc_info()[0]
        log.debug("loopback: dropped a request (%s)", kind.__name__ if kind else "unknown error")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("loopback: %s", self.requestline.split("?")[0])

    def _send(self, status: int, html: str) -> None:
        body = html.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.owner._handle(self, urlsplit(self.path).query)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (malformed request line or headers, unsupported method or HTTP
        version, too long): 400 and our short page, no details."""
        status = 400
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # always a status line, even for a garbled request line
        try:
            self._send(status, landing.failure_page(cause="This address only accepts the sign-in response.",
                                                    fix=None))
        except OSError:
            pass
        self.close_connection = True

    def do_POST(self) -> None:  # response_mode=form_post: the response is in the form body
        raw = (self.headers.get("Content-Length") or "0").strip()
        length = int(raw) if raw.isdigit() else -1
        if not 0 < length <= MAX_FORM_BYTES:
            self._send(400, landing.failure_page(cause="This address only accepts the sign-in response.",
                                                 fix=None))
            return
        self.server.owner._handle(self, self.rfile.read(length).decode("utf-8", "replace"))


class LoopbackServer:
    """Listens on ``bind_host:port`` (127.0.0.1 only by default); ``port=0`` picks a free port."""

    def __init__(
        self,
        *,
        port: int = 0,
        redirect_host: str = "localhost",
        path: str = "/",
        bind_host: str = "127.0.0.1",
    ) -> None:
        self.path = path if path.startswith("/") else "/" + path
        try:
            self._server = _Server((bind_host, port), _Handler)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES, getattr(errno, "WSAEADDRINUSE", -1)):
                raise LoginError(
                    f"Cannot receive the sign-in redirect: port {port} on {bind_host} is already in use "
                    f"({exc.strerror}).",
                    fix=f"close the program listening on port {port} (often another sign-in still "
                    "waiting), or set BRICKAUTH_REDIRECT_PORT to a free port that is registered as a "
                    "redirect URL of your OAuth app.",
                    code="BA610",
                ) from None
            raise
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        suffix = "" if self.path == "/" else self.path
        self.redirect_uri = f"http://{redirect_host}:{self.port}{suffix}"
        self._expected_state: str | None = None
        self._expecting = threading.Event()  # set once the state is known
        self._results: queue.Queue[Callback] = queue.Queue()
        self._done = threading.Event()
        self._sent = threading.Event()
        self.refused = 0  # responses with a wrong or missing state
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="brickauth-loopback", daemon=True)
        self._thread.start()

    # -- request handling (server threads) ----------------------------------------------------
    def _handle(self, req: _Handler, query: str) -> None:
        if urlsplit(req.path).path != self.path or self._done.is_set():
            req._send(404, landing.failure_page(cause="Nothing here: this is brickauth's sign-in listener.",
                                                fix=None))
            return
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        state = params.get("state", "")
        self._expecting.wait(RESPOND_TIMEOUT)  # a response may come before wait() (fast SSO redirect)
        expected = self._expected_state or ""
        if not expected or not hmac.compare_digest(state.encode(), expected.encode()):
            self.refused += 1
            log.warning("Refused a sign-in redirect whose state does not match this sign-in.")
            req._send(400, landing.failure_page(
                cause="This sign-in response does not belong to the sign-in brickauth is waiting for "
                "(its state value does not match), so it was refused.",
                fix="close this tab and use the sign-in link printed by the brickauth command that is "
                "running now, or run `brickauth login` again.",
                code="BA611",
            ))
            return
        code = params.get("code")
        callback = Callback(
            code=Secret(code) if code else None,
            error=params.get("error") or (None if code else "invalid_request"),
            error_description=params.get("error_description")
            or (None if code else "The redirect carried neither a code nor an error."),
            params=params,
        )
        self._done.set()
        self._results.put(callback)
        if not callback._answered.wait(RESPOND_TIMEOUT):
            callback.respond(landing.failure_page(
                cause="brickauth did not finish the sign-in in time.", fix="check the terminal."), 500)
        status, html = callback._page or (500, "")
        try:
            req._send(status, html)
        finally:
            self._sent.set()

    # -- caller side ------------------------------------------------------------------------------
    def expect(self, state: str) -> None:
        """The ``state`` of the sign-in this listener is for (call before opening the browser)."""
        self._expected_state = state
        self._expecting.set()

    def wait(
        self,
        state: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        on_tick: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Callback:
        """Block until the browser delivers the response with ``state`` (or raise ``LoginError``
        after ``timeout`` seconds). ``on_tick(seconds_left)`` is called about once a second."""
        self.expect(state)
        deadline = clock() + timeout
        while True:
            left = deadline - clock()
            if left <= 0:
                raise LoginError(
                    f"No sign-in arrived within {timeout:g} s (nothing came back to {self.redirect_uri}).",
                    fix="run the command again and finish signing in in the browser within the time "
                    "shown (or open the printed link by hand); set BRICKAUTH_LOGIN_TIMEOUT to allow "
                    "longer, or use --no-browser/device code on a machine without a browser.",
                    code="BA612",
                )
            if on_tick is not None:
                on_tick(left)
            try:
                return self._results.get(timeout=min(1.0, left))
            except queue.Empty:
                continue

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until the answered browser request was written (so exiting does not cut it off)."""
        self._sent.wait(timeout)

    def close(self) -> None:
        self.flush(0 if not self._done.is_set() else 5.0)
        self._done.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
