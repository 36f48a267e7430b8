"""The SQL warehouse's Thrift service, driven by the real databricks-sql-connector over HTTPS."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from databricks.sql.backend.types import CommandState
from databricks.sql.exc import DatabaseError, ServerOperationError
from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from databricks.sql.utils import convert_column_based_set_to_column_table
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport
from warehouse_harness import ALICE, BOB, SP, WAREHOUSE_ID, WarehouseHarness, running_warehouse

from brickauth_sandbox.warehouse.errors import WarehouseSqlError
from brickauth_sandbox.warehouse.thrift_service import ThriftWarehouse


class Gate:
    """Holds statements containing a marker until released (a ``before_execute`` hook)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, principal: str, warehouse_id: str, statement: str) -> None:
        if self.marker in statement:
            self.entered.set()
            assert self.release.wait(30), "gate never released"


@pytest.fixture
def gate() -> Gate:
    return Gate("/* hold */")


@pytest.fixture
def wh(tmp_path: Path, gate: Gate) -> Iterator[WarehouseHarness]:
    with running_warehouse(tmp_path, before_execute=gate) as harness:
        yield harness


def test_select_one_and_current_user(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall()[0][0] == 1
        cur.execute("SELECT current_user()")
        assert cur.fetchone()[0] == ALICE
        assert cur.description[0][:2] == ("current_user()", "string")
    with wh.connect(SP) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user() AS me")
        assert cur.fetchone().me == SP


def test_initial_namespace(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE, catalog="hive_metastore", schema="default") as conn, conn.cursor() as cur:
        cur.execute("select current_catalog(), current_schema()")
        assert tuple(cur.fetchone()) == ("hive_metastore", "default")
    with pytest.raises(DatabaseError, match=r"\[NO_SUCH_CATALOG_EXCEPTION\] Catalog 'nope' was not found"):
        wh.connect(ALICE, catalog="nope")


def test_table_create_insert_select_with_types(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute(
            "create table main.default.events using delta as select 1 as id, 'a' as name, "
            "cast('2024-05-01 10:00:00' as timestamp) as ts, cast('2024-05-01' as date) as day, "
            "cast(12.50 as decimal(10,2)) as amount, array(1, 2) as tags"
        )
        assert cur.fetchall()[0].num_inserted_rows == 1
        cur.execute("insert into main.default.events values (2, null, null, null, null, null)")
        assert cur.rowcount == 1 or cur.fetchall()[0].num_affected_rows == 1
        cur.execute("select * from main.default.events order by id")
        first, second = cur.fetchall()
        assert first.id == 1 and first.name == "a" and str(first.amount) == "12.50"
        assert first.ts.year == 2024 and str(first.day) == "2024-05-01" and list(first.tags) == [1, 2]
        assert second.name is None and second.amount is None
        assert [d[1] for d in cur.description] == ["int", "string", "timestamp", "date", "decimal", "array"]


def test_owner_violation(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("create or replace table main.default.owned as select 1 as id")
    with wh.connect(BOB) as conn, conn.cursor() as cur:
        with pytest.raises(ServerOperationError) as info:
            cur.execute("create or replace table main.default.owned as select 2 as id")
        assert str(info.value) == "PERMISSION_DENIED: User is not an owner of Table 'main.default.owned'."
        cur.execute("select id from main.default.owned")
        assert cur.fetchall()[0].id == 1


def test_syntax_error_shape(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        with pytest.raises(ServerOperationError) as info:
            cur.execute("SELEC 1")
        message = str(info.value)
        assert message.startswith("[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601")
        assert "SQLSTATE: 42601" in message
        with pytest.raises(ServerOperationError, match=r"^\[TABLE_OR_VIEW_NOT_FOUND\] The table or view"):
            cur.execute("select * from main.default.missing")
        cur.execute("select 2 as still_fine")  # the session survives failed statements
        assert cur.fetchone()[0] == 2


def test_async_execution_and_polling(wh: WarehouseHarness, gate: Gate) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute_async("/* hold */ select 42 as answer")
        assert gate.entered.wait(10)
        assert cur.get_query_state() in (CommandState.PENDING, CommandState.RUNNING)
        assert cur.is_query_pending()
        gate.release.set()
        cur.get_async_execution_result()
        assert cur.fetchall()[0].answer == 42
    assert wh.service.calls["GetOperationStatus"] >= 2


def test_cancel_running_statement(wh: WarehouseHarness, gate: Gate) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute_async("/* hold */ create table main.default.never as select 1 as id")
        assert gate.entered.wait(10)
        cur.cancel()
        assert cur.get_query_state() == CommandState.CANCELLED
        gate.release.set()
        with pytest.raises(ServerOperationError, match="TABLE_OR_VIEW_NOT_FOUND"):
            cur.execute("select * from main.default.never")


def test_sync_statement_longer_than_direct_results_wait(tmp_path: Path, gate: Gate) -> None:
    with running_warehouse(tmp_path, before_execute=gate, direct_results_wait=0.05) as harness:
        with harness.connect(ALICE) as conn, conn.cursor() as cur:
            releaser = threading.Thread(target=lambda: (gate.entered.wait(10), gate.release.set()))
            releaser.start()
            cur.execute("/* hold */ select 7 as n")  # answered RUNNING first; the connector polls
            assert cur.fetchone().n == 7
            releaser.join(10)


def test_many_rows_take_several_fetches(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor(arraysize=1000) as cur:
        cur.execute("select id as n from range(25000)")  # Databricks names the column id
        values = [row.n for row in cur.fetchall()]
    assert len(values) == 25000 and sum(values) == 25000 * 24999 // 2
    assert wh.service.calls["FetchResults"] >= 10


def test_eight_threads_at_once(wh: WarehouseHarness) -> None:
    principals = [ALICE, BOB, SP, ALICE, BOB, SP, ALICE, BOB]
    start = threading.Barrier(8)

    def work(i: int) -> tuple[str, int]:
        with wh.connect(principals[i]) as conn, conn.cursor() as cur:
            start.wait(timeout=30)
            cur.execute(f"create table main.default.par{i} as select id from range({i + 10})")
            cur.execute(f"insert into main.default.par{i} values (1000)")
            cur.execute(f"select current_user() as u, count(*) as n from main.default.par{i}")
            row = cur.fetchone()
            return row.u, row.n

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [(principals[i], i + 11) for i in range(8)]
    assert wh.service.open_sessions == 0


def test_metadata_calls(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("create schema main.meta")
        cur.execute("create table main.meta.t (id int, name string) using delta")
        cur.execute("create view main.meta.v as select id from main.meta.t")
        cur.catalogs()
        assert [r[0] for r in cur.fetchall()] == ["hive_metastore", "main"]
        cur.schemas(catalog_name="main")
        assert [r[0] for r in cur.fetchall()] == ["default", "information_schema", "meta"]
        cur.tables(catalog_name="main", schema_name="meta")
        assert [(r.TABLE_NAME, r.TABLE_TYPE) for r in cur.fetchall()] == [("t", "TABLE"), ("v", "VIEW")]
        cur.columns(catalog_name="main", schema_name="meta", table_name="t")
        assert [(r.COLUMN_NAME, r.TYPE_NAME) for r in cur.fetchall()] == [("id", "INT"), ("name", "STRING")]


def test_native_and_inline_parameters(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("select :n + 1 as n, :s as s", {"n": 41, "s": "x"})
        assert tuple(cur.fetchone()) == (42, "x")
    with wh.connect(ALICE, use_inline_params=True) as conn, conn.cursor() as cur:
        cur.execute("select %(n)s as n", {"n": 5})
        assert cur.fetchone().n == 5


def test_unauthenticated_request_is_refused(wh: WarehouseHarness) -> None:
    from databricks import sql

    with pytest.raises(Exception, match="Invalid access token"):
        sql.connect(
            server_hostname=wh.address,
            http_path=f"/sql/1.0/warehouses/{WAREHOUSE_ID}",
            access_token="not-a-known-token",
            _tls_trusted_ca_file=str(wh.ca.cert_path),
            enable_telemetry=False,
            _retry_stop_after_attempts_count=1,
        )


# --- the raw Thrift protocol (what the connector does not exercise) ----------------------------


class RawClient:
    """The generated TCLIService client over ``ThriftWarehouse.handle`` (no HTTP), as one principal."""

    def __init__(self, service: ThriftWarehouse, principal: str, warehouse_id: str = WAREHOUSE_ID) -> None:
        self.service, self.principal, self.warehouse_id = service, principal, warehouse_id

    def call(self, method: str, req: Any) -> Any:
        out = TTransport.TMemoryBuffer()
        client = TCLIService.Client(TBinaryProtocol.TBinaryProtocol(out))
        getattr(client, f"send_{method}")(req)
        answer = self.service.handle(out.getvalue(), principal=self.principal, warehouse_id=self.warehouse_id)
        reader = TCLIService.Client(TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(answer)))
        return getattr(reader, f"recv_{method}")()

    def open(self, **kwargs: Any) -> Any:
        req = ttypes.TOpenSessionReq(
            client_protocol_i64=ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7, **kwargs
        )
        return self.call("OpenSession", req)


@pytest.fixture
def service() -> Iterator[ThriftWarehouse]:
    from brickauth_sandbox.warehouse.engine import WarehouseEngine

    engine = WarehouseEngine()
    svc = ThriftWarehouse(engine)
    yield svc
    svc.reset()
    engine.close()


def test_open_session_protocol_and_catalogs(service: ThriftWarehouse) -> None:
    alice = RawClient(service, ALICE)
    resp = alice.open(initialNamespace=ttypes.TNamespace(catalogName="main"), canUseMultipleCatalogs=True)
    assert resp.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS
    assert resp.serverProtocolVersion == ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7
    assert resp.canUseMultipleCatalogs is True
    assert resp.initialNamespace.catalogName == "main"


def test_sessions_belong_to_their_principal_and_warehouse(service: ThriftWarehouse) -> None:
    handle = RawClient(service, ALICE).open().sessionHandle
    stmt = ttypes.TExecuteStatementReq(sessionHandle=handle, statement="select 1", runAsync=True)
    for intruder in (RawClient(service, BOB), RawClient(service, ALICE, "0000000000000000")):
        resp = intruder.call("ExecuteStatement", stmt)
        assert resp.status.statusCode == ttypes.TStatusCode.INVALID_HANDLE_STATUS
        assert resp.status.errorMessage.startswith("Invalid SessionHandle")
        closed = intruder.call("CloseSession", ttypes.TCloseSessionReq(sessionHandle=handle))
        assert closed.status.statusCode == ttypes.TStatusCode.INVALID_HANDLE_STATUS
    assert service.open_sessions == 1


def test_column_based_results_when_arrow_not_requested(service: ThriftWarehouse) -> None:
    alice = RawClient(service, ALICE)
    handle = alice.open().sessionHandle
    resp = alice.call(
        "ExecuteStatement",
        ttypes.TExecuteStatementReq(
            sessionHandle=handle,
            statement="select * from (values (1, 'a', true, 2.5), (null, null, null, null)) v(i, s, b, d)",
            runAsync=True,
            getDirectResults=ttypes.TSparkGetDirectResults(maxRows=10),
            canReadArrowResult=False,
        ),
    )
    direct = resp.directResults
    assert direct.operationStatus.operationState == ttypes.TOperationState.FINISHED_STATE
    assert direct.resultSetMetadata.resultFormat == ttypes.TSparkRowSetType.COLUMN_BASED_SET
    description = [(c.columnName, None) for c in direct.resultSetMetadata.schema.columns]
    columns, names = convert_column_based_set_to_column_table(direct.resultSet.results.columns, description)
    assert names == ["i", "s", "b", "d"]
    assert [tuple(c) for c in columns] == [(1, None), ("a", None), (True, None), ("2.5", None)]


def test_failed_statement_status(service: ThriftWarehouse) -> None:
    alice = RawClient(service, ALICE)
    handle = alice.open().sessionHandle
    resp = alice.call(
        "ExecuteStatement",
        ttypes.TExecuteStatementReq(sessionHandle=handle, statement="select * from nope", runAsync=True),
    )
    op = resp.operationHandle
    status = alice.call("GetOperationStatus", ttypes.TGetOperationStatusReq(operationHandle=op))
    while status.operationState in (
        ttypes.TOperationState.PENDING_STATE,
        ttypes.TOperationState.RUNNING_STATE,
    ):
        status = alice.call("GetOperationStatus", ttypes.TGetOperationStatusReq(operationHandle=op))
    assert status.status.statusCode == ttypes.TStatusCode.SUCCESS_STATUS
    assert status.operationState == ttypes.TOperationState.ERROR_STATE
    assert status.sqlState == "42P01"
    assert status.displayMessage.startswith("[TABLE_OR_VIEW_NOT_FOUND]")
    assert status.errorMessage.startswith(
        "org.apache.hive.service.cli.HiveSQLException: Error running query:"
    )


def test_garbage_body_does_not_crash_the_service(service: ThriftWarehouse) -> None:
    answer = service.handle(b"\x00\x01garbage", principal=ALICE, warehouse_id=WAREHOUSE_ID)
    assert isinstance(answer, bytes)
    RawClient(service, ALICE).open()  # still serving


def test_before_execute_can_fail_a_statement(tmp_path: Path) -> None:
    def refuse(principal: str, warehouse_id: str, statement: str) -> None:
        raise WarehouseSqlError("WAREHOUSE_UNAVAILABLE", "The SQL warehouse is stopping.", "08000")

    with running_warehouse(tmp_path, before_execute=refuse) as harness:
        with harness.connect(ALICE) as conn, conn.cursor() as cur:
            with pytest.raises(ServerOperationError, match=r"^\[WAREHOUSE_UNAVAILABLE\] The SQL warehouse"):
                cur.execute("select 1")
