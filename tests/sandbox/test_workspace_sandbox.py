"""The workspace inside the full sandbox: real Entra tokens (msal), the real warehouse, the real connector."""

from __future__ import annotations

from typing import Any

import msal
import pytest
import requests
from databricks import sql

from brickauth_sandbox.core import Sandbox

RESOURCE_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


class StaticToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_type(self) -> str:
        return "brickauth-test"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return lambda: {"Authorization": f"Bearer {self.token}"}


def entra_m2m_token(sb: Sandbox) -> str:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sb.ca_bundle)
    app = msal.ConfidentialClientApplication(
        sb.ids.m2m_client_id,
        client_credential=sb.ids.m2m_client_secret.reveal(),
        authority=f"{sb.entra_url}/{sb.ids.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client(scopes=[RESOURCE_SCOPE])
    assert "access_token" in result, result
    return str(result["access_token"])


def select_current_user(sb: Sandbox, token: str) -> str:
    host = sb.workspace_url.removeprefix("https://")
    with (
        sql.connect(
            server_hostname=host,
            http_path=sb.http_path,
            credentials_provider=StaticToken(token),
            _tls_trusted_ca_file=str(sb.ca_bundle),
            enable_telemetry=False,
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT current_user()")
        row = cur.fetchone()
        assert row is not None
        return str(row[0])


def test_entra_m2m_token_runs_sql_in_the_sandbox(sandbox: Sandbox) -> None:
    token = entra_m2m_token(sandbox)
    assert select_current_user(sandbox, token) == sandbox.ids.m2m_client_id
    log = sandbox.request_log
    assert log.count(service="workspace", path="/oidc/v1/token", grant_type=TOKEN_EXCHANGE, status=200) == 1


def test_databricks_m2m_token_runs_sql_in_the_sandbox(sandbox: Sandbox) -> None:
    r = requests.post(
        f"{sandbox.workspace_url}/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(sandbox.ids.databricks_sp_client_id, sandbox.ids.databricks_sp_secret.reveal()),
        verify=str(sandbox.ca_bundle),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert select_current_user(sandbox, r.json()["access_token"]) == sandbox.ids.databricks_sp_client_id


def test_entra_service_principal_removed_from_workspace(sandbox: Sandbox) -> None:
    token = entra_m2m_token(sandbox)
    sandbox.remove_from_workspace(sandbox.ids.m2m_client_id)
    with pytest.raises(sql.exc.RequestError) as info:
        select_current_user(sandbox, token)
    assert str(info.value).rstrip() == "Error during request to server: : User not authorized."
