"""A cross-process (and cross-thread) lock on a lock file: ``fcntl.flock`` on POSIX, ``msvcrt`` on
Windows. Held around sign-in and refresh so N processes starting cold cause one of each."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brickauth.errors import TokenStoreError

log = logging.getLogger(__name__)

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(str(path), threading.Lock())


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def process_lock(path: Path, *, timeout: float, what: str = "token cache") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the ``with`` block; wait at most ``timeout`` seconds.

    Raises ``TokenStoreError`` (BA410) naming the lock file when another process holds it too long.
    """
    deadline = time.monotonic() + timeout
    tlock = _thread_lock(path)
    if not tlock.acquire(timeout=max(timeout, 0.0)):
        raise _timeout_error(path, timeout, what)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            delay = 0.005
            while not _try_lock(fd):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _timeout_error(path, timeout, what)
                # Another process holds it (signing in or refreshing): poll with a capped backoff.
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.1)
            try:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
            except OSError:  # pragma: no cover - diagnostics only
                pass
            log.debug("holding lock %s", path)
            try:
                yield
            finally:
                _unlock(fd)
        finally:
            os.close(fd)
    finally:
        tlock.release()


def _timeout_error(path: Path, timeout: float, what: str) -> TokenStoreError:
    holder = ""
    try:
        pid = path.read_text().strip()
        if pid:
            holder = f" (held by process {pid})"
    except OSError:
        pass
    return TokenStoreError(
        f"Timed out after {timeout:g} s waiting for the {what} lock {path}{holder}: another brickauth "
        "process is signing in or refreshing.",
        fix="finish or cancel the other sign-in (or end that process), then run again.",
        code="BA410",
    )
