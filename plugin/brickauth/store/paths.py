"""Where brickauth keeps local state (lock files and, only when opted in, plaintext tokens)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

STATE_DIR_ENV = "BRICKAUTH_STATE_DIR"


def state_dir() -> Path:
    """``$BRICKAUTH_STATE_DIR``, else ``%LOCALAPPDATA%\\brickauth`` on Windows, else
    ``$XDG_STATE_HOME/brickauth`` (``~/.local/state/brickauth``)."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "brickauth"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "brickauth"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the owner only; returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32":
        os.chmod(path, 0o700)
    return path
