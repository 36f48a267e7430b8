"""The workspace's Statement Execution API, driven by the real connector's ``use_sea=True`` path (and by
plain HTTP for what the connector does not show: error bodies, result links)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from databricks import sql
from databricks.sql.exc import ServerOperationError

INLINE = {"use_sea": True, "use_cloud_fetch": False, "enable_query_result_lz4_compression": False}
LINKS = {"use_sea": True}  # ARROW_STREAM + EXTERNAL_LINKS + LZ4_FRAME: the connector's defaults


@pytest.fixture
def token(sandbox: Any) -> str:
    sandbox.wait_until_ready()
    token: str = sandbox.workspace_service.mint_token(sandbox.ids.user_upn.lower())
    return token


@contextmanager
def cursor(sandbox: Any, token: str, **extra: Any) -> Iterator[Any]:
    with sql.connect(
        server_hostname=sandbox.addresses["workspace"], http_path=sandbox.http_path, access_token=token,
        _tls_trusted_ca_file=str(sandbox.ca_bundle), enable_telemetry=False,
        _retry_stop_after_attempts_count=1, **extra,
    ) as conn, conn.cursor() as cur:
        yield cur


def api(sandbox: Any, token: str | None, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, sandbox.workspace_url + path, json=body, headers=headers,
                            verify=str(sandbox.ca_bundle), timeout=30)


@pytest.mark.parametrize("extra", [INLINE, LINKS], ids=["inline-json", "external-links-arrow-lz4"])
def test_queries_through_sea(sandbox: Any, token: str, extra: dict[str, Any]) -> None:
    with cursor(sandbox, token, **extra) as cur:
        cur.execute("SELECT * FROM range(4)")
        assert [list(r) for r in cur.fetchmany(3)] == [[0], [1], [2]]
        assert [list(r) for r in cur.fetchmany(3)] == [[3]]
        cur.execute("SELECT '数据砖' AS s, TIMESTAMP('2021-09-30 11:27:35.123+04:00') AS ts, "
                    "CAST(1.5 AS DECIMAL(3,1)) AS d, DATE('2021') AS day, true AS b")
        row = cur.fetchone()
        assert row.s == "数据砖" and row.d == pytest.approx(1.5) and row.b
        assert row.day == datetime.date(2021, 1, 1)
        assert row.ts == datetime.datetime(2021, 9, 30, 7, 27, 35, 123000, tzinfo=datetime.timezone.utc)
        assert [d[1] for d in cur.description] == ["string", "timestamp", "decimal", "date", "boolean"]
        assert cur.active_result_set.lz4_compressed == (extra is LINKS)
        cur.execute("CREATE TABLE IF NOT EXISTS sea_t AS (SELECT 1 AS col_1)")
        assert cur.fetchall() == []
        with pytest.raises(ServerOperationError, match=r"BAD_REQUEST - \[TABLE_OR_VIEW_NOT_FOUND\]"):
            cur.execute("SELECT * FROM no_such_table")
        cur.execute("SELECT count(*) AS n FROM sea_t")  # the session survives a failed statement
        assert cur.fetchone().n == 1


def test_sea_results_in_several_chunks_and_row_limit(sandbox: Any, token: str) -> None:
    for extra in (INLINE, LINKS):
        with cursor(sandbox, token, **extra) as cur:
            cur.execute("SELECT id FROM range(25000)")
            assert [r.id for r in cur.fetchall()] == list(range(25000))
        with sql.connect(
            server_hostname=sandbox.addresses["workspace"], http_path=sandbox.http_path, access_token=token,
            _tls_trusted_ca_file=str(sandbox.ca_bundle), enable_telemetry=False, **extra,
        ) as conn, conn.cursor(row_limit=7) as cur:
            cur.execute("SELECT * FROM range(100)")
            assert len(cur.fetchall()) == 7


def test_sea_async_execute_and_session_settings(sandbox: Any, token: str) -> None:
    with cursor(sandbox, token, session_configuration={"TIMEZONE": "Europe/Amsterdam"}, **INLINE) as cur:
        cur.execute_async("select CAST('2022-03-02 12:54:56' as TIMESTAMP) AS t")
        cur.get_async_execution_result()  # waits for the statement, as the connector does
        assert cur.fetchone().t == datetime.datetime(2022, 3, 2, 11, 54, 56, tzinfo=datetime.timezone.utc)


def test_sea_error_bodies(sandbox: Any, token: str) -> None:
    wh = sandbox.ids.warehouse_id
    assert api(sandbox, None, "POST", "/api/2.0/sql/sessions", {"warehouse_id": wh}).status_code == 401
    bad = api(sandbox, token, "POST", "/api/2.0/sql/statements",
              {"warehouse_id": wh, "statement": "SELECT 1", "wait_timeout": "3s"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    arrow_inline = {"format": "ARROW_STREAM", "disposition": "INLINE"}
    bad = api(sandbox, token, "POST", "/api/2.0/sql/statements",
              {"warehouse_id": wh, "statement": "SELECT 1", **arrow_inline})
    assert bad.status_code == 400 and "EXTERNAL_LINKS" in bad.json()["message"]
    missing = api(sandbox, token, "GET", "/api/2.0/sql/statements/01ef0000-0000-1000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    nowhere = api(sandbox, token, "POST", "/api/2.0/sql/sessions", {"warehouse_id": "0123456789abcdef"})
    assert nowhere.status_code == 404 and nowhere.json()["error_code"] == "NOT_FOUND"
    sandbox.warehouse().can_use.clear()
    refused = api(sandbox, token, "POST", "/api/2.0/sql/sessions", {"warehouse_id": wh})
    assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"


def test_sea_statement_lifecycle_and_links(sandbox: Any, token: str) -> None:
    wh = sandbox.ids.warehouse_id
    session = api(sandbox, token, "POST", "/api/2.0/sql/sessions", {"warehouse_id": wh}).json()["session_id"]
    body = {"warehouse_id": wh, "session_id": session, "statement": "SELECT id FROM range(3)",
            "format": "ARROW_STREAM", "disposition": "EXTERNAL_LINKS", "wait_timeout": "10s"}
    answer = api(sandbox, token, "POST", "/api/2.0/sql/statements", body).json()
    assert answer["status"] == {"state": "SUCCEEDED"}
    assert answer["manifest"]["schema"]["columns"] == [
        {"name": "id", "type_text": "BIGINT", "type_name": "LONG", "position": 0}
    ]
    link = answer["result"]["external_links"][0]["external_link"]
    arrow_ipc = requests.get(link, verify=str(sandbox.ca_bundle), timeout=30).content  # no Authorization
    assert arrow_ipc.startswith(b"\xff\xff\xff\xff")  # an Arrow IPC stream (continuation marker)
    forged = requests.get(link[:-4] + "AAAA", verify=str(sandbox.ca_bundle), timeout=30)
    assert forged.status_code == 403 and b"AuthenticationFailed" in forged.content
    statement = answer["statement_id"]
    assert api(sandbox, token, "DELETE", f"/api/2.0/sql/statements/{statement}", {}).json() == {}
    closed = api(sandbox, token, "GET", f"/api/2.0/sql/statements/{statement}").json()
    assert closed["status"]["state"] == "CLOSED"
    pending = api(sandbox, token, "POST", "/api/2.0/sql/statements", body | {"wait_timeout": "0s"}).json()
    assert pending["status"]["state"] in ("PENDING", "RUNNING", "SUCCEEDED")
    cancel = f"/api/2.0/sql/statements/{pending['statement_id']}/cancel"
    assert api(sandbox, token, "POST", cancel, {}).json() == {}
    assert api(sandbox, token, "DELETE", f"/api/2.0/sql/sessions/{session}", {}).json() == {}
    gone = api(sandbox, token, "POST", "/api/2.0/sql/statements", body)
    assert gone.status_code == 404 and gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
