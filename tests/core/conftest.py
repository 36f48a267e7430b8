"""Fixtures for the core tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A process environment with none of the names settings read, and no ~/.databrickscfg."""
    from brickauth.config.fields import COMMON_FIELDS as _COMMON
    from brickauth.config.fields import FAMILY_FIELDS as _FAMILY

    names = {n for spec in _COMMON.values() for n in spec.env}
    names |= {n for fam in _FAMILY.values() for spec in fam.values() for n in spec.env}
    names |= {"DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE"}
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return {}
