"""``auto`` as an ordered chain: with nothing configured it lists every source it tried; with several
configured it picks by the documented order and says why (no network, no subprocess)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from brickauth.config import resolve_settings
from brickauth.errors import ConfigurationError
from brickauth.flows import auto

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
TENANT, CLIENT = str(uuid.uuid4()), str(uuid.uuid4())
LINK_NAMES = ("federated token file", "client certificate", "client secret", "Databricks OAuth secret",
              "Entra client secret", "workload identity federation", "managed identity", "Azure CLI sign-in",
              "user sign-in")  # fmt: skip


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABRICKS_HOST": HOST, "HOME": str(tmp_path), "PATH": str(tmp_path / "nobin"), **extra}


def test_nothing_configured_lists_every_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto, "flow_available", lambda name: False)  # no U2M flow installed
    with pytest.raises(ConfigurationError) as info:
        resolve_settings({}, _env(tmp_path))
    text = str(info.value)
    assert info.value.code == "BA122" and "\n" not in text
    for name in LINK_NAMES:
        assert f"{name}: " in text, name
    assert "az is not on PATH" in text and "ARM_USE_MSI unset" in text


def test_nothing_configured_falls_to_user_sign_in_and_says_what_it_tried(tmp_path: Path) -> None:
    s = resolve_settings({}, _env(tmp_path))
    assert s.auth_type == "azure-u2m"
    for name in LINK_NAMES[:-1]:
        assert f"{name}: " in s.auth_type_reason, name


def _choose(tmp_path: Path, caplog: pytest.LogCaptureFixture, **env: str) -> tuple[str, str]:
    caplog.set_level(logging.DEBUG, logger="brickauth")
    s = resolve_settings({}, _env(tmp_path, **env))
    return s.auth_type, s.auth_type_reason


def _signed_in_az(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "nobin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "az").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "az").chmod(0o755)
    cfg = tmp_path / "azure"
    cfg.mkdir()
    (cfg / "azureProfile.json").write_text('{"subscriptions": [{"id": "x", "tenantId": "t"}]}')
    return {"AZURE_CONFIG_DIR": str(cfg)}


def test_order_with_everything_configured(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token_file = tmp_path / "oidc"
    token_file.write_text("a.b.c")
    everything = {
        **_signed_in_az(tmp_path),
        "ARM_USE_MSI": "true", "IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token", "IDENTITY_HEADER": "h",
        "DATABRICKS_OIDC_TOKEN_FILEPATH": str(token_file),
        "AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT, "AZURE_CLIENT_SECRET": "abc8Q~" + "x" * 34,
        "DATABRICKS_CLIENT_ID": CLIENT, "DATABRICKS_CLIENT_SECRET": "dose" + "a" * 32,
    }  # fmt: skip
    order = [
        ("databricks-m2m", "DATABRICKS_CLIENT_SECRET"),
        ("azure-m2m", "AZURE_CLIENT_SECRET"),
        ("databricks-oidc", "DATABRICKS_OIDC_TOKEN_FILEPATH"),
        ("azure-msi", "ARM_USE_MSI"),
        ("azure-cli", "az is signed in"),
    ]
    env = dict(everything)
    for expected, why in order:
        auth_type, reason = _choose(tmp_path, caplog, **env)
        assert auth_type == expected and why in reason, (auth_type, reason)
        assert "brickauth auto: " in caplog.text
        caplog.clear()
        # take the winner away: the next link in the documented order wins
        for name in [
            n for n in env if n in reason or (expected == "azure-msi" and n.startswith("IDENTITY_"))
        ]:
            env.pop(name)
        if expected == "azure-msi":
            env.pop("ARM_USE_MSI", None)
        if expected == "azure-cli":
            break


def test_environment_identities_explain_the_skipped_links(tmp_path: Path) -> None:
    s = resolve_settings(
        {}, _env(tmp_path, IDENTITY_ENDPOINT="http://127.0.0.1:1/msi/token", IDENTITY_HEADER="h")
    )
    assert s.auth_type == "azure-msi"
    assert "App Service" in s.auth_type_reason
    assert "tried before: federated token file: not set" in s.auth_type_reason
    assert "workload identity federation: no subject token" in s.auth_type_reason


def test_ci_token_without_client_id_does_not_apply(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        ACTIONS_ID_TOKEN_REQUEST_URL="https://x/y?api-version=2.0",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN="t",
    )
    s = resolve_settings({}, env)
    assert s.auth_type != "databricks-oidc"
    assert "GitHub Actions OIDC token is available but no Databricks client id" in s.auth_type_reason


def test_aws_workspace_skips_azure_identities(tmp_path: Path) -> None:
    env = _env(tmp_path, ARM_USE_MSI="true", **_signed_in_az(tmp_path))
    env["DATABRICKS_HOST"] = "https://dbc-12345678-9abc.cloud.databricks.com"
    s = resolve_settings({}, env)
    assert s.auth_type == "databricks-u2m"
    assert "but the workspace is on aws" in s.auth_type_reason


def test_status_shows_the_link_taken_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    import json

    from brickauth.cli.main import main

    for key, value in _env(tmp_path, ARM_USE_MSI="true", BRICKAUTH_TOKEN_STORE="memory").items():
        monkeypatch.setenv(key, value)
    for name in ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "DATABRICKS_CLIENT_SECRET",
                 "BRICKAUTH_AUTH_TYPE", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH",
                 "DATABRICKS_CONFIG_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Auth: azure-msi (auto: managed identity is asked for (env:ARM_USE_MSI)"), out
    assert "tried before: federated token file: not set" in out
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["auth"]["auth_type"] == "azure-msi"
