"""The Thrift (SQL) path through the real databricks-sql-connector: who gets in, and what the connector
says when the workspace refuses (401/403 headers, 404, 503 + Retry-After while a warehouse starts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from databricks import sql
from test_workspace_harness import (
    ALICE,
    BOB,
    CAROL,
    COLD_WAREHOUSE,
    DAVE,
    DBX_SP,
    DBX_SP_SECRET,
    ENTRA_SP,
    ENTRA_SP_OUTSIDE,
    OTHER_TENANT,
    WAREHOUSE,
    Harness,
    running_workspace,
)

from brickauth.clock import SYSTEM_CLOCK
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.workspace.model import FederationPolicy

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Harness]:
    with running_workspace(tmp_path) as h:
        yield h


class StaticToken:
    """A tiny credentials provider: ``provider()`` returns the header factory the connector calls."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_type(self) -> str:
        return "brickauth-test"

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[], dict[str, str]]:
        return lambda: {"Authorization": f"Bearer {self.token}"}


def connect(h: Harness, token: str, warehouse: str = WAREHOUSE, **kwargs: Any) -> Any:
    return sql.connect(
        server_hostname=h.host,
        http_path=f"/sql/1.0/warehouses/{warehouse}",
        credentials_provider=StaticToken(token),
        _tls_trusted_ca_file=str(h.ca_file),
        enable_telemetry=False,
        **kwargs,
    )


def current_user(h: Harness, token: str, warehouse: str = WAREHOUSE, **kwargs: Any) -> str:
    with connect(h, token, warehouse, **kwargs) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user()")
        row = cur.fetchone()
        assert row is not None
        return str(row[0])


def refused(h: Harness, token: str, warehouse: str = WAREHOUSE) -> str:
    with pytest.raises(sql.exc.RequestError) as info:
        connect(h, token, warehouse)
    return str(info.value).rstrip()  # the connector appends ". " and the underlying error's text


def test_entra_user_runs_sql_as_itself(ws: Harness) -> None:
    assert current_user(ws, ws.entra.user_token(ALICE)) == ALICE
    assert ("OpenSession", ALICE, WAREHOUSE) in ws.warehouse.calls
    entry = ws.log.last(path=f"/sql/1.0/warehouses/{WAREHOUSE}")
    assert entry is not None and entry.fields["principal"] == ALICE


def test_entra_service_principal_and_the_token_exchange_fallback(ws: Harness) -> None:
    # Connector 4.x first offers the Entra token for exchange; with no federation policy the workspace
    # hands back the token it already accepts, and the connector goes on with it.
    assert current_user(ws, ws.entra.app_token(ENTRA_SP, v2=True)) == ENTRA_SP
    exchanges = ws.log.filter(path="/oidc/v1/token", grant_type=TOKEN_EXCHANGE)
    assert len(exchanges) == 1
    assert exchanges[0].status == 200
    assert ws.log.count(path=f"/sql/1.0/warehouses/{WAREHOUSE}", principal=ENTRA_SP) >= 2


def test_exchange_refused_for_foreign_issuer_connector_falls_back(ws: Harness) -> None:
    github = SigningKey.generate()
    token = github.sign(
        {
            "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:acme/etl:ref:main",
            "aud": "databricks",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
        }
    )
    message = refused(ws, token)
    assert message == "Error during request to server: : Invalid access token.."
    exchange = ws.log.last(path="/oidc/v1/token", grant_type=TOKEN_EXCHANGE)
    assert exchange is not None and (exchange.status, exchange.fields["error_code"]) == (
        400,
        "invalid_request",
    )


def test_federation_policy_exchanges_a_workload_token(ws: Harness) -> None:
    github = SigningKey.generate()
    issuer = "https://token.actions.githubusercontent.com"
    ws.workspace.federation_policies.append(
        FederationPolicy(
            issuer=issuer,
            audiences=["databricks"],
            service_principal=DBX_SP,
            subject="repo:acme/etl:ref:main",
            signing_key=github,
        )
    )
    token = github.sign(
        {
            "iss": issuer,
            "sub": "repo:acme/etl:ref:main",
            "aud": "databricks",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
        }
    )
    assert current_user(ws, token, identity_federation_client_id=DBX_SP) == DBX_SP
    exchange = ws.log.last(path="/oidc/v1/token", grant_type=TOKEN_EXCHANGE)
    assert exchange is not None and exchange.status == 200 and exchange.fields["principal"] == DBX_SP
    # Without the client id the service principal policy does not apply.
    assert "Invalid access token." in refused(ws, token)


