"""azure-msi end to end: msal's ManagedIdentityClient -> the sandbox's managed identity endpoint (IMDS
and App Service shapes) -> Entra tokens the workspace accepts, through the real SQL connector.

Every test runs in a dirty shell (M2M secrets, a PAT, ARM_* leftovers), see fleet_support.dirty_env.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fleet_support import apply, dirty_env, provider

from brickauth.clock import FakeClock
from brickauth.errors import BrickauthError
from sql_client import connect, current_user

pytest.importorskip("databricks.sql")
pytest.importorskip("msal.managed_identity")

MSI = {"service": "msi", "grant_type": "managed_identity"}


@pytest.fixture
def imds(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {**dirty_env(sandbox), **sandbox.fleet.imds_env()}
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return apply(monkeypatch, env)


@pytest.fixture
def app_service(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {**dirty_env(sandbox), **sandbox.fleet.app_service_env()}
    monkeypatch.delenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", raising=False)
    return apply(monkeypatch, env)


def test_system_assigned_imds_ignores_leftover_m2m_client_id(sandbox: Any, imds: dict[str, str]) -> None:
    # AZURE_CLIENT_ID + AZURE_CLIENT_SECRET are an app registration's (azure-m2m leftovers): not an identity.
    p = provider(sandbox, "azure-msi", imds)
    assert "system-assigned" in p.source.describe() and "IMDS" in p.source.describe()
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.fleet.ids.msi_system_client_id
    assert sandbox.request_log.count(**MSI) == 1
    assert sandbox.request_log.count(service="entra") == 0  # managed identity never calls Entra itself


@pytest.mark.parametrize(
    ("setting", "attr"),
    [("msi_client_id", "msi_user_client_id"), ("msi_object_id", "msi_user_object_id"),
     ("msi_resource_id", "msi_user_resource_id")],
)  # fmt: skip
def test_user_assigned_by_each_kind_of_id(
    sandbox: Any, imds: dict[str, str], setting: str, attr: str
) -> None:
    p = provider(sandbox, "azure-msi", imds, **{setting: getattr(sandbox.fleet.ids, attr)})
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.fleet.ids.msi_user_client_id
    query = sandbox.request_log.last(**MSI)
    assert query is not None and query.fields.get("shape") == "imds"


def test_terraform_style_env_arm_use_msi_and_client_id(sandbox: Any, imds: dict[str, str]) -> None:
    env = {k: v for k, v in imds.items() if not k.startswith(("AZURE_CLIENT", "DATABRICKS_CLIENT"))}
    env.update(ARM_USE_MSI="true", ARM_CLIENT_ID=sandbox.fleet.ids.msi_user_client_id)
    env.pop("ARM_CLIENT_SECRET")
    p = provider(sandbox, "auto", env)
    assert p.settings.auth_type == "azure-msi", p.settings.auth_type_reason
    assert "ARM_USE_MSI" in p.settings.auth_type_reason
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.fleet.ids.msi_user_client_id


def test_app_service_shape(sandbox: Any, app_service: dict[str, str], caplog: pytest.LogCaptureFixture,
                           capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    caplog.set_level("DEBUG")
    p = provider(sandbox, "azure-msi", app_service, msi_client_id=sandbox.fleet.ids.msi_user_client_id)
    assert "App Service" in p.source.describe()
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.fleet.ids.msi_user_client_id
    query = sandbox.request_log.last(**MSI)
    assert query is not None and query.fields.get("shape") == "app_service"
    out, err = capfd.readouterr()
    assert sandbox.fleet.ids.identity_header not in out + err + caplog.text  # IDENTITY_HEADER is a secret


@pytest.mark.parametrize("shape", ["imds", "app_service"])
def test_across_token_lifetimes_fake_clock(
    sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    clock = FakeClock(start=time.time() - 100_000)  # behind real time: see test_m2m_sandbox
    sb = sandbox_factory(clock=clock)
    sb.set_token_lifetime(60.0)
    env = apply(
        monkeypatch,
        {**dirty_env(sb), **(sb.fleet.imds_env() if shape == "imds" else sb.fleet.app_service_env())},
    )
    if shape == "imds":
        monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    else:
        monkeypatch.delenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", raising=False)
    p = provider(sb, "azure-msi", env, clock=clock)
    with connect(sb, p) as conn:
        for _ in range(25):  # 250 s: four lifetimes
            assert current_user(conn) == sb.fleet.ids.msi_system_client_id
            clock.advance(10.0)
    requests = sb.request_log.count(**MSI)
    assert 4 <= requests <= 9, requests


# -- misconfigurations: one line, a stable code, the exact fix -------------------------------------


def _error(p: Any) -> BrickauthError:
    with pytest.raises(BrickauthError) as info:
        p.token()
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"[{info.value.code}] ") and " Fix: " in text
    return info.value


def test_no_identity_endpoint(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from brickauth_sandbox.server import pick_loopback_address

    nowhere = f"http://{pick_loopback_address(80)}"  # nothing listens there
    env = apply(monkeypatch, {**dirty_env(sandbox), "AZURE_POD_IDENTITY_AUTHORITY_HOST": nowhere})
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    started = time.monotonic()
    err = _error(provider(sandbox, "azure-msi", env))
    assert err.code == "BA270" and "No managed identity endpoint answered" in str(err)
    assert time.monotonic() - started < 15


def test_system_assigned_not_enabled(sandbox: Any, imds: dict[str, str]) -> None:
    sandbox.fleet.remove_system_assigned()
    sandbox.fleet.unassign_user_identities()
    err = _error(provider(sandbox, "azure-msi", imds))
    assert err.code == "BA271" and "system-assigned" in str(err) and "Identity > System assigned" in str(err)


@pytest.mark.parametrize("shape", ["imds", "app_service"])
def test_wrong_user_assigned_id(sandbox: Any, monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    extra = sandbox.fleet.imds_env() if shape == "imds" else sandbox.fleet.app_service_env()
    env = apply(monkeypatch, {**dirty_env(sandbox), **extra})
    if shape == "imds":
        monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    wrong = sandbox.fleet.ids.msi_unassigned_client_id  # exists in the tenant, not assigned to this host
    err = _error(provider(sandbox, "azure-msi", env, msi_client_id=wrong))
    assert err.code == "BA271" and wrong in str(err) and "az vm identity" in str(err)


def test_identity_not_in_workspace(sandbox: Any, imds: dict[str, str]) -> None:
    sandbox.remove_from_workspace(sandbox.fleet.ids.msi_system_client_id)
    p = provider(sandbox, "azure-msi", imds)
    assert p.token().token  # Entra side works: the workspace refuses
    with pytest.raises(Exception) as info:
        with connect(sandbox, p) as conn:
            current_user(conn)
    assert "403" in str(info.value) or "not" in str(info.value).lower()
