"""azure-cli: `az account get-access-token` through a stub az on PATH (see fleet_support.STUB: the real
azure-cli installs here but cannot sign in to the sandbox, which has no ARM endpoint), then the real
SQL connector. The stub's signed-out text was checked against the real az 2.91.0.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from fleet_support import (
    apply,
    az_login,
    az_logout,
    dirty_env,
    install_stub_az,
    provider,
)

from brickauth.errors import BrickauthError
from sql_client import connect, current_user

pytest.importorskip("databricks.sql")


@pytest.fixture
def az(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    bin_dir = install_stub_az(tmp_path)
    config = tmp_path / "azure"
    az_login(config, sandbox, upn=sandbox.ids.user_upn, password=sandbox.ids.user_password.reveal())
    env = {
        **dirty_env(sandbox),
        "AZURE_CONFIG_DIR": str(config),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    return apply(monkeypatch, env)


def _calls(env: dict[str, str]) -> list[str]:
    path = Path(env["AZURE_CONFIG_DIR"]) / "stub-calls.log"
    return path.read_text().splitlines() if path.exists() else []


def test_signed_in_user_tenant_aware(sandbox: Any, az: dict[str, str]) -> None:
    p = provider(sandbox, "azure-cli", az)
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.ids.user_upn.lower()
    calls = _calls(az)
    assert len(calls) == 1
    assert calls[0] == (
        "account get-access-token --output json --resource 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d "
        f"--tenant {sandbox.ids.tenant_id}"  # AZURE_TENANT_ID from the shell: tenant aware
    )


def test_across_two_short_real_lifetimes(sandbox: Any, az: dict[str, str]) -> None:
    # az prints wall-clock expiry: this flow is tested on the real clock with 8 s tokens (a stub az call
    # takes about a second here: shorter tokens would spend their life being fetched).
    sandbox.set_token_lifetime(8.0)
    p = provider(sandbox, "azure-cli", az)
    seen = set()
    queries = 0
    with connect(sandbox, p) as conn:
        start = time.monotonic()
        while time.monotonic() - start < 2 * 8.0 + 0.5:
            assert current_user(conn) == sandbox.ids.user_upn.lower()
            seen.add(p.token().token)
            queries += 1
    assert len(seen) >= 2
    assert len(_calls(az)) <= 10 and len(_calls(az)) < queries / 2, (len(_calls(az)), queries)


def test_auto_picks_az_after_environment_identities(sandbox: Any, az: dict[str, str]) -> None:
    env = {k: v for k, v in az.items() if not k.endswith("_CLIENT_SECRET")}
    p = provider(sandbox, "auto", env)
    assert p.settings.auth_type == "azure-cli", p.settings.auth_type_reason
    reason = p.settings.auth_type_reason
    assert "managed identity:" in reason and "workload identity federation:" in reason


def test_signed_out(sandbox: Any, az: dict[str, str]) -> None:
    az_logout(Path(az["AZURE_CONFIG_DIR"]))
    with pytest.raises(BrickauthError) as info:
        provider(sandbox, "azure-cli", az).token()
    text = str(info.value)
    assert info.value.code == "BA281" and "\n" not in text
    assert text.endswith(f"Fix: Run: az login --tenant {sandbox.ids.tenant_id}")


def test_az_missing(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = apply(monkeypatch, {**dirty_env(sandbox), "PATH": str(tmp_path)})
    with pytest.raises(BrickauthError) as info:
        provider(sandbox, "azure-cli", env).token()
    assert info.value.code == "BA280" and "az login" in str(info.value) and "\n" not in str(info.value)


def test_az_hangs_is_bounded(sandbox: Any, az: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRICKAUTH_STUB_AZ_HANG", "1")
    started = time.monotonic()
    with pytest.raises(BrickauthError) as info:
        provider(sandbox, "azure-cli", az, timeout=2).token()
    assert info.value.code == "BA282" and time.monotonic() - started < 30


def test_no_token_in_output(sandbox: Any, az: dict[str, str], capfd: pytest.CaptureFixture[str],
                            caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    token = provider(sandbox, "azure-cli", az).token().token
    out, err = capfd.readouterr()
    assert token not in out + err + caplog.text
