"""Statement results as Arrow tables with the Databricks SQL type of each column."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]


@dataclass
class StatementResult:
    table: pa.Table
    types: list[str]  # Databricks SQL type names: "int", "string", "decimal(10,2)", "array<int>"...
    modified_rows: int | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)


def empty_result() -> StatementResult:
    return StatementResult(pa.table({}), [])


def rows_result(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> StatementResult:
    """A result from Python rows; ``columns`` are (name, Databricks type)."""
    arrays = []
    for index, (_, dbx_type) in enumerate(columns):
        arrays.append(pa.array([row[index] for row in rows], type=arrow_type_for(dbx_type)))
    table = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
    return StatementResult(table, [t for _, t in columns])


def arrow_type_for(dbx_type: str) -> pa.DataType:
    simple: dict[str, pa.DataType] = {
        "string": pa.string(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "smallint": pa.int16(),
        "tinyint": pa.int8(),
        "boolean": pa.bool_(),
        "double": pa.float64(),
        "float": pa.float32(),
        "timestamp": pa.timestamp("us", tz="Etc/UTC"),
        "timestamp_ntz": pa.timestamp("us"),
        "date": pa.date32(),
        "binary": pa.binary(),
        "void": pa.null(),
    }
    if dbx_type in simple:
        return simple[dbx_type]
    m = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", dbx_type)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    return pa.string()


def databricks_type(arrow: pa.DataType) -> str:
    """The Databricks SQL type name Databricks would report for a column of this Arrow type."""
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_int8(arrow) or pa.types.is_uint8(arrow):
        return "tinyint"
    if pa.types.is_int16(arrow) or pa.types.is_uint16(arrow):
        return "smallint"
    if pa.types.is_int32(arrow) or pa.types.is_uint32(arrow):
        return "int"
    if pa.types.is_int64(arrow) or pa.types.is_uint64(arrow):
        return "bigint"
    if pa.types.is_float32(arrow):
        return "float"
    if pa.types.is_floating(arrow):
        return "double"
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow):
        return "string"
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow) or pa.types.is_fixed_size_binary(arrow):
        return "binary"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow):
        return "timestamp" if arrow.tz else "timestamp_ntz"
    if pa.types.is_null(arrow):
        return "void"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow) or pa.types.is_fixed_size_list(arrow):
        return f"array<{databricks_type(arrow.value_type)}>"
    if pa.types.is_map(arrow):
        return f"map<{databricks_type(arrow.key_type)},{databricks_type(arrow.item_type)}>"
    if pa.types.is_struct(arrow):
        fields = ",".join(f"{f.name}:{databricks_type(f.type)}" for f in arrow)
        return f"struct<{fields}>"
    return "string"


def sql_type_name(dbx_type: str) -> str:
    """Spark's ``DataType.sql`` for a catalog string (what GetColumns reports as TYPE_NAME):
    ``struct<name:string,age:int>`` -> ``STRUCT<name: STRING, age: INT>``, ``map<string,int>`` ->
    ``MAP<STRING, INT>``, ``array<string>`` -> ``ARRAY<STRING>``, ``decimal(10,2)`` -> ``DECIMAL(10,2)``."""
    text = dbx_type.strip()
    lower = text.lower()
    if lower.startswith("array<") and text.endswith(">"):
        return f"ARRAY<{sql_type_name(text[6:-1])}>"
    if lower.startswith("map<") and text.endswith(">"):
        key, value = _split_top(text[4:-1], "<(", ">)")
        return f"MAP<{sql_type_name(key)}, {sql_type_name(value)}>"
    if lower.startswith("struct<") and text.endswith(">"):
        fields = []
        for part in _split_top(text[7:-1], "<(", ">)"):
            name, _, ftype = part.partition(":")
            name = name.strip().strip("`")
            quoted = name if re.fullmatch(r"[A-Za-z_]\w*", name) else "`" + name.replace("`", "``") + "`"
            fields.append(f"{quoted}: {sql_type_name(ftype)}")
        return "STRUCT<" + ", ".join(fields) + ">"
    return text.upper()


_DUCK_SIMPLE = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "UTINYINT": "smallint",
    "SMALLINT": "smallint",
    "USMALLINT": "int",
    "INTEGER": "int",
    "UINTEGER": "bigint",
    "BIGINT": "bigint",
    "UBIGINT": "decimal(20,0)",
    "HUGEINT": "decimal(38,0)",
    "FLOAT": "float",
    "DOUBLE": "double",
    "VARCHAR": "string",
    "BLOB": "binary",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP": "timestamp_ntz",
    "TIMESTAMP_NS": "timestamp_ntz",
    "TIMESTAMP_MS": "timestamp_ntz",
    "TIMESTAMP_S": "timestamp_ntz",
    "UUID": "string",
    "INTERVAL": "interval day to second",
    '"NULL"': "void",
    "NULL": "void",
}


def databricks_type_from_duckdb(duck: str) -> str:
    """``DECIMAL(10,2)`` -> ``decimal(10,2)``, ``INTEGER[]`` -> ``array<int>``, ``STRUCT(a INTEGER)``..."""
    duck = duck.strip()
    if duck in _DUCK_SIMPLE:
        return _DUCK_SIMPLE[duck]
    if duck.endswith("[]"):
        return f"array<{databricks_type_from_duckdb(duck[:-2])}>"
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duck)
    if m:
        return f"decimal({m.group(1)},{m.group(2)})"
    if duck.startswith("MAP(") and duck.endswith(")"):
        key, value = _split_top(duck[4:-1])
        return f"map<{databricks_type_from_duckdb(key)},{databricks_type_from_duckdb(value)}>"
    if duck.startswith("STRUCT(") and duck.endswith(")"):
        fields = []
        for part in _split_top(duck[7:-1]):
            name, _, ftype = part.strip().partition(" ")
            fields.append(f"{name.strip(chr(34))}:{databricks_type_from_duckdb(ftype)}")
        return "struct<" + ",".join(fields) + ">"
    return "string"


def _split_top(text: str, opening: str = "([", closing: str = ")]") -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in opening:
            depth += 1
        elif ch in closing:
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _to_json_strings(array: pa.ChunkedArray) -> pa.Array:
    return pa.array(
        [None if v is None else json.dumps(v, default=str, separators=(",", ":")) for v in array.to_pylist()],
        type=pa.string(),
    )


def adapt_arrow(table: pa.Table, *, timestamps: bool, decimals: bool, complex_types: bool) -> pa.Table:
    """The result as a client asked for it: columns it cannot take natively (Thrift's
    ``useArrowNativeTypes``) become strings; intervals, durations and times always do."""
    columns, fields = [], []
    for field_, column in zip(table.schema, table.columns, strict=True):
        t = field_.type
        if pa.types.is_interval(t) or pa.types.is_duration(t) or pa.types.is_time(t):
            column, t = (
                pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string()),
                pa.string(),
            )
        elif pa.types.is_timestamp(t) and not timestamps:
            column, t = column.cast(pa.string()), pa.string()
        elif pa.types.is_decimal(t) and not decimals:
            column, t = column.cast(pa.string()), pa.string()
        elif (pa.types.is_nested(t)) and not complex_types:
            column, t = _to_json_strings(column), pa.string()
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            column, t = column.cast(pa.string()), pa.string()
        columns.append(column)
        fields.append(pa.field(field_.name, t))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
