"""Issue 10, input handling: `auto` says which blank values it ignored; a setting's source is labelled
with the name as written (the variable, or the profile key in its file)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from brickauth.config import resolve_settings
from brickauth.errors import ConfigurationError

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"


def test_auto_names_the_blank_values_it_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = tmp_path / "cfg"
    cfg.write_text("")
    env = {"DATABRICKS_HOST": HOST, "DATABRICKS_CONFIG_FILE": str(cfg), "AZURE_CLIENT_SECRET": "  ",
           "DATABRICKS_CLIENT_SECRET": ""}  # fmt: skip
    with caplog.at_level(logging.WARNING):
        s = resolve_settings({}, env)
    assert s.auth_type == "azure-u2m"
    assert "ignored AZURE_CLIENT_SECRET, DATABRICKS_CLIENT_SECRET (set but blank)" in s.auth_type_reason
    assert any("ignored AZURE_CLIENT_SECRET" in r.getMessage() for r in caplog.records)


def test_profile_sources_name_the_key_as_written(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.write_text(f"[p]\nhost = {HOST}\nazure_tenant_id = t\nazure_client_id = not-a-guid\n")
    with pytest.raises(ConfigurationError) as err:
        resolve_settings({"profile": "p", "auth_type": "azure-m2m", "client_secret": "x" * 40},
                         {"DATABRICKS_CONFIG_FILE": str(cfg)})  # fmt: skip
    assert f"azure_tenant_id in {cfg}[p]" in str(err.value)
    with pytest.raises(ConfigurationError) as err:
        tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        given = {"profile": "p", "auth_type": "azure-m2m", "tenant_id": tenant, "client_secret": "x" * 40}
        resolve_settings(given, {"DATABRICKS_CONFIG_FILE": str(cfg)})
    assert err.value.code == "BA133" and f"azure_client_id in {cfg}[p] 'not-a-guid'" in str(err.value)
