"""Fixtures for the dbt tests; helpers live in dbt_harness.py. Sandbox fixtures: tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_harness import DbtRunner


@pytest.fixture
def dbt(tmp_path: Path) -> Iterator[DbtRunner]:
    """Runs the dbt CLI (a subprocess) on a private copy of sample_project with its own schema."""
    yield DbtRunner(tmp_path)
