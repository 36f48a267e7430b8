"""The warehouse engine: Databricks SQL on DuckDB, Unity Catalog names, ownership, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from brickauth_sandbox.warehouse.engine import EngineSession, WarehouseEngine
from brickauth_sandbox.warehouse.errors import WarehouseSqlError
from brickauth_sandbox.warehouse.translate import Parameter

ALICE = "alice@contoso.com"
BOB = "bob@contoso.com"
SP = "6a1f0f6e-1111-4d6a-9a3e-5b2a7c1d0e11"


@pytest.fixture
def engine() -> Iterator[WarehouseEngine]:
    eng = WarehouseEngine()
    yield eng
    eng.close()


def rows(engine: WarehouseEngine, session: EngineSession, sql: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = engine.execute(session, sql).table.to_pylist()
    return result


def failure(engine: WarehouseEngine, session: EngineSession, sql: str) -> WarehouseSqlError:
    with pytest.raises(WarehouseSqlError) as info:
        engine.execute(session, sql)
    return info.value


def test_select_literal_and_types(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE)
    result = engine.execute(
        s, "select 1 as id, 'a' as s, cast(2 as bigint) as b, 1.5 as d, true as f, null as n"
    )
    assert result.table.to_pylist() == [
        {"id": 1, "s": "a", "b": 2, "d": pytest.approx(1.5), "f": True, "n": None}
    ]
    assert result.types == ["int", "string", "bigint", "decimal(2,1)", "boolean", "void"]


def test_session_functions_are_the_principal_and_namespace(engine: WarehouseEngine) -> None:
    s = engine.open_session(SP, "hive_metastore", "default")
    result = engine.execute(
        s, "select current_user(), current_catalog(), current_schema(), current_database()"
    )
    assert result.columns == ["current_user()", "current_catalog()", "current_schema()", "current_schema()"]
    assert list(result.table.to_pylist()[0].values())[:1] == [SP]
    row = engine.execute(s, "select current_user() as u, current_catalog() as c, current_database() as d")
    assert row.table.to_pylist() == [{"u": SP, "c": "hive_metastore", "d": "default"}]
    version = rows(engine, s, "select current_version() as v")[0]["v"]
    assert set(version) >= {"dbsql_version", "dbr_version"}


def test_three_level_names_catalogs_and_use(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE)
    engine.execute(s, "create schema if not exists `main`.`sales`")
    engine.execute(s, "create table main.sales.orders as select 1 as id")
    engine.execute(s, "create table hive_metastore.default.orders as select 2 as id")
    assert rows(engine, s, "select id from `main`.`sales`.`orders`") == [{"id": 1}]
    assert rows(engine, s, "select id from hive_metastore.default.orders") == [{"id": 2}]
    engine.execute(s, "use schema sales")
    assert rows(engine, s, "select id from orders") == [{"id": 1}]
    engine.execute(s, "use catalog hive_metastore")
    assert rows(engine, s, "select id from orders") == [{"id": 2}]
    assert rows(engine, s, "select current_catalog() as c, current_schema() as s") == [
        {"c": "hive_metastore", "s": "default"}
    ]
    err = failure(engine, s, "use catalog nope")
    assert err.display_message.startswith("[NO_SUCH_CATALOG_EXCEPTION] Catalog 'nope' was not found.")


def test_owner_only_may_replace_or_write(engine: WarehouseEngine) -> None:
    alice, bob = engine.open_session(ALICE), engine.open_session(BOB)
    engine.execute(alice, "create or replace table main.default.t using delta as select 1 as id")
    assert engine.owner_of("main.default.t") == ALICE
    expected = "PERMISSION_DENIED: User is not an owner of Table 'main.default.t'."
    for sql in (
        "create or replace table main.default.t as select 2 as id",
        "insert into main.default.t values (3)",
        "alter table main.default.t set tblproperties ('a' = 'b')",
        "drop table main.default.t",
        "delete from main.default.t",
    ):
        err = failure(engine, bob, sql)
        assert err.display_message == expected, sql
        assert err.sqlstate == "42501"
    assert rows(engine, bob, "select id from main.default.t") == [{"id": 1}]  # reading is allowed
    engine.execute(alice, "insert into main.default.t values (4)")
    assert sorted(r["id"] for r in rows(engine, alice, "select id from main.default.t")) == [1, 4]


def test_authorize_hook_decides_privileges(engine: WarehouseEngine) -> None:
    grants = {(BOB, "USE CATALOG", "main"), (BOB, "USE SCHEMA", "main.default")}
    asked: list[tuple[str, str, str, str]] = []

    def authorize(principal: str, privilege: str, kind: str, name: str) -> bool:
        asked.append((principal, privilege, kind, name))
        return principal == ALICE or (principal, privilege, name) in grants

    engine.authorize = authorize
    alice, bob = engine.open_session(ALICE), engine.open_session(BOB)
    engine.execute(alice, "create table main.default.t as select 1 as id")
    err = failure(engine, bob, "select * from main.default.t")
    assert err.display_message == (
        "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have SELECT on Table "
        "'main.default.t'. SQLSTATE: 42501"
    )
    grants.add((BOB, "SELECT", "main.default.t"))
    assert rows(engine, bob, "select id from main.default.t") == [{"id": 1}]
    grants.add((BOB, "MODIFY", "main.default.t"))
    engine.execute(bob, "insert into main.default.t values (2)")  # MODIFY lets a non-owner write
    assert (BOB, "MODIFY", "TABLE", "main.default.t") in asked
    err = failure(engine, bob, "create table main.default.u as select 1 as id")
    assert "User does not have CREATE TABLE on Schema 'main.default'" in err.display_message


def test_errors_are_databricks_shaped(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE)
    err = failure(engine, s, "select * from nope")
    assert err.error_class == "TABLE_OR_VIEW_NOT_FOUND"
    assert err.display_message.startswith(
        "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`default`.`nope`"
    )
    assert "SQLSTATE: 42P01" in err.display_message
    err = failure(engine, s, "selec 1")
    assert err.display_message.startswith("[PARSE_SYNTAX_ERROR] Syntax error at or near")
    assert "SQLSTATE: 42601" in err.display_message and err.sqlstate == "42601"
    engine.execute(s, "create table t as select 1 as id")
    err = failure(engine, s, "select nope from t")
    assert err.display_message.startswith(
        "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `nope` "
        "cannot be resolved. Did you mean one of the following? [`id`]."
    )
    err = failure(engine, s, "select no_such_function(1)")
    assert err.error_class == "UNRESOLVED_ROUTINE"
    err = failure(engine, s, "create table t as select 2 as id")
    assert err.error_class == "TABLE_OR_VIEW_ALREADY_EXISTS"
    err = failure(engine, s, "create table nope.t as select 1 as id")
    assert err.error_class == "SCHEMA_NOT_FOUND"
    err = failure(engine, s, "frobnicate the warehouse")
    assert err.display_message.endswith("SQLSTATE: 42601" + err.context)
    err = failure(engine, s, "optimize t; select 1")
    assert err.error_class == "PARSE_SYNTAX_ERROR"
    err = failure(engine, s, "show grants on table t")
    assert err.error_class == "UNSUPPORTED_FEATURE.SANDBOX" and err.sqlstate == "0A000"
    assert err.error_message.startswith(
        "org.apache.hive.service.cli.HiveSQLException: Error running query: ["
    )


def test_dbt_relation_listing_and_description(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE)
    assert rows(engine, s, "SHOW SCHEMAS IN `main`") == [
        {"databaseName": "default"},
        {"databaseName": "information_schema"},
    ]
    engine.execute(s, "create schema if not exists `main`.`dbt_ci`")
    engine.execute(
        s,
        "create or replace table `main`.`dbt_ci`.`customers` using delta comment 'people' "
        "tblproperties ('quality' = 'gold') as select 1 as customer_id, 'Ada' as name",
    )
    engine.execute(
        s,
        "create or replace view `main`.`dbt_ci`.`v` as (select customer_id from `main`.`dbt_ci`.`customers`)",
    )
    listing = rows(
        engine,
        s,
        """SELECT table_name,
             if(table_type IN ('EXTERNAL', 'MANAGED'), 'table', lower(table_type)) AS table_type,
             lower(data_source_format) AS file_format, table_owner
           FROM `system`.`information_schema`.`tables`
           WHERE table_catalog = 'main' AND table_schema = 'dbt_ci'""",
    )
    assert sorted(listing, key=lambda r: r["table_name"]) == [
        {"table_name": "customers", "table_type": "table", "file_format": "delta", "table_owner": ALICE},
        {"table_name": "v", "table_type": "view", "file_format": None, "table_owner": ALICE},
    ]
    assert rows(engine, s, "show tables in `main`.`dbt_ci`") == [
        {"database": "dbt_ci", "tableName": "customers", "isTemporary": False},
        {"database": "dbt_ci", "tableName": "v", "isTemporary": False},
    ]
    assert [r["viewName"] for r in rows(engine, s, "show views in `main`.`dbt_ci`")] == ["v"]
    extended = rows(engine, s, "show table extended in `main`.`dbt_ci` like '*'")
    info = {r["tableName"]: r["information"] for r in extended}
    assert "Type: MANAGED\n" in info["customers"] and "Provider: delta\n" in info["customers"]
    assert f"Owner: {ALICE}\n" in info["customers"] and "Type: VIEW\n" in info["v"]
    described = rows(engine, s, "describe table extended `main`.`dbt_ci`.`customers`")
    assert described[:2] == [
        {"col_name": "customer_id", "data_type": "int", "comment": None},
        {"col_name": "name", "data_type": "string", "comment": None},
    ]
    details = {r["col_name"]: r["data_type"] for r in described[3:]}
    assert details["Owner"] == ALICE and details["Type"] == "MANAGED" and details["Comment"] == "people"
    doc = json.loads(
        rows(engine, s, "describe table extended `main`.`dbt_ci`.`customers` as json")[0]["json_metadata"]
    )
    assert doc["columns"][0] == {"name": "customer_id", "type": {"name": "int"}, "nullable": True}
    assert doc["table_properties"]["quality"] == "gold"
    engine.execute(s, "alter table `main`.`dbt_ci`.`customers` set tblproperties ('quality' = 'silver')")
    props = {r["key"]: r["value"] for r in rows(engine, s, "show tblproperties `main`.`dbt_ci`.`customers`")}
    assert props["quality"] == "silver"
    engine.execute(s, "comment on table `main`.`dbt_ci`.`customers` is 'customers'")
    engine.execute(s, "alter table `main`.`dbt_ci`.`customers` alter column name comment 'full name'")
    columns = rows(
        engine,
        s,
        "select column_name, full_data_type, comment from `main`.`information_schema`.`columns` "
        "where table_schema = 'dbt_ci' and table_name = 'customers' order by ordinal_position",
    )
    assert columns == [
        {"column_name": "customer_id", "full_data_type": "int", "comment": None},
        {"column_name": "name", "full_data_type": "string", "comment": "full name"},
    ]
    comment = rows(
        engine, s, "select comment from main.information_schema.tables where table_name = 'customers'"
    )
    assert comment == [{"comment": "customers"}]


def test_dbt_test_queries(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE, "main", "default")
    engine.execute(
        s, "create table c as select * from (values (1, 'active'), (2, 'inactive'), (2, 'x')) v(id, status)"
    )
    unique = rows(
        engine,
        s,
        "select count(*) as failures, count(*) != 0 as should_warn, count(*) != 0 as should_error from ("
        "select id as unique_field, count(*) as n_records from `main`.`default`.`c` where id is not null "
        "group by id having count(*) > 1) dbt_internal_test",
    )
    assert unique == [{"failures": 1, "should_warn": True, "should_error": True}]
    accepted = rows(
        engine,
        s,
        "with all_values as (select status as value_field, count(*) as n_records from `main`.`default`.`c` "
        "group by status) select * from all_values where value_field not in ('active','inactive')",
    )
    assert accepted == [{"value_field": "x", "n_records": 1}]


def test_native_parameters(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE)
    result = engine.execute(
        s,
        "select :n as n, :t as t, ? as p",
        [Parameter("n", "INT", "7"), Parameter("t", "STRING", "x"), Parameter(None, "BIGINT", "9")],
    )
    assert result.table.to_pylist() == [{"n": 7, "t": "x", "p": 9}]
    assert result.types == ["int", "string", "bigint"]


def test_temporary_views_are_per_session(engine: WarehouseEngine) -> None:
    one, two = engine.open_session(ALICE), engine.open_session(ALICE)
    engine.execute(one, "create or replace temporary view tv as select 1 as x")
    assert rows(engine, one, "select x from tv") == [{"x": 1}]
    assert failure(engine, two, "select x from tv").error_class == "TABLE_OR_VIEW_NOT_FOUND"


def test_reset_returns_to_baseline(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE)
    engine.execute(s, "create schema extra")
    engine.execute(s, "create table extra.t as select 1 as id")
    engine.create_catalog("dev")
    engine.reset()
    s = engine.open_session(ALICE)
    assert rows(engine, s, "show schemas in main") == [
        {"databaseName": "default"},
        {"databaseName": "information_schema"},
    ]
    assert rows(engine, s, "show catalogs") == [
        {"catalog": "hive_metastore"},
        {"catalog": "main"},
        {"catalog": "system"},
    ]
    assert failure(engine, s, "select * from extra.t").error_class == "TABLE_OR_VIEW_NOT_FOUND"


def test_concurrent_sessions(engine: WarehouseEngine) -> None:
    start = threading.Barrier(8)

    def work(i: int) -> list[dict[str, Any]]:
        s = engine.open_session(f"user{i}@contoso.com")
        start.wait(timeout=10)
        engine.execute(
            s, f"create or replace table main.default.t{i} as select id from range({i + 1})"
        )
        engine.execute(s, f"insert into main.default.t{i} values (100)")
        return rows(engine, s, f"select count(*) as n, current_user() as u from main.default.t{i}")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [[{"n": i + 2, "u": f"user{i}@contoso.com"}] for i in range(8)]


def test_dbt_incremental_merge_through_a_temporary_view(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE, "main", "default")
    engine.execute(s, "create or replace table inc using delta as select 1 as id, 'old' as name")
    engine.execute(
        s,
        "create or replace temporary view `inc__dbt_tmp` as "
        "select * from (values (1, 'new'), (2, 'two')) v(id, name)",
    )
    doc = json.loads(rows(engine, s, "DESCRIBE TABLE EXTENDED `inc__dbt_tmp` AS JSON")[0]["json_metadata"])
    assert [c["name"] for c in doc["columns"]] == ["id", "name"] and doc["type"] == "VIEW"
    engine.execute(
        s,
        "-- back compat for old kwarg name\n"
        "merge into `main`.`default`.`inc` as DBT_INTERNAL_DEST using `inc__dbt_tmp` as DBT_INTERNAL_SOURCE "
        "on DBT_INTERNAL_SOURCE.`id` <=> DBT_INTERNAL_DEST.`id` "
        "when matched then update set * when not matched then insert *",
    )
    assert rows(engine, s, "select id, name from inc order by id") == [
        {"id": 1, "name": "new"},
        {"id": 2, "name": "two"},
    ]
    err = failure(
        engine,
        engine.open_session(BOB),
        "merge into main.default.inc as d using (select 3 as id, 'x' as name) s "
        "on s.id = d.id when not matched then insert *",
    )
    assert err.display_message == "PERMISSION_DENIED: User is not an owner of Table 'main.default.inc'."


def test_seed_style_create_and_parameterized_insert(engine: WarehouseEngine) -> None:
    s = engine.open_session(ALICE, "main", "default")
    engine.execute(
        s,
        "create table `main`.`default`.`countries` (`code` string ,`name` string ,`pop` double ) using delta",
    )
    engine.execute(
        s,
        "insert into `main`.`default`.`countries` values (?, ?, ?)",
        [
            Parameter(None, "STRING", "NL"),
            Parameter(None, "STRING", "Netherlands"),
            Parameter(None, "DOUBLE", "17.9"),
        ],
    )
    assert rows(engine, s, "select * from countries") == [{"code": "NL", "name": "Netherlands", "pop": 17.9}]
    listing = rows(engine, s, "SHOW TABLE EXTENDED IN `main`.`default` LIKE 'nothing|countries'")
    assert [r["tableName"] for r in listing] == ["countries"]
