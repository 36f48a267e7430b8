"""Unity Catalog's ``information_schema`` views, built from the engine's metastore on each query.

``<catalog>.information_schema.<view>`` lists that catalog's objects, ``system.information_schema.<view>``
all of them. Each query gets an Arrow table registered on its session's connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from sqlglot import exp

from brickauth_sandbox.warehouse import errors
from brickauth_sandbox.warehouse.translate import SYSTEM_CATALOG, Name

if TYPE_CHECKING:
    from brickauth_sandbox.warehouse.engine import WarehouseEngine, _Ctx

S, L, B, T = pa.string(), pa.int64(), pa.bool_(), pa.timestamp("us", tz="Etc/UTC")

_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "catalogs": [
        ("catalog_name", S),
        ("catalog_owner", S),
        ("comment", S),
        ("created", T),
        ("created_by", S),
        ("last_altered", T),
        ("last_altered_by", S),
    ],
    "schemata": [
        ("catalog_name", S),
        ("schema_name", S),
        ("schema_owner", S),
        ("comment", S),
        ("created", T),
        ("created_by", S),
        ("last_altered", T),
        ("last_altered_by", S),
    ],
    "tables": [
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("table_type", S),
        ("is_insertable_into", S),
        ("commit_action", S),
        ("table_owner", S),
        ("comment", S),
        ("created", T),
        ("created_by", S),
        ("last_altered", T),
        ("last_altered_by", S),
        ("data_source_format", S),
        ("storage_sub_directory", S),
        ("storage_path", S),
    ],
    "views": [
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("view_definition", S),
        ("check_option", S),
        ("is_updatable", S),
        ("is_insertable_into", S),
        ("sql_path", S),
        ("is_materialized", S),
    ],
    "columns": [
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("column_name", S),
        ("ordinal_position", L),
        ("column_default", S),
        ("is_nullable", S),
        ("full_data_type", S),
        ("data_type", S),
        ("character_maximum_length", L),
        ("character_octet_length", L),
        ("numeric_precision", L),
        ("numeric_precision_radix", L),
        ("numeric_scale", L),
        ("datetime_precision", L),
        ("interval_type", S),
        ("interval_precision", L),
        ("maximum_cardinality", L),
        ("is_identity", S),
        ("identity_generation", S),
        ("identity_start", S),
        ("identity_increment", S),
        ("identity_maximum", S),
        ("identity_minimum", S),
        ("identity_cycle", S),
        ("is_generated", S),
        ("generation_expression", S),
        ("is_system_time_period_start", S),
        ("is_system_time_period_end", S),
        ("system_time_period_timestamp_generation", S),
        ("is_updatable", S),
        ("partition_index", L),
        ("comment", S),
    ],
    "table_tags": [
        ("catalog_name", S),
        ("schema_name", S),
        ("table_name", S),
        ("tag_name", S),
        ("tag_value", S),
    ],
    "column_tags": [
        ("catalog_name", S),
        ("schema_name", S),
        ("table_name", S),
        ("column_name", S),
        ("tag_name", S),
        ("tag_value", S),
    ],
    "schema_tags": [("catalog_name", S), ("schema_name", S), ("tag_name", S), ("tag_value", S)],
    "catalog_tags": [("catalog_name", S), ("tag_name", S), ("tag_value", S)],
    "table_privileges": [
        ("grantor", S),
        ("grantee", S),
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("privilege_type", S),
        ("is_grantable", S),
        ("inherited_from", S),
    ],
    "schema_privileges": [
        ("grantor", S),
        ("grantee", S),
        ("catalog_name", S),
        ("schema_name", S),
        ("privilege_type", S),
        ("is_grantable", S),
        ("inherited_from", S),
    ],
    "table_constraints": [
        ("constraint_catalog", S),
        ("constraint_schema", S),
        ("constraint_name", S),
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("constraint_type", S),
        ("is_deferrable", S),
        ("initially_deferred", S),
        ("enforced", S),
        ("comment", S),
    ],
    "key_column_usage": [
        ("constraint_catalog", S),
        ("constraint_schema", S),
        ("constraint_name", S),
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("column_name", S),
        ("ordinal_position", L),
        ("position_in_unique_constraint", L),
    ],
    "referential_constraints": [
        ("constraint_catalog", S),
        ("constraint_schema", S),
        ("constraint_name", S),
        ("unique_constraint_catalog", S),
        ("unique_constraint_schema", S),
        ("unique_constraint_name", S),
        ("match_option", S),
        ("update_rule", S),
        ("delete_rule", S),
    ],
    "constraint_column_usage": [
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("column_name", S),
        ("constraint_catalog", S),
        ("constraint_schema", S),
        ("constraint_name", S),
    ],
    "constraint_table_usage": [
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("constraint_catalog", S),
        ("constraint_schema", S),
        ("constraint_name", S),
    ],
    "row_filters": [
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("filter_catalog", S),
        ("filter_schema", S),
        ("filter_name", S),
        ("target_columns", S),
    ],
    "column_masks": [
        ("table_catalog", S),
        ("table_schema", S),
        ("table_name", S),
        ("column_name", S),
        ("mask_catalog", S),
        ("mask_schema", S),
        ("mask_name", S),
        ("using_columns", S),
    ],
    "routines": [
        ("specific_catalog", S),
        ("specific_schema", S),
        ("specific_name", S),
        ("routine_catalog", S),
        ("routine_schema", S),
        ("routine_name", S),
        ("routine_type", S),
        ("data_type", S),
        ("routine_definition", S),
        ("comment", S),
    ],
    "volumes": [
        ("volume_catalog", S),
        ("volume_schema", S),
        ("volume_name", S),
        ("volume_type", S),
        ("volume_owner", S),
        ("comment", S),
        ("storage_location", S),
    ],
}


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=timezone.utc)


def _numeric(dbx_type: str) -> tuple[int | None, int | None, int | None]:
    """(numeric_precision, radix, scale) as Unity Catalog reports them."""
    if dbx_type.startswith("decimal("):
        precision, scale = dbx_type[8:-1].split(",")
        return int(precision), 10, int(scale)
    bits = {"tinyint": 8, "smallint": 16, "int": 32, "bigint": 64}
    if dbx_type in bits:
        return bits[dbx_type] - 1, 2, 0
    if dbx_type in ("float", "double"):
        return {"float": 24, "double": 53}[dbx_type], 2, None
    return None, None, None


class InformationSchema:
    def __init__(self, engine: WarehouseEngine) -> None:
        self._engine = engine
        self._builders: dict[str, Callable[[list[str]], list[Sequence[Any]]]] = {
            "catalogs": self._catalogs,
            "schemata": self._schemata,
            "tables": self._tables,
            "views": self._views,
            "columns": self._columns,
        }

    def source(self, ctx: _Ctx, name: Name) -> exp.Expression:
        """``SELECT * FROM <registered Arrow table>`` standing in for ``name``."""
        view = name.table
        if view not in _COLUMNS:
            raise errors.table_not_found(*name.parts)
        engine = self._engine
        with engine._lock:
            if name.catalog == SYSTEM_CATALOG:
                catalogs = sorted(engine.metastore.catalogs)
            elif name.catalog in engine.metastore.catalogs:
                catalogs = [name.catalog]
            else:
                raise errors.catalog_not_found(name.catalog)
            builder = self._builders.get(view)
            rows = builder(catalogs) if builder else []
        columns = _COLUMNS[view]
        arrays = [pa.array([row[i] for row in rows], type=t) for i, (_, t) in enumerate(columns)]
        table = pa.Table.from_arrays(arrays, names=[c for c, _ in columns])
        registered = engine.register(ctx, table)
        return exp.select("*").from_(exp.to_identifier(registered, quoted=True))

    def _catalogs(self, catalogs: list[str]) -> list[Sequence[Any]]:
        ms = self._engine.metastore
        return [
            (c.name, c.owner, c.comment, _ts(c.created_at), c.owner, _ts(c.created_at), c.owner)
            for name in catalogs
            for c in [ms.catalogs[name]]
        ]

    def _schemata(self, catalogs: list[str]) -> list[Sequence[Any]]:
        ms = self._engine.metastore
        rows: list[Sequence[Any]] = []
        for catalog in catalogs:
            for s in ms.schemas_in(catalog):
                created = _ts(s.created_at)
                rows.append(
                    (catalog, s.name, s.owner, s.comment, created, s.created_by, created, s.created_by)
                )
            rows.append(
                (
                    catalog,
                    "information_schema",
                    "System user",
                    "Information schema (auto-created)",
                    None,
                    "System user",
                    None,
                    "System user",
                )
            )
        return rows

    def _tables(self, catalogs: list[str]) -> list[Sequence[Any]]:
        ms = self._engine.metastore
        rows: list[Sequence[Any]] = []
        for catalog in catalogs:
            for (c, _, _), r in sorted(ms.relations.items()):
                if c != catalog:
                    continue
                rows.append(
                    (
                        r.catalog,
                        r.schema,
                        r.name,
                        r.type,
                        "NO" if r.type == "VIEW" else "YES",
                        "PRESERVE",
                        r.owner,
                        r.comment,
                        _ts(r.created_at),
                        r.created_by,
                        _ts(r.last_altered_at),
                        r.last_altered_by,
                        None if r.type == "VIEW" else (r.provider or "delta").upper(),
                        None,
                        None if r.type == "VIEW" else self._engine._location(r),
                    )
                )
        return rows

    def _views(self, catalogs: list[str]) -> list[Sequence[Any]]:
        ms = self._engine.metastore
        return [
            (r.catalog, r.schema, r.name, r.view_text, "NONE", "NO", "NO", None, "FALSE")
            for (c, _, _), r in sorted(ms.relations.items())
            if c in catalogs and r.type == "VIEW"
        ]

    def _columns(self, catalogs: list[str]) -> list[Sequence[Any]]:
        ms = self._engine.metastore
        rows: list[Sequence[Any]] = []
        for (c, _, _), r in sorted(ms.relations.items()):
            if c not in catalogs:
                continue
            for position, (column, dbx_type) in enumerate(self._engine.columns_of(r)):
                precision, radix, scale = _numeric(dbx_type)
                data_type = dbx_type.split("(")[0].split("<")[0].upper()
                data_type = {"INT": "INT", "BIGINT": "LONG", "SMALLINT": "SHORT", "TINYINT": "BYTE"}.get(
                    data_type, data_type
                )
                rows.append(
                    (
                        r.catalog,
                        r.schema,
                        r.name,
                        column,
                        position,
                        None,
                        "YES",
                        dbx_type,
                        data_type,
                        None,
                        None,
                        precision,
                        radix,
                        scale,
                        None,
                        None,
                        None,
                        None,
                        "NO",
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        "NO",
                        None,
                        "NO",
                        "NO",
                        None,
                        "YES",
                        None,
                        r.column_comments.get(column.lower()),
                    )
                )
        return rows
