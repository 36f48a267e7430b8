"""Answers to the Thrift metadata calls (GetCatalogs, GetSchemas, GetTables, GetColumns).

Names and patterns follow JDBC ``DatabaseMetaData``: ``%`` any characters, ``_`` one, None all.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from brickauth_sandbox.warehouse.catalog import RelationInfo
from brickauth_sandbox.warehouse.results import StatementResult, rows_result, sql_type_name
from brickauth_sandbox.warehouse.translate import INFORMATION_SCHEMA

if TYPE_CHECKING:
    from brickauth_sandbox.warehouse.engine import EngineSession, WarehouseEngine

_JDBC_TYPES = {
    "boolean": 16,
    "tinyint": -6,
    "smallint": 5,
    "int": 4,
    "bigint": -5,
    "float": 6,
    "double": 8,
    "string": 12,
    "binary": -2,
    "date": 91,
    "timestamp": 93,
    "timestamp_ntz": 93,
    "void": 0,
    "array": 2003,  # java.sql.Types.ARRAY
    "map": 2000,  # JAVA_OBJECT
    "struct": 2002,  # STRUCT
}


def _matcher(pattern: str | None) -> re.Pattern[str]:
    if pattern is None or pattern in ("", "*", "%"):
        return re.compile(".*", re.S)
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.I | re.S)


def catalogs_result(engine: WarehouseEngine, session: EngineSession) -> StatementResult:
    with engine._lock:
        names = sorted(engine.metastore.catalogs)
    return rows_result([("TABLE_CAT", "string")], [(n,) for n in names])


def schemas_result(
    engine: WarehouseEngine, session: EngineSession, catalog: str | None, schema: str | None
) -> StatementResult:
    cat_match, schema_match = _matcher(catalog), _matcher(schema)
    rows: list[tuple[Any, ...]] = []
    with engine._lock:
        for cat in sorted(engine.metastore.catalogs):
            if not cat_match.match(cat):
                continue
            names = [s.name for s in engine.metastore.schemas_in(cat)] + [INFORMATION_SCHEMA]
            rows += [(s, cat) for s in sorted(names) if schema_match.match(s)]
    return rows_result([("TABLE_SCHEM", "string"), ("TABLE_CATALOG", "string")], rows)


def _relations(
    engine: WarehouseEngine, catalog: str | None, schema: str | None, table: str | None
) -> list[RelationInfo]:
    cat_match, schema_match, table_match = _matcher(catalog), _matcher(schema), _matcher(table)
    with engine._lock:
        return [
            r
            for (c, s, t), r in sorted(engine.metastore.relations.items())
            if cat_match.match(c) and schema_match.match(s) and table_match.match(t)
        ]


def tables_result(
    engine: WarehouseEngine,
    session: EngineSession,
    catalog: str | None,
    schema: str | None,
    table: str | None,
    table_types: list[str] | None,
) -> StatementResult:
    wanted = {t.upper() for t in table_types} if table_types else None
    rows = []
    for r in _relations(engine, catalog, schema, table):
        kind = "VIEW" if r.type == "VIEW" else "TABLE"
        if wanted is not None and kind not in wanted:
            continue
        rows.append((r.catalog, r.schema, r.name, kind, r.comment or "", None, None, None, None, None))
    columns = [
        ("TABLE_CAT", "string"),
        ("TABLE_SCHEM", "string"),
        ("TABLE_NAME", "string"),
        ("TABLE_TYPE", "string"),
        ("REMARKS", "string"),
        ("TYPE_CAT", "string"),
        ("TYPE_SCHEM", "string"),
        ("TYPE_NAME", "string"),
        ("SELF_REFERENCING_COL_NAME", "string"),
        ("REF_GENERATION", "string"),
    ]
    return rows_result(columns, rows)


def columns_result(
    engine: WarehouseEngine,
    session: EngineSession,
    catalog: str | None,
    schema: str | None,
    table: str | None,
    column: str | None,
) -> StatementResult:
    column_match = _matcher(column)
    rows = []
    for r in _relations(engine, catalog, schema, table):
        for position, (name, dbx_type) in enumerate(engine.columns_of(r)):
            if not column_match.match(name):
                continue
            base = dbx_type.split("(")[0].split("<")[0]
            jdbc = 3 if base == "decimal" else _JDBC_TYPES.get(base, 2000 if "<" in dbx_type else 12)
            size, digits = None, None
            if base == "decimal":
                size, digits = (int(x) for x in dbx_type[8:-1].split(","))
            rows.append(
                (
                    r.catalog,
                    r.schema,
                    r.name,
                    name,
                    jdbc,
                    sql_type_name(dbx_type),
                    size,
                    None,
                    digits,
                    None,
                    1,
                    r.column_comments.get(name.lower(), ""),
                    None,
                    None,
                    None,
                    None,
                    position,
                    "YES",
                    None,
                    None,
                    None,
                    None,
                    "NO",
                )
            )
    columns = [
        ("TABLE_CAT", "string"),
        ("TABLE_SCHEM", "string"),
        ("TABLE_NAME", "string"),
        ("COLUMN_NAME", "string"),
        ("DATA_TYPE", "int"),
        ("TYPE_NAME", "string"),
        ("COLUMN_SIZE", "int"),
        ("BUFFER_LENGTH", "tinyint"),
        ("DECIMAL_DIGITS", "int"),
        ("NUM_PREC_RADIX", "int"),
        ("NULLABLE", "int"),
        ("REMARKS", "string"),
        ("COLUMN_DEF", "string"),
        ("SQL_DATA_TYPE", "int"),
        ("SQL_DATETIME_SUB", "int"),
        ("CHAR_OCTET_LENGTH", "int"),
        ("ORDINAL_POSITION", "int"),
        ("IS_NULLABLE", "string"),
        ("SCOPE_CATALOG", "string"),
        ("SCOPE_SCHEMA", "string"),
        ("SCOPE_TABLE", "string"),
        ("SOURCE_DATA_TYPE", "smallint"),
        ("IS_AUTO_INCREMENT", "string"),
    ]
    return rows_result(columns, rows)
