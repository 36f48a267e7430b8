"""Issue 10: databricks-sdk hands the provider its Config (``p(cfg)``): with no host of its own brickauth
takes the SDK's; a host that differs from brickauth's setting is refused, naming both."""

from __future__ import annotations

import pytest

import brickauth
from brickauth.errors import ConfigurationError
from brickauth_sandbox.core import Sandbox


def workspace_client(host: str, provider: object) -> object:
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=host, credentials_strategy=provider)


def test_the_sdk_host_is_taken_when_brickauth_has_none(
    sandbox: Sandbox, sandbox_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABRICKS_HOST")
    provider = brickauth.credentials_provider("databricks-m2m")  # no host anywhere: deferred
    with pytest.raises(ConfigurationError) as err:
        provider()  # the SQL connector passes no host: still the plain missing-host error
    assert err.value.code == "BA110"
    w = workspace_client(sandbox.workspace_url, provider)
    me = w.current_user.me()  # type: ignore[attr-defined]
    assert me.user_name == sandbox.ids.databricks_sp_client_id
    assert provider.settings.host is not None and provider.settings.host.url == sandbox.workspace_url


def test_a_different_sdk_host_is_refused_naming_both(sandbox: Sandbox, sandbox_env: dict[str, str]) -> None:
    provider = brickauth.credentials_provider("databricks-m2m")
    other = sandbox.entra_url  # another live address (a name that does not resolve makes the SDK retry)
    with pytest.raises(ValueError) as err:  # the SDK wraps its credentials strategy's error
        workspace_client(other, provider)
    text = str(err.value)
    assert "[BA123]" in text and other in text and sandbox.workspace_url in text, text
    assert "env:DATABRICKS_HOST" in text
    assert sandbox.request_log.count(service="workspace", grant_type="client_credentials") == 0
    same = workspace_client(sandbox.workspace_url, provider)
    assert same.current_user.me().user_name == sandbox.ids.databricks_sp_client_id  # type: ignore[attr-defined]
