"""databricks-oidc end to end: a subject token from the sandbox's workload issuer (GitHub Actions and
Azure DevOps request endpoints, a Kubernetes-style token file, an environment variable) exchanged at the
workspace's /oidc/v1/token under a federation policy, then the real SQL connector.

Also azure-m2m with a GitHub Actions token as its federated credential (the same subject-token source).
Every test runs in a dirty shell (fleet_support.dirty_env).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fleet_support import apply, dirty_env, provider

from brickauth.clock import FakeClock
from brickauth.errors import BrickauthError
from sql_client import connect, current_user

pytest.importorskip("databricks.sql")

EXCHANGE = {"service": "workspace", "path": "/oidc/v1/token",
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange"}  # fmt: skip
GITHUB = {"service": "issuer", "grant_type": "github_actions_id_token"}


@pytest.fixture
def github(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("SYSTEM_OIDCREQUESTURI", "DATABRICKS_OIDC_TOKEN", "DATABRICKS_OIDC_TOKEN_FILEPATH"):
        monkeypatch.delenv(name, raising=False)
    return apply(monkeypatch, {**dirty_env(sandbox), **sandbox.fleet.github_actions_env()})


def oidc_provider(sb: Any, env: dict[str, str], **kw: Any) -> Any:
    # DATABRICKS_CLIENT_ID in the dirty shell is the M2M service principal's: the explicit one wins.
    return provider(sb, "databricks-oidc", env, client_id=sb.fleet.ids.oidc_sp_client_id, **kw)


def test_github_actions(sandbox: Any, github: dict[str, str], caplog: pytest.LogCaptureFixture,
                        capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    caplog.set_level("DEBUG")
    p = oidc_provider(sandbox, github)
    assert "GitHub Actions" in p.source.describe()
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.fleet.ids.oidc_sp_client_id
    assert sandbox.request_log.count(**GITHUB) == 1
    assert sandbox.request_log.count(**EXCHANGE, principal=sandbox.fleet.ids.oidc_sp_client_id) == 1
    out, err = capfd.readouterr()
    text = out + err + caplog.text + repr(p.source.subject)
    assert sandbox.fleet.ids.github_request_token not in text  # the job's request token is a secret
    assert ".eyJ" not in text  # nor is any token (subject or exchanged)


def test_github_actions_via_auto_and_sdk_alias(sandbox: Any, github: dict[str, str]) -> None:
    env = {k: v for k, v in github.items() if not k.endswith("_CLIENT_SECRET")}
    env["DATABRICKS_CLIENT_ID"] = sandbox.fleet.ids.oidc_sp_client_id
    p = provider(sandbox, "auto", env)
    assert p.settings.auth_type == "databricks-oidc", p.settings.auth_type_reason
    assert "GitHub Actions" in p.settings.auth_type_reason and "tried before" in p.settings.auth_type_reason
    assert provider(sandbox, "github-oidc", env).settings.auth_type == "databricks-oidc"


def test_kubernetes_token_file_reread(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from brickauth_sandbox.fleet import GITHUB_SUBJECT

    env = apply(monkeypatch, dirty_env(sandbox))
    token = tmp_path / "token"
    fleet = sandbox.fleet
    token.write_text(fleet.issuer.mint(GITHUB_SUBJECT, fleet.default_audience))
    p = oidc_provider(sandbox, env, oidc_token_filepath=str(token))
    with connect(sandbox, p) as conn:
        assert current_user(conn) == fleet.ids.oidc_sp_client_id
    token.write_text(fleet.issuer.mint(GITHUB_SUBJECT, fleet.default_audience))  # the kubelet rotates it
    p.refreshing_token.invalidate()
    assert p.token().token


def test_token_in_named_env_var(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from brickauth_sandbox.fleet import GITHUB_SUBJECT

    fleet = sandbox.fleet
    env = apply(
        monkeypatch,
        {
            **dirty_env(sandbox),
            "DATABRICKS_OIDC_TOKEN_ENV": "MY_ID_TOKEN",
            "MY_ID_TOKEN": fleet.issuer.mint(GITHUB_SUBJECT, fleet.default_audience),
        },
    )
    p = oidc_provider(sandbox, env)
    assert "MY_ID_TOKEN" in p.source.describe()
    with connect(sandbox, p) as conn:
        assert current_user(conn) == fleet.ids.oidc_sp_client_id


def test_azure_devops(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    env = apply(monkeypatch, {**dirty_env(sandbox), **sandbox.fleet.azure_devops_env()})
    p = oidc_provider(sandbox, env)
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.fleet.ids.oidc_sp_client_id


def test_across_token_lifetimes_fake_clock(sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(start=time.time() - 100_000)
    sb = sandbox_factory(clock=clock)
    sb.set_token_lifetime(60.0)
    monkeypatch.delenv("SYSTEM_OIDCREQUESTURI", raising=False)
    env = apply(monkeypatch, {**dirty_env(sb), **sb.fleet.github_actions_env()})
    p = provider(sb, "databricks-oidc", env, client_id=sb.fleet.ids.oidc_sp_client_id, clock=clock)
    with connect(sb, p) as conn:
        for _ in range(25):
            assert current_user(conn) == sb.fleet.ids.oidc_sp_client_id
            clock.advance(10.0)
    exchanges = sb.request_log.count(**EXCHANGE, principal=sb.fleet.ids.oidc_sp_client_id)
    assert 4 <= exchanges <= 9, exchanges
    # A fresh subject token per exchange (a background refresh may be between the two at the end).
    github, all_exchanges = sb.request_log.count(**GITHUB), sb.request_log.count(**EXCHANGE)
    assert all_exchanges <= github <= all_exchanges + 1, (github, all_exchanges)


def test_azure_m2m_with_github_actions_token(sandbox: Any, github: dict[str, str]) -> None:
    from brickauth_sandbox.entra.model import FederatedCredential
    from brickauth_sandbox.fleet import GITHUB_SUBJECT

    sandbox.entra.trust_federated_issuer(
        sandbox.issuer_url, sandbox.issuer_signing_key.private_key.public_key()
    )
    app = sandbox.add_entra_app("gha-app", secret=False)
    app.federated_credentials.append(FederatedCredential(issuer=sandbox.issuer_url, subject=GITHUB_SUBJECT))
    env = {k: v for k, v in github.items() if k not in ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET")}
    p = provider(sandbox, "azure-m2m", env, client_id=app.app_id, tenant_id=sandbox.ids.tenant_id)
    with connect(sandbox, p) as conn:
        assert current_user(conn) == app.app_id
    last = sandbox.request_log.last(**GITHUB)
    assert last is not None


# -- misconfigurations ------------------------------------------------------------------------------


def _error(p: Any) -> BrickauthError:
    with pytest.raises(BrickauthError) as info:
        p.token()
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"[{info.value.code}] ") and " Fix: " in text
    return info.value


def test_wrong_issuer(sandbox: Any, github: dict[str, str]) -> None:
    sandbox.fleet.set_policy(issuer="https://token.actions.githubusercontent.com")
    err = _error(oidc_provider(sandbox, github))
    assert err.code == "BA273" and sandbox.issuer_url in str(err)


def test_wrong_audience(sandbox: Any, github: dict[str, str]) -> None:
    err = _error(oidc_provider(sandbox, github, token_audience="https://github.com/someone-else"))
    assert (
        err.code == "BA274"
        and "https://github.com/someone-else" in str(err)
        and "DATABRICKS_TOKEN_AUDIENCE" in str(err)
    )


def test_wrong_subject(sandbox: Any, github: dict[str, str]) -> None:
    sandbox.fleet.set_policy(subject="repo:brickauth/sample:environment:prod")
    err = _error(oidc_provider(sandbox, github))
    assert err.code == "BA275" and "repo:brickauth/sample:environment:ci" in str(err)


def test_expired_subject_token(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from brickauth_sandbox.fleet import GITHUB_SUBJECT

    env = apply(monkeypatch, dirty_env(sandbox))
    token = tmp_path / "token"
    fleet = sandbox.fleet
    token.write_text(fleet.issuer.mint(GITHUB_SUBJECT, fleet.default_audience, issued_at=time.time() - 3600))
    err = _error(oidc_provider(sandbox, env, oidc_token_filepath=str(token)))
    assert err.code == "BA276" and "expired" in str(err)
    assert sandbox.request_log.count(**EXCHANGE) == 0  # refused before the network


def test_expired_subject_token_refused_by_the_workspace(sandbox: Any) -> None:
    """The sandbox's own refusal for a token that expired in flight (clock skew): classified the same."""
    import requests

    from brickauth_sandbox.fleet import GITHUB_SUBJECT

    fleet = sandbox.fleet
    stale = fleet.issuer.mint(GITHUB_SUBJECT, fleet.default_audience, issued_at=time.time() - 3600)
    r = requests.post(
        f"{sandbox.workspace_url}/oidc/v1/token",
        verify=str(sandbox.ca_bundle),
        timeout=10,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": stale,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "client_id": fleet.ids.oidc_sp_client_id,
        },
    )
    assert r.status_code == 400 and "expired" in r.json()["error_description"]


def test_no_subject_token_source(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_OIDCREQUESTURI", "DATABRICKS_OIDC_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    env = apply(monkeypatch, dirty_env(sandbox))
    with pytest.raises(BrickauthError) as info:
        oidc_provider(sandbox, env)
    assert info.value.code == "BA187" and "id-token: write" in str(info.value)


def test_github_permission_missing(
    sandbox: Any, github: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-job-token")
    err = _error(oidc_provider(sandbox, github))
    assert err.code == "BA277" and "id-token: write" in str(err)
