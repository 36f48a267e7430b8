"""Fixtures for the fleet tests (issue 12); the dbt harness is shared with tests/dbt."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))


@pytest.fixture
def dbt(tmp_path: Path) -> Iterator[Any]:
    from dbt_harness import DbtRunner

    yield DbtRunner(tmp_path)
