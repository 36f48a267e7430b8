from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRICKAUTH_STATE_DIR", str(tmp_path / "state"))
    for name in ("BRICKAUTH_TOKEN_STORE", "BRICKAUTH_ALLOW_PLAINTEXT_STORE", "BRICKAUTH_KEYRING_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    import brickauth.store as store

    store._warned.clear()  # the "warn once per process" memory, reset per test
    logging.getLogger("brickauth").setLevel(logging.DEBUG)
