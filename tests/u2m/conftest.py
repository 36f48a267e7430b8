from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from u2m_harness import HERE, STORE_TESTS

sys.path.insert(0, str(STORE_TESTS))  # keyrings_for_tests


@pytest.fixture
def u2m_env(tmp_path: Path) -> dict[str, str]:
    """Environment for brickauth processes: a real keyring backend persisted in a file shared by
    every process of the test, private state dir, and the test browser hook."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRICKAUTH_", "DATABRICKS_", "AZURE_"))}
    config = tmp_path / "databrickscfg"  # `brickauth login` saves its profile here, not in ~/.databrickscfg
    config.write_text("")
    env.update(
        DATABRICKS_CONFIG_FILE=str(config),
        PYTHONPATH=os.pathsep.join([str(STORE_TESTS), env.get("PYTHONPATH", "")]),
        # The test keyring is a healthy file: on a loaded machine its calls may take seconds, and the
        # default 3 s bound would swap it for the memory fallback (a test of the bound sets its own).
        BRICKAUTH_KEYRING_TIMEOUT="60",
        PYTHON_KEYRING_BACKEND="keyrings_for_tests.FileKeyring",
        BRICKAUTH_TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
        BRICKAUTH_STATE_DIR=str(tmp_path / "state"),
        BRICKAUTH_TEST_BROWSER_OUT=str(tmp_path / "browser"),
        BRICKAUTH_BROWSER=f"{sys.executable} {HERE / 'drive_browser.py'} %s",
    )
    env.pop("CI", None)
    return env
