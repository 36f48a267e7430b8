"""Where brickauth keeps local state (lock files and, only when opted in, plaintext tokens)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from brickauth.config.store import STATE_DIR_ENV, state_dir

__all__ = ["STATE_DIR_ENV", "private_dir", "state_dir"]


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the owner only; returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32":
        os.chmod(path, 0o700)
    return path
