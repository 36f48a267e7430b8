"""dbt-core + dbt-databricks (unchanged, token auth) against the warehouse harness over HTTPS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from warehouse_harness import ALICE, BOB, WarehouseHarness, dbt_env, running_warehouse, write_dbt_project

pytestmark = [pytest.mark.dbt, pytest.mark.slow, pytest.mark.timeout(900)]


def dbt(
    harness: WarehouseHarness, project: Path, principal: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "--no-use-colors", *args,
         "--project-dir", str(project), "--profiles-dir", str(project)],
        env=dbt_env(harness, harness.token_for(principal)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=project,
    )


def test_dbt_debug_run_test(tmp_path: Path) -> None:
    with running_warehouse(tmp_path) as harness:
        project = write_dbt_project(tmp_path / "project", harness)

        debug = dbt(harness, project, ALICE, "debug")
        assert debug.returncode == 0, debug.stdout
        assert "Connection test: [OK connection ok]" in debug.stdout

        for _ in range(2):  # the second run finds the relations and replaces them
            run = dbt(harness, project, ALICE, "run")
            assert run.returncode == 0, run.stdout
            assert "PASS=2" in run.stdout

        test = dbt(harness, project, ALICE, "test")
        assert test.returncode == 0, test.stdout
        assert "PASS=5" in test.stdout

        assert harness.engine.owner_of("main.dbt_ci.customers") == ALICE
        result = harness.engine.execute_as(ALICE, "select name from main.dbt_ci.active_customers")
        assert result.table.to_pylist() == [{"name": "Ada"}]

        # Another principal (U2M user vs. M2M service principal in real life) cannot replace the table.
        other = dbt(harness, project, BOB, "run", "--select", "customers")
        assert other.returncode == 1
        assert "PERMISSION_DENIED: User is not an owner of Table 'main.dbt_ci.customers'." in other.stdout

        # A failing data test is reported by dbt as a failure, not as an error of the warehouse.
        harness.engine.execute_as(ALICE, "insert into main.dbt_ci.customers values (1, 'Twin', 'unknown')")
        failing = dbt(harness, project, ALICE, "test")
        assert failing.returncode == 1
        assert "FAIL 1 unique_customers_customer_id" in failing.stdout
        assert "FAIL 1 accepted_values_customers_status__active__inactive" in failing.stdout
        assert "PASS=3" in failing.stdout and "Got 1 result, configured to fail if != 0" in failing.stdout
