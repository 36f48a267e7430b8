"""Shared harness for the workspace emulator tests (no tests here).

Runs ``WorkspaceService`` over TLS on a fresh ``127.x.y.z:443`` with the sandbox's own server, CA and
request log, a stand-in Entra (a signing key and the two issuer forms) and a tiny Thrift warehouse
that answers the connector's session and statement calls (``current_user()`` is the principal).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport

from brickauth.clock import FakeClock
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID
from brickauth_sandbox.faults import instrument
from brickauth_sandbox.lifetimes import TokenLifetimes
from brickauth_sandbox.requestlog import RequestLog
from brickauth_sandbox.server import HttpsServer, pick_loopback_address
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.tls import CertificateAuthority
from brickauth_sandbox.workspace.app import WorkspaceService
from brickauth_sandbox.workspace.model import (
    DATABRICKS_SQL_ACCESS,
    WORKSPACE_ACCESS,
    DatabricksServicePrincipal,
    OAuthAppIntegration,
    OAuthSecret,
    Warehouse,
    Workspace,
    WorkspacePrincipal,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
ALICE = "alice@contoso.com"  # SQL access + CAN USE; signs in with ALICE_PASSWORD
ALICE_PASSWORD = "Correct-Horse-42"
BOB = "bob@contoso.com"  # no Databricks SQL access entitlement
CAROL = "carol@contoso.com"  # no CAN USE on the warehouse
DAVE = "dave@contoso.com"  # deactivated
ENTRA_SP = "6a1f0f6e-1111-4d6a-9a3e-5b2a7c1d0e11"  # Entra service principal added to the workspace
ENTRA_SP_OUTSIDE = "6a1f0f6e-2222-4d6a-9a3e-5b2a7c1d0e22"  # Entra service principal never added
DBX_SP = "9d6c5b4a-3333-4e2f-8a1b-0c9d8e7f6a33"  # Databricks service principal with an OAuth secret
DBX_SP_SECRET = "dose" + "a1b2c3d4" * 8
DBX_SP_EXPIRED = "9d6c5b4a-4444-4e2f-8a1b-0c9d8e7f6a44"
DBX_SP_EXPIRED_SECRET = "dose" + "e5f6a7b8" * 8
WAREHOUSE = "4b9e8f7a6c5d3e21"
COLD_WAREHOUSE = "0c0ffee0c0ffee00"
CLI_APP = "databricks-cli"


@dataclass
class StandInEntra:
    """What the workspace needs from Entra: its signing key and issuer forms. Mints Entra-shaped tokens."""

    authority: str = "https://login.microsoftonline.com"
    signing_key: SigningKey = field(default_factory=SigningKey.generate)

    def issuer_v1(self, tenant_id: str) -> str:
        return f"https://sts.windows.net/{tenant_id}/"

    def issuer_v2(self, tenant_id: str) -> str:
        return f"{self.authority}/{tenant_id}/v2.0"

    def user_token(
        self,
        upn: str,
        *,
        tid: str = TENANT,
        aud: str = AZURE_DATABRICKS_RESOURCE_ID,
        now: float | None = None,
        lifetime: float = 3600,
        v2: bool = False,
        key: SigningKey | None = None,
    ) -> str:
        n = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "aud": aud,
            "iss": self.issuer_v2(tid) if v2 else self.issuer_v1(tid),
            "tid": tid,
            "oid": str(uuid.uuid4()),
            "scp": "user_impersonation",
            "iat": n,
            "nbf": n,
            "exp": n + int(lifetime),
            "appid" if not v2 else "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            "ver": "2.0" if v2 else "1.0",
        }
        claims["preferred_username" if v2 else "upn"] = upn
        return (key or self.signing_key).sign(claims)

    def app_token(
        self,
        app_id: str,
        *,
        tid: str = TENANT,
        aud: str = AZURE_DATABRICKS_RESOURCE_ID,
        now: float | None = None,
        lifetime: float = 3600,
        v2: bool = False,
    ) -> str:
        n = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "aud": aud,
            "iss": self.issuer_v2(tid) if v2 else self.issuer_v1(tid),
            "tid": tid,
            "oid": str(uuid.uuid4()),
            "sub": str(uuid.uuid4()),
            "idtyp": "app",
            "iat": n,
            "nbf": n,
            "exp": n + int(lifetime),
            "ver": "2.0" if v2 else "1.0",
        }
        claims["azp" if v2 else "appid"] = app_id
        return self.signing_key.sign(claims)


class StubWarehouse:
    """Answers TCLIService calls; every statement returns one STRING row (``current_user()``: the caller)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []  # (method, principal, warehouse_id)

    def handle(self, body: bytes, *, principal: str, warehouse_id: str) -> bytes:
        handler = _ThriftHandler(self, principal, warehouse_id)
        processor = TCLIService.Processor(handler)
        out = TTransport.TMemoryBuffer()
        processor.process(
            TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(body)),
            TBinaryProtocol.TBinaryProtocol(out),
        )
        return out.getvalue()


def _ok() -> ttypes.TStatus:
    return ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS)


def _handle() -> ttypes.THandleIdentifier:
    return ttypes.THandleIdentifier(guid=uuid.uuid4().bytes, secret=uuid.uuid4().bytes)


