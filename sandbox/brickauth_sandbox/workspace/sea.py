"""The Statement Execution API (SEA) on the workspace: what databricks-sql-connector's ``use_sea=True``
path calls (``databricks/sql/backend/sea/backend.py``, connector 4.x), over the same SQL engine as the
Thrift path.

- ``POST /api/2.0/sql/sessions`` ``{warehouse_id, session_confs?, catalog?, schema?}`` -> ``{session_id}``;
  ``DELETE /api/2.0/sql/sessions/{id}``.
- ``POST /api/2.0/sql/statements`` ``{warehouse_id, session_id?, statement, disposition, format,
  wait_timeout, on_wait_timeout, row_limit?, parameters?, result_compression?}`` -> a statement response
  (``statement_id``, ``status``, ``manifest``, ``result``); ``GET /api/2.0/sql/statements/{id}``,
  ``POST .../{id}/cancel``, ``DELETE .../{id}`` (close), ``GET .../{id}/result/chunks/{n}``.

Shapes follow the public reference (https://docs.databricks.com/api/workspace/statementexecution) and
the connector's models (``backend/sea/models/responses.py``): ``JSON_ARRAY`` results are strings
(``INLINE`` data_array), ``ARROW_STREAM`` results come as ``EXTERNAL_LINKS``: presigned-style URLs that
the client downloads without its Authorization header (the connector's cloud-fetch downloader sends only
the link's own ``http_headers``). The sandbox serves those links itself under ``/sandbox-results/``
(an unguessable token per chunk, valid 15 minutes); the Arrow IPC stream of a chunk is LZ4-frame
compressed when ``result_compression`` is ``LZ4_FRAME``. A failed statement answers ``state: FAILED``
with ``error {error_code, message}`` where the message is the same ``[ERROR_CLASS] ... SQLSTATE: xxxxx``
text the Thrift path sends, and ``sql_state``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from brickauth.clock import Clock
from brickauth_sandbox.warehouse import errors as sql_errors
from brickauth_sandbox.warehouse.engine import EngineSession, WarehouseEngine
from brickauth_sandbox.warehouse.results import StatementResult, adapt_arrow, sql_type_name
from brickauth_sandbox.warehouse.translate import Parameter
from brickauth_sandbox.workspace import errors
from brickauth_sandbox.workspace.errors import Refusal

log = logging.getLogger(__name__)

CHUNK_ROWS = 10_000  # rows per EXTERNAL_LINKS chunk (Databricks sizes chunks by bytes; rows do here)
# INLINE results: one chunk, at most 25 MiB (API reference, disposition). The connector reads INLINE
# JSON from the first response only (backend/sea/queue.py JsonQueue), so the whole result is chunk 0.
INLINE_LIMIT_BYTES = 25 * 1024 * 1024
LINK_TTL_SECONDS = 15 * 60  # presigned result links: short-lived, as cloud-storage SAS/presigned URLs are
RESULTS_PREFIX = "/sandbox-results/"
# Session parameters SEA sessions accept (the connector filters to the same list before sending:
# backend/sea/utils/constants.py ALLOWED_SESSION_CONF_TO_DEFAULT_VALUES_MAP, from
# https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-parameters).
SESSION_PARAMETERS = {
    "ANSI_MODE", "ENABLE_PHOTON", "LEGACY_TIME_PARSER_POLICY", "MAX_FILE_PARTITION_BYTES",
    "READ_ONLY_EXTERNAL_METASTORE", "STATEMENT_TIMEOUT", "TIMEZONE", "USE_CACHED_RESULT", "QUERY_TAGS",
}
FORMATS = ("JSON_ARRAY", "ARROW_STREAM", "CSV")
DISPOSITIONS = ("INLINE", "EXTERNAL_LINKS", "INLINE_OR_EXTERNAL_LINKS")

# SEA column type_name for each Databricks type (the connector maps BYTE/SHORT/LONG back to Thrift's
# names: backend/sea/utils/normalize.py).
_TYPE_NAMES = {
    "boolean": "BOOLEAN", "tinyint": "BYTE", "smallint": "SHORT", "int": "INT", "bigint": "LONG",
    "float": "FLOAT", "double": "DOUBLE", "string": "STRING", "binary": "BINARY", "date": "DATE",
    "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP_NTZ", "void": "NULL",
}


@dataclass
class SeaSession:
    session_id: str
    principal: str
    warehouse_id: str
    engine_session: EngineSession


@dataclass
class SeaStatement:
    statement_id: str
    session: SeaSession
    own_session: bool  # opened for this statement alone (no session_id given): closed with it
    statement: str
    format: str
    disposition: str
    lz4: bool
    row_limit: int | None
    state: str = "PENDING"
    result: StatementResult | None = None
    table: pa.Table | None = None
    error: sql_errors.WarehouseSqlError | None = None
    inline: list[list[str | None]] | None = None  # INLINE JSON_ARRAY rows (one chunk)
    done: threading.Event = field(default_factory=threading.Event)


def _parse_wait_timeout(value: object) -> float:
    """``wait_timeout``: ``0s`` or ``5s``..``50s`` (the API reference's bounds)."""
    m = re.fullmatch(r"(\d+)s", str(value if value is not None else "10s"))
    seconds = int(m.group(1)) if m else -1
    if seconds != 0 and not 5 <= seconds <= 50:
        raise errors.bad_request(
            f"wait_timeout must be 0 seconds (asynchronous) or between 5 and 50 seconds, got '{value}'."
        )
    return float(seconds)


def _statement_not_found(statement_id: str) -> Refusal:  # unconfirmed wording (status and code per docs)
    return Refusal(
        404, f"Statement {statement_id} does not exist.", code="STATEMENT_NOT_FOUND",
        error_code="RESOURCE_DOES_NOT_EXIST",
    )


def _session_not_found(session_id: str) -> Refusal:  # unconfirmed wording
    return Refusal(
        404, f"Session {session_id} does not exist or has been closed.", code="SESSION_NOT_FOUND",
        error_code="RESOURCE_DOES_NOT_EXIST",
    )


def _service_error_code(exc: sql_errors.WarehouseSqlError) -> str:
    """The SEA ``ServiceErrorCode`` for a failed statement: ``BAD_REQUEST`` for SQL the warehouse
    refuses (syntax, analysis, permissions), ``INTERNAL_ERROR`` for class 'XX' failures."""
    return "INTERNAL_ERROR" if exc.sqlstate.startswith("XX") else "BAD_REQUEST"


class StatementExecution:
    """Sessions, statements and result links of the Statement Execution API; thread-safe."""

    def __init__(self, engine: Callable[[], WarehouseEngine], *, base_url: str, clock: Clock) -> None:
        self._engine = engine
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._lock = threading.Lock()
        self.sessions: dict[str, SeaSession] = {}
        self.statements: dict[str, SeaStatement] = {}
        self._links: dict[str, tuple[bytes, float]] = {}  # token -> (bytes, expires at)

    # --- sessions ----------------------------------------------------------------------------------

    def create_session(self, principal: str, warehouse_id: str, body: dict[str, Any]) -> dict[str, Any]:
        confs = body.get("session_confs") or {}
        if not isinstance(confs, dict):
            raise errors.bad_request("session_confs must be an object of string values.")
        unknown = sorted(k for k in confs if str(k).upper() not in SESSION_PARAMETERS)
        if unknown:  # unconfirmed wording; the connector never sends these (it filters first)
            raise errors.bad_request(f"Configuration {unknown[0]} is not available.")
        session = self._open(principal, warehouse_id, body.get("catalog"), body.get("schema"))
        for key, value in confs.items():
            session.engine_session.conf[str(key)] = str(value)
        return {"session_id": session.session_id}

    def _open(self, principal: str, warehouse_id: str, catalog: object, schema: object) -> SeaSession:
        try:
            engine_session = self._engine().open_session(
                principal, str(catalog) if catalog else None, str(schema) if schema else None
            )
        except sql_errors.WarehouseSqlError as exc:
            raise errors.bad_request(exc.display_message) from None
        session = SeaSession(str(uuid.uuid4()), principal, warehouse_id, engine_session)
        with self._lock:
            self.sessions[session.session_id] = session
        return session

    def session(self, principal: str, session_id: str) -> SeaSession:
        with self._lock:
            session = self.sessions.get(session_id)
        if session is None or session.principal != principal:
            raise _session_not_found(session_id)
        return session

    def delete_session(self, principal: str, session_id: str) -> dict[str, Any]:
        session = self.session(principal, session_id)
        with self._lock:
            self.sessions.pop(session_id, None)
            closing = [s for s in self.statements.values() if s.session is session]
        for statement in closing:
            self._cancel(statement)
        self._engine().close_session(session.engine_session)
        return {}

    # --- statements --------------------------------------------------------------------------------

    def execute(self, principal: str, warehouse_id: str, body: dict[str, Any]) -> dict[str, Any]:
        text = body.get("statement")
        if not isinstance(text, str) or not text.strip():
            raise errors.bad_request("statement is required.")
        fmt = str(body.get("format") or "JSON_ARRAY").upper()
        disposition = str(body.get("disposition") or "INLINE").upper()
        if fmt not in FORMATS:
            raise errors.bad_request(f"Invalid format: {fmt}.")
        if disposition not in DISPOSITIONS:
            raise errors.bad_request(f"Invalid disposition: {disposition}.")
        if fmt != "JSON_ARRAY" and disposition == "INLINE":
            # API reference (format): ARROW_STREAM and CSV are supported only with EXTERNAL_LINKS.
            raise errors.bad_request(f"{fmt} format is only supported with EXTERNAL_LINKS disposition.")
        if fmt == "CSV":
            raise errors.bad_request(
                "CSV results are not emulated by the sandbox: use JSON_ARRAY or ARROW_STREAM."
            )
        wait = _parse_wait_timeout(body.get("wait_timeout"))
        on_timeout = str(body.get("on_wait_timeout") or "CONTINUE").upper()
        if on_timeout not in ("CONTINUE", "CANCEL"):
            raise errors.bad_request(f"Invalid on_wait_timeout: {on_timeout}.")
        session_id = body.get("session_id")
        if session_id:
            session = self.session(principal, str(session_id))
            if session.warehouse_id != warehouse_id:
                raise errors.bad_request(f"Session {session_id} belongs to another warehouse.")
            own = False
        else:
            session, own = self._open(principal, warehouse_id, body.get("catalog"), body.get("schema")), True
        row_limit = body.get("row_limit")
        parameters = [
            Parameter(name=p.get("name") or None, type=str(p.get("type") or "STRING"), value=p.get("value"))
            for p in body.get("parameters") or []
            if isinstance(p, dict)
        ]
        statement = SeaStatement(
            statement_id=_statement_id(), session=session, own_session=own, statement=text, format=fmt,
            disposition=disposition, lz4=str(body.get("result_compression") or "").upper() == "LZ4_FRAME",
            row_limit=int(row_limit) if isinstance(row_limit, int) and row_limit > 0 else None,
        )
        with self._lock:
            self.statements[statement.statement_id] = statement
        worker = threading.Thread(target=self._run, args=(statement, parameters), name="brickauth-sea-stmt",
                                  daemon=True)
        worker.start()
        if wait and not statement.done.wait(wait) and on_timeout == "CANCEL":
            self._cancel(statement)
        return self.describe(statement)

    def _run(self, statement: SeaStatement, parameters: list[Parameter]) -> None:
        try:
            if statement.state == "CANCELED":
                return
            statement.state = "RUNNING"
            result = self._engine().execute(statement.session.engine_session, statement.statement, parameters)
            table = result.table
            if statement.row_limit is not None and table.num_rows > statement.row_limit:
                table = table.slice(0, statement.row_limit)
            statement.result = result
            statement.table = adapt_arrow(table, timestamps=True, decimals=True, complex_types=True)
            if statement.disposition == "INLINE":
                statement.inline = _json_rows(statement.table)
                if len(json.dumps(statement.inline)) > INLINE_LIMIT_BYTES:
                    # wording recalled from real answers, unconfirmed here
                    raise sql_errors.WarehouseSqlError(
                        None, "Inline byte limit exceeded. Statements executed with disposition=INLINE can "
                        f"have a result size of at most {INLINE_LIMIT_BYTES} bytes. Please use "
                        "disposition=EXTERNAL_LINKS for large result sets.", "54000",
                    )
            if statement.state != "CANCELED":
                statement.state = "SUCCEEDED"
        except sql_errors.WarehouseSqlError as exc:
            statement.error = exc
            if statement.state != "CANCELED":
                statement.state = "FAILED"
        except duckdb.InterruptException:
            statement.state = "CANCELED"
        except Exception as exc:  # never let a statement take the server down
            log.exception("statement failed in the sandbox warehouse (SEA)")
            detail = f"The sandbox warehouse failed: {type(exc).__name__}: {exc}"
            statement.error = sql_errors.internal(detail)
            statement.state = "FAILED"
        finally:
            statement.done.set()
            if statement.own_session:
                self._engine().close_session(statement.session.engine_session)

    def statement(self, principal: str, statement_id: str) -> SeaStatement:
        with self._lock:
            statement = self.statements.get(statement_id)
        if statement is None or statement.session.principal != principal:
            raise _statement_not_found(statement_id)
        return statement

    def cancel(self, principal: str, statement_id: str) -> dict[str, Any]:
        self._cancel(self.statement(principal, statement_id))
        return {}

    def _cancel(self, statement: SeaStatement) -> None:
        if not statement.done.is_set():
            statement.state = "CANCELED"
            statement.session.engine_session.interrupt()

    def close(self, principal: str, statement_id: str) -> dict[str, Any]:
        statement = self.statement(principal, statement_id)
        self._cancel(statement)
        if statement.done.is_set() and statement.state in ("SUCCEEDED", "FAILED"):
            statement.state = "CLOSED"
        statement.table = statement.inline = None  # results are gone once closed
        return {}

    # --- answers -----------------------------------------------------------------------------------

    def describe(self, statement: SeaStatement) -> dict[str, Any]:
        status: dict[str, Any] = {"state": statement.state}
        answer: dict[str, Any] = {"statement_id": statement.statement_id, "status": status}
        if statement.state == "FAILED" and statement.error is not None:
            status["error"] = {"error_code": _service_error_code(statement.error),
                               "message": statement.error.display_message}
            status["sql_state"] = statement.error.sqlstate
        if statement.state != "SUCCEEDED" or statement.table is None or statement.result is None:
            return answer
        answer["manifest"] = self._manifest(statement)
        answer["result"] = self._chunk(statement, 0) if self._chunk_count(statement) else {}
        return answer

    @staticmethod
    def _chunk_rows(statement: SeaStatement) -> int:
        rows = statement.table.num_rows if statement.table is not None else 0
        return max(rows, 1) if statement.disposition == "INLINE" else CHUNK_ROWS

    def _chunk_count(self, statement: SeaStatement) -> int:
        rows = statement.table.num_rows if statement.table is not None else 0
        return (rows + self._chunk_rows(statement) - 1) // self._chunk_rows(statement)

    def _manifest(self, statement: SeaStatement) -> dict[str, Any]:
        assert statement.table is not None and statement.result is not None
        columns = []
        for position, (name, dbx_type) in enumerate(zip(statement.result.columns, statement.result.types,
                                                         strict=True)):
            base = dbx_type.split("(")[0].split("<")[0]
            column: dict[str, Any] = {"name": name, "type_text": sql_type_name(dbx_type),
                                      "type_name": _TYPE_NAMES.get(base, base.upper()), "position": position}
            if base == "decimal":
                precision, scale = (int(x) for x in dbx_type[8:-1].split(","))
                column.update(type_precision=precision, type_scale=scale)
            columns.append(column)
        rows = statement.table.num_rows
        count, size = self._chunk_count(statement), self._chunk_rows(statement)
        manifest: dict[str, Any] = {
            "format": statement.format,
            "schema": {"column_count": len(columns), "columns": columns},
            "total_row_count": rows,
            "total_chunk_count": count,
            "chunks": [
                {"chunk_index": i, "row_offset": i * size, "row_count": min(size, rows - i * size)}
                for i in range(count)
            ],
            "truncated": False,
        }
        if statement.lz4 and statement.format == "ARROW_STREAM":
            manifest["result_compression"] = "LZ4_FRAME"
        return manifest

    def chunk(self, principal: str, statement_id: str, index: int) -> dict[str, Any]:
        statement = self.statement(principal, statement_id)
        if statement.state != "SUCCEEDED" or statement.table is None:
            raise errors.bad_request(
                f"Statement {statement_id} has no result to fetch (state {statement.state})."
            )
        if not 0 <= index < self._chunk_count(statement):
            raise errors.bad_request(f"Chunk index {index} is out of range for statement {statement_id}.")
        return self._chunk(statement, index)

    def _chunk(self, statement: SeaStatement, index: int) -> dict[str, Any]:
        assert statement.table is not None and statement.result is not None
        size = self._chunk_rows(statement)
        rows = statement.table.slice(index * size, size)
        info: dict[str, Any] = {"chunk_index": index, "row_offset": index * size, "row_count": rows.num_rows}
        if index + 1 < self._chunk_count(statement):
            info["next_chunk_index"] = index + 1
            info["next_chunk_internal_link"] = (
                f"/api/2.0/sql/statements/{statement.statement_id}/result/chunks/{index + 1}"
            )
        if statement.disposition == "INLINE":
            return info | {"data_array": statement.inline or []}
        if statement.format == "ARROW_STREAM":
            payload = _arrow_stream(rows)
        else:  # JSON_ARRAY with EXTERNAL_LINKS: the chunk is a JSON array of rows
            payload = json.dumps(_json_rows(rows)).encode()
        size = len(payload)
        if statement.lz4 and statement.format == "ARROW_STREAM":
            import lz4.frame as lz4_frame  # type: ignore[import-untyped, unused-ignore]

            payload = lz4_frame.compress(payload)
        token = secrets.token_urlsafe(32)
        expires = self.clock.now() + LINK_TTL_SECONDS
        with self._lock:
            self._links[token] = (payload, expires)
        link = info | {
            "byte_count": size,
            "external_link": f"{self.base_url}{RESULTS_PREFIX}{token}",
            "expiration": datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return {"external_links": [link]}

    def download(self, token: str) -> bytes | None:
        """The bytes behind a result link, or None when unknown or expired (cloud storage says 403)."""
        with self._lock:
            entry = self._links.get(token)
            if entry is not None and entry[1] <= self.clock.now():
                del self._links[token]
                entry = None
        return entry[0] if entry else None


def _statement_id() -> str:
    # Databricks statement ids look like 01ef2b3c-1234-1a2b-8c3d-0123456789ab (a time-based UUID).
    return str(uuid.uuid1())


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns, strict=True)) if columns else []


def _arrow_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _json_rows(table: pa.Table) -> list[list[str | None]]:
    return [[_json_value(v) for v in row] for row in _rows(table)]


def _json_value(value: Any) -> str | None:
    """A JSON_ARRAY cell: every value is a string (the connector converts by the column's type_name:
    backend/sea/utils/conversion.py; BINARY is hex there, timestamps ISO-8601)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment: datetime = value
        zone = ""
        if moment.tzinfo is not None:  # a TIMESTAMP: the instant, in UTC
            moment, zone = moment.astimezone(timezone.utc).replace(tzinfo=None), "Z"
        precision = "seconds" if not moment.microsecond else (
            "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
        )
        return moment.isoformat(timespec=precision) + zone
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(_jsonable(value), separators=(",", ":"), default=str)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {str(k): _jsonable(v) for k, v in value}  # a map arrives as (key, value) pairs
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value
