"""Threaded HTTPS servers on fresh loopback addresses (werkzeug underneath).

Each sandbox service gets its own random ``127.x.y.z`` and port 443: some clients (dbt-databricks,
the SQL connector's token exchange) ignore the port, and a fresh address never clashes with anything.
"""

from __future__ import annotations

import errno
import logging
import random
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from brickauth.errors import ConfigurationError

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]

_rng = random.SystemRandom()


def _bind_error(address: str, port: int, exc: OSError) -> ConfigurationError:
    if exc.errno == errno.EACCES:
        return ConfigurationError(
            f"The sandbox cannot listen on {address}:{port}: permission denied.",
            fix="run as root, or allow low ports: sysctl -w net.ipv4.ip_unprivileged_port_start=0.",
            code="BA190",
        )
    return ConfigurationError(
        f"The sandbox cannot listen on {address}:{port}: {exc.strerror or exc}.",
        fix="check that 127.0.0.0/8 is configured on the loopback interface (ip addr show lo).",
        code="BA191",
    )


def _bind(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    return sock


def pick_loopback_address(port: int = 443, *, attempts: int = 64) -> str:
    """A random ``127.x.y.z`` (never ``127.0.0.x``) on which ``port`` is free right now."""
    last: OSError | None = None
    for _ in range(attempts):
        address = f"127.{_rng.randint(1, 254)}.{_rng.randint(0, 255)}.{_rng.randint(1, 254)}"
        try:
            _bind(address, port).close()
        except OSError as exc:
            if exc.errno == errno.EACCES:
                raise _bind_error(address, port, exc) from None
            last = exc
            continue
        return address
    assert last is not None
    raise _bind_error("127.x.y.z", port, last)


class _Handler(WSGIRequestHandler):
    # Idle keep-alive connections give up after this long, so their threads do not pile up.
    timeout = 120

    def handle(self) -> None:
        # The TLS handshake runs here, in the connection's own thread, not in the accept loop: a
        # client that connects and never speaks must not stall the server.
        conn = self.connection
        if isinstance(conn, ssl.SSLSocket):
            try:
                conn.do_handshake()
            except (OSError, ssl.SSLError) as exc:
                log.debug("TLS handshake from %s failed: %s", self.client_address, exc)
                return
        super().handle()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The sandbox keeps its own request log; werkzeug's would print query strings (codes, states).
        pass

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.address_string(), *args)


class _Server(ThreadedWSGIServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.open_connections)
            self.open_connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HttpsServer:
    """A threaded WSGI server on ``address:port``; HTTPS when ``ssl_context`` is given.

    ``start()`` binds and serves in a background thread; ``stop()`` returns promptly even while
    requests hang (handler threads are daemons and open connections are shut down).
    """

    def __init__(
        self,
        app: WSGIApp,
        address: str,
        port: int = 443,
        ssl_context: ssl.SSLContext | None = None,
        *,
        name: str = "sandbox",
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.address = address
        self.port = port
        self.ssl_context = ssl_context
        self.name = name
        self._on_stop = on_stop
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        default = 443 if scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{scheme}://{self.address}{port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> HttpsServer:
        if self._server is not None:
            raise RuntimeError(f"{self.name} server already started")
        try:
            sock = _bind(self.address, self.port)
            sock.listen(128)
        except OSError as exc:
            raise _bind_error(self.address, self.port, exc) from None
        try:
            # werkzeug adopts a dup of our listening socket (fd=...), so it never sys.exit()s on a bind error.
            server = _Server(self.address, self.port, self.app, handler=_Handler, fd=sock.fileno())
        finally:
            sock.close()
        self.port = server.port
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
            server.ssl_context = self.ssl_context
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"brickauth-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop serving; False when the serving thread was still alive after ``timeout`` s (abandoned)."""
        server, thread = self._server, self._thread
        if server is None:
            return True
        self._server = None
        self._thread = None
        if self._on_stop is not None:
            self._on_stop()
        server.shutdown()  # waits for serve_forever to notice (<= poll_interval)
        server.drop_connections()
        if thread is not None:
            thread.join(timeout)
        server.server_close()
        return thread is None or not thread.is_alive()

    def __enter__(self) -> HttpsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
