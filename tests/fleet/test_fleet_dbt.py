"""The sample dbt project (debug, run, test) with each secretless flow's example profile, on the sandbox,
through the real dbt CLI, with 5 s tokens (each run spans more than two lifetimes), in a dirty shell.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fleet_support import LEFTOVER_CLIENT, az_login, dirty_env, install_stub_az

pytestmark = [pytest.mark.dbt, pytest.mark.slow, pytest.mark.timeout(900)]
pytest.importorskip("dbt.adapters.databricks")

SQL_PREFIX = "/sql/1.0/warehouses/"
LIFETIME = 5.0
Case = tuple[dict[str, str | None], str, Callable[[], int]]


def _azure_msi(sb: Any, tmp_path: Path) -> Case:
    env = {**sb.fleet.imds_env(), "BRICKAUTH_MSI_CLIENT_ID": sb.fleet.ids.msi_user_client_id}
    return env, sb.fleet.ids.msi_user_client_id, lambda: sb.request_log.count(service="msi")


def _databricks_oidc(sb: Any, tmp_path: Path) -> Case:
    client = sb.fleet.ids.oidc_sp_client_id
    env = {**sb.fleet.github_actions_env(), "DATABRICKS_CLIENT_ID": client}
    exchanges = {"service": "workspace", "path": "/oidc/v1/token", "principal": client}
    return env, client, lambda: sb.request_log.count(**exchanges)


def _azure_cli(sb: Any, tmp_path: Path) -> Case:
    bin_dir = install_stub_az(tmp_path / "stub")
    config = tmp_path / "azure"
    az_login(config, sb, upn=sb.ids.user_upn, password=sb.ids.user_password.reveal())
    env = {"AZURE_CONFIG_DIR": str(config), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    def calls() -> int:
        lines = (config / "stub-calls.log").read_text().splitlines()
        assert LEFTOVER_CLIENT not in "".join(lines)
        return len(lines)

    return env, sb.ids.user_upn.lower(), calls


@pytest.mark.parametrize("profile", ["azure-msi", "databricks-oidc", "azure-cli"])
def test_profile_debug_run_test(sandbox: Any, sandbox_env: dict[str, str], dbt: Any, tmp_path: Path,
                                profile: str) -> None:  # fmt: skip
    from test_dbt_sandbox import debug_run_test, sandbox_secrets, sql_principals

    sandbox.set_token_lifetime(LIFETIME)
    setup = {"azure-msi": _azure_msi, "databricks-oidc": _databricks_oidc, "azure-cli": _azure_cli}[profile]
    extra, principal, token_requests = setup(sandbox, tmp_path)
    started = time.monotonic()
    debug = debug_run_test(dbt, profile, {**dirty_env(sandbox), **extra}, sandbox_secrets(sandbox))
    span = time.monotonic() - started
    assert f"brickauth adapter: {profile}" in debug.output, debug.summary()
    assert sql_principals(sandbox) == {principal}
    requests = token_requests()
    assert span > 2 * LIFETIME and requests >= 3, (span, requests)
