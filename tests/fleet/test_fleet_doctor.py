"""`brickauth doctor` names each secretless flow's misconfiguration as the top finding (sandbox, real
clients, dirty shell)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from fleet_support import apply, az_login, az_logout, dirty_env, install_stub_az

from brickauth.doctor import diagnose
from brickauth.doctor.model import Finding
from brickauth.doctor.runner import top_finding

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def run(sb: Any, auth_type: str, env: dict[str, str], **explicit: Any) -> list[Finding]:
    _, findings = diagnose({"auth_type": auth_type, **explicit}, env=env, step_timeout=20.0, deadline=90.0,
                           config_file=Path("/nonexistent"))  # fmt: skip
    return findings


def top(findings: list[Finding]) -> Finding:
    finding = top_finding(findings)
    assert finding is not None, [(f.check, f.status, f.summary) for f in findings]
    return finding


@pytest.fixture
def sb(sandbox: Any) -> Any:
    sandbox.wait_until_ready()
    return sandbox


def _imds(sb: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    return apply(monkeypatch, {**dirty_env(sb), **sb.fleet.imds_env()})


def _github(sb: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("SYSTEM_OIDCREQUESTURI", raising=False)
    return apply(monkeypatch, {**dirty_env(sb), **sb.fleet.github_actions_env()})


def test_healthy_azure_msi_passes(sb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    findings = run(sb, "azure-msi", _imds(sb, monkeypatch))
    bad = [(f.check, f.status, f.summary) for f in findings if f.status in ("fail", "warn")]
    # The dirty shell's DATABRICKS_TOKEN is worth a warning; nothing else is.
    assert [b for b in bad if "DATABRICKS_TOKEN" not in b[2]] == [], bad
    token = next(f for f in findings if f.check == "token.acquire")
    assert "system-assigned" in token.summary


def test_no_identity_endpoint(sb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from brickauth_sandbox.server import pick_loopback_address

    env = apply(
        monkeypatch,
        {**dirty_env(sb), "AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://{pick_loopback_address(80)}"},
    )
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    finding = top(run(sb, "azure-msi", env))
    assert finding.cause_id == "entra.managed_identity_unreachable", finding


def test_wrong_user_assigned_id(sb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _imds(sb, monkeypatch)
    finding = top(run(sb, "azure-msi", env, msi_client_id=sb.fleet.ids.msi_unassigned_client_id))
    assert finding.cause_id == "entra.managed_identity_not_found", finding


def test_identity_not_in_workspace(sb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sb.remove_from_workspace(sb.fleet.ids.msi_system_client_id)
    finding = top(run(sb, "azure-msi", _imds(sb, monkeypatch)))
    assert finding.check == "workspace.membership" and finding.cause_id, finding


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"issuer": "https://token.actions.githubusercontent.com"}, "databricks.federation_issuer"),
        ({"audiences": ["https://github.com/another-org"]}, "databricks.federation_audience"),
        ({"subject": "repo:brickauth/sample:environment:prod"}, "databricks.federation_subject"),
    ],
)
def test_federation_policy_mismatch(sb: Any, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any],
                                    cause: str) -> None:  # fmt: skip
    sb.fleet.set_policy(**change)
    finding = top(
        run(sb, "databricks-oidc", _github(sb, monkeypatch), client_id=sb.fleet.ids.oidc_sp_client_id)
    )
    assert finding.cause_id == cause, finding


def test_expired_subject_token(sb: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from brickauth_sandbox.fleet import GITHUB_SUBJECT

    token = tmp_path / "token"
    token.write_text(
        sb.fleet.issuer.mint(GITHUB_SUBJECT, sb.fleet.default_audience, issued_at=time.time() - 7200)
    )
    env = apply(monkeypatch, {**dirty_env(sb), "DATABRICKS_OIDC_TOKEN_FILEPATH": str(token)})
    finding = top(run(sb, "databricks-oidc", env, client_id=sb.fleet.ids.oidc_sp_client_id))
    assert finding.cause_id == "databricks.federation_subject_expired", finding


def test_az_signed_out_and_missing(sb: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = install_stub_az(tmp_path)
    config = tmp_path / "azure"
    az_login(config, sb, upn=sb.ids.user_upn, password=sb.ids.user_password.reveal())
    az_logout(config)
    env = apply(
        monkeypatch,
        {
            **dirty_env(sb),
            "AZURE_CONFIG_DIR": str(config),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        },
    )
    finding = top(run(sb, "azure-cli", env))
    assert finding.cause_id == "config.azure_cli_signed_out", finding
    assert "az login --tenant" in finding.summary
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    finding = top(run(sb, "azure-cli", {**env, "PATH": str(tmp_path / "empty")}))
    assert finding.cause_id == "config.azure_cli_missing", finding
