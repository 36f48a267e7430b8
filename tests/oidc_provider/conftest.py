"""Starts npm's oidc-provider (``server.mjs``) with node for the generic OAuth tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from op_harness import M2M_SECRET, OidcProvider

HERE = Path(__file__).parent
def _ensure_installed() -> None:
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install oidc-provider (tests/oidc_provider/package.json)")
    subprocess.run([npm, "ci" if (HERE / "package-lock.json").exists() else "install", "--no-audit",
                    "--no-fund"], cwd=HERE, check=True, timeout=300)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run npm's oidc-provider (apt-get install nodejs npm)")
    _ensure_installed()
    env = {**os.environ, "OP_M2M_SECRET": M2M_SECRET, "OP_ACCESS_TOKEN_TTL": "600"}
    proc = subprocess.Popen([node, str(HERE / "server.mjs")], cwd=HERE, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the server prints its issuer once it listens
        if not line:
            pytest.fail(f"oidc-provider did not start (exit {proc.wait(timeout=10)})")
        yield OidcProvider(issuer=json.loads(line)["issuer"], process=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