def test_databricks_oauth_token_skips_the_exchange(ws: Harness) -> None:
    r = requests.post(
        ws.url("/oidc/v1/token"),
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(DBX_SP, DBX_SP_SECRET),
        verify=str(ws.ca_bundle),
        timeout=10,
    )
    assert current_user(ws, r.json()["access_token"]) == DBX_SP
    assert ws.log.count(path="/oidc/v1/token", grant_type=TOKEN_EXCHANGE) == 0


def test_service_principal_not_in_workspace(ws: Harness) -> None:
    # The field-report text: "Error during request to server: : User not authorized."
    assert (
        refused(ws, ws.entra.app_token(ENTRA_SP_OUTSIDE))
        == "Error during request to server: : User not authorized."
    )
    assert ws.log.last(path=f"/sql/1.0/warehouses/{WAREHOUSE}").fields["error_code"] == "NOT_IN_WORKSPACE"  # type: ignore[union-attr]


def test_invalid_token(ws: Harness) -> None:
    token = ws.entra.user_token(ALICE, key=SigningKey.generate())
    assert refused(ws, token) == "Error during request to server: : Invalid access token.."


def test_expired_token(ws: Harness) -> None:
    token = ws.entra.user_token(ALICE, now=ws.clock.now() - 7200, lifetime=3600)
    assert refused(ws, token) == "Error during request to server: : JWT has expired."


def test_wrong_tenant_uses_the_thrift_error_header(ws: Harness) -> None:
    message = refused(ws, ws.entra.user_token(ALICE, tid=OTHER_TENANT))
    assert message.startswith(
        "Error during request to server: : io.jsonwebtoken.IncorrectClaimException: "
        "Expected iss claim to be: "
    )
    assert f"but was: {ws.entra.issuer_v1(OTHER_TENANT)}." in message


def test_missing_sql_entitlement(ws: Harness) -> None:
    message = refused(ws, ws.entra.user_token(BOB))
    assert message == (
        "Error during request to server: : "
        "This API is disabled for users without the databricks-sql-access entitlement.."
    )


def test_missing_can_use(ws: Harness) -> None:
    message = refused(ws, ws.entra.user_token(CAROL))
    assert message == (
        "Error during request to server: : PERMISSION_DENIED: User does not have permission to use "
        f"warehouse {WAREHOUSE}.."
    )


def test_deactivated_user(ws: Harness) -> None:
    assert "is not active" in refused(ws, ws.entra.user_token(DAVE))


def test_ip_access_list(ws: Harness) -> None:
    ws.workspace.ip_access_list_enabled = True
    message = refused(ws, ws.entra.user_token(ALICE))
    assert message == (
        "Error during request to server: : Source IP address: 127.0.0.1 is blocked by Databricks "
        f"IP ACL for workspace: {ws.workspace.workspace_id}."
    )


def test_unknown_warehouse(ws: Harness) -> None:
    message = refused(ws, ws.entra.user_token(ALICE), warehouse="deadbeefdeadbeef")
    assert message == "Error during request to server: : The warehouse deadbeefdeadbeef was not found.."


@pytest.mark.slow
def test_stopped_warehouse_auto_starts_and_the_connector_waits(ws: Harness) -> None:
    # The connector sleeps at least _retry_delay_max (>= 5 s) after a 503: real time, so a real clock here.
    ws.service.warehouses.clock = SYSTEM_CLOCK
    ws.service.authenticator.clock = SYSTEM_CLOCK
    started = time.monotonic()
    assert current_user(ws, ws.entra.user_token(ALICE), warehouse=COLD_WAREHOUSE, _retry_delay_max=5) == ALICE
    assert time.monotonic() - started >= 1
    statuses = [e.status for e in ws.log.filter(path=f"/sql/1.0/warehouses/{COLD_WAREHOUSE}")]
    assert statuses[0] == 503 and 200 in statuses
    starting = ws.log.filter(path=f"/sql/1.0/warehouses/{COLD_WAREHOUSE}", status=503)[0]
    assert starting.fields["error_code"] == "WAREHOUSE_STARTING"
    assert ws.workspace.warehouses[COLD_WAREHOUSE].state == "RUNNING"


def test_stopped_warehouse_without_auto_start(ws: Harness) -> None:
    ws.workspace.warehouses[COLD_WAREHOUSE].auto_start = False
    message = refused(ws, ws.entra.user_token(ALICE), warehouse=COLD_WAREHOUSE)
    assert f"Command failed because warehouse {COLD_WAREHOUSE} was stopped." in message