class _ThriftHandler:
    def __init__(self, owner: StubWarehouse, principal: str, warehouse_id: str) -> None:
        self.owner, self.principal, self.warehouse_id = owner, principal, warehouse_id

    def _note(self, method: str) -> None:
        self.owner.calls.append((method, self.principal, self.warehouse_id))

    def OpenSession(self, req: Any) -> Any:
        self._note("OpenSession")
        return ttypes.TOpenSessionResp(
            status=_ok(),
            serverProtocolVersion=ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7,
            sessionHandle=ttypes.TSessionHandle(sessionId=_handle()),
            canUseMultipleCatalogs=True,
        )

    def CloseSession(self, req: Any) -> Any:
        self._note("CloseSession")
        return ttypes.TCloseSessionResp(status=_ok())

    def ExecuteStatement(self, req: Any) -> Any:
        self._note("ExecuteStatement")
        value = self.principal if "current_user" in req.statement.lower() else "1"
        meta = ttypes.TGetResultSetMetadataResp(
            status=_ok(),
            resultFormat=ttypes.TSparkRowSetType.COLUMN_BASED_SET,
            schema=ttypes.TTableSchema(
                columns=[
                    ttypes.TColumnDesc(
                        columnName="value",
                        position=1,
                        typeDesc=ttypes.TTypeDesc(
                            types=[
                                ttypes.TTypeEntry(
                                    primitiveEntry=ttypes.TPrimitiveTypeEntry(type=ttypes.TTypeId.STRING_TYPE)
                                )
                            ]
                        ),
                    )
                ]
            ),
        )
        rows = ttypes.TRowSet(
            startRowOffset=0,
            rows=[],
            columns=[ttypes.TColumn(stringVal=ttypes.TStringColumn(values=[value], nulls=b"\x00"))],
        )
        op = ttypes.TOperationHandle(
            operationId=_handle(), operationType=ttypes.TOperationType.EXECUTE_STATEMENT, hasResultSet=True
        )
        return ttypes.TExecuteStatementResp(
            status=_ok(),
            operationHandle=op,
            directResults=ttypes.TSparkDirectResults(
                operationStatus=ttypes.TGetOperationStatusResp(
                    status=_ok(), operationState=ttypes.TOperationState.FINISHED_STATE, hasResultSet=True
                ),
                resultSetMetadata=meta,
                resultSet=ttypes.TFetchResultsResp(status=_ok(), hasMoreRows=False, results=rows),
                closeOperation=ttypes.TCloseOperationResp(status=_ok()),
            ),
        )

    def CloseOperation(self, req: Any) -> Any:
        self._note("CloseOperation")
        return ttypes.TCloseOperationResp(status=_ok())


def build_workspace(*, clock_now: float) -> Workspace:
    ws = Workspace(workspace_id="1234567890123456", tenant_id=TENANT)
    for key, kind, extra in [
        (ALICE, "user", {"password": ALICE_PASSWORD, "display_name": "Alice Smith"}),
        (BOB, "user", {"entitlements": {WORKSPACE_ACCESS}}),
        (CAROL, "user", {}),
        (DAVE, "user", {"active": False, "password": "Dave-pw-1"}),
        (ENTRA_SP, "service_principal", {"display_name": "etl-entra"}),
        (DBX_SP, "service_principal", {"display_name": "etl-databricks"}),
        (DBX_SP_EXPIRED, "service_principal", {}),
    ]:
        ws.principals[key] = WorkspacePrincipal(key=key, kind=kind, **extra)  # type: ignore[arg-type]
    ws.account_service_principals[DBX_SP] = DatabricksServicePrincipal(
        DBX_SP, "etl-databricks", [OAuthSecret(DBX_SP_SECRET)]
    )
    ws.account_service_principals[DBX_SP_EXPIRED] = DatabricksServicePrincipal(
        DBX_SP_EXPIRED, "old", [OAuthSecret(DBX_SP_EXPIRED_SECRET, expires_at=clock_now - 86400)]
    )
    ws.oauth_apps[CLI_APP] = OAuthAppIntegration(CLI_APP, "Databricks CLI", ["http://localhost:8020"])
    ws.warehouses[WAREHOUSE] = Warehouse(
        WAREHOUSE, can_use={ALICE, ENTRA_SP, DBX_SP, BOB, DAVE}, can_manage={ALICE}
    )
    ws.warehouses[COLD_WAREHOUSE] = Warehouse(
        COLD_WAREHOUSE, name="Cold", state="STOPPED", start_delay_seconds=1, can_use={ALICE, DBX_SP}
    )
    assert DATABRICKS_SQL_ACCESS in ws.principals[ALICE].entitlements
    return ws


@dataclass
class Harness:
    workspace: Workspace
    service: WorkspaceService
    entra: StandInEntra
    warehouse: StubWarehouse
    clock: FakeClock
    log: RequestLog
    host: str  # 127.x.y.z
    base_url: str
    ca_bundle: Path
    ca_file: Path  # our CA alone

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def running_workspace(tmp_path: Path, *, lifetimes: TokenLifetimes | None = None) -> Iterator[Harness]:
    clock = FakeClock(start=time.time())
    ca = CertificateAuthority.create(tmp_path / "ca")
    host = pick_loopback_address()
    cert = ca.issue([host])
    bundle = ca.write_ca_bundle()
    entra = StandInEntra()
    warehouse = StubWarehouse()
    ws = build_workspace(clock_now=clock.now())
    base_url = f"https://{host}"
    service = WorkspaceService(
        workspace=ws,
        base_url=base_url,
        entra=entra,
        signing_key=SigningKey.generate(),
        warehouse=warehouse,
        clock=clock,
        lifetimes=lifetimes or TokenLifetimes(),
    )
    log = RequestLog()
    server = HttpsServer(
        instrument(service, "workspace", log, None, clock=clock),
        host,
        443,
        cert.ssl_context(),
        name="workspace",
    )
    with server:
        yield Harness(ws, service, entra, warehouse, clock, log, host, base_url, bundle, ca.cert_path)
