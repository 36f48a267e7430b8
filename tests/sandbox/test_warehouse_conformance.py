"""What the SQL connector's own e2e suite (databricks-sql-python tests/e2e/test_driver.py, core Thrift
tests) expects of a SQL warehouse, driven through the real connector against the sandbox warehouse.
Each test names the e2e test it stands for (``nox -s conformance`` runs those against the sandbox)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pyarrow
import pytest
from databricks.sql.exc import ServerOperationError
from warehouse_harness import ALICE, WarehouseHarness, running_warehouse

from brickauth_sandbox.warehouse import literals
from brickauth_sandbox.warehouse.results import sql_type_name

UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarehouseHarness]:
    with running_warehouse(tmp_path_factory.mktemp("wh")) as harness:
        yield harness


def test_range_names_its_column_id(wh: WarehouseHarness) -> None:  # test_get_arrow, test_queries
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM range(10)")
        assert cur.fetchmany_arrow(1).to_pydict() == {"id": [0]}
        assert cur.fetchall_arrow().to_pydict() == {"id": list(range(1, 10))}
        cur.execute("SELECT x.id FROM RANGE(2, 10, 3) x JOIN range(20) y ON x.id = y.id ORDER BY 1")
        assert [r.id for r in cur.fetchall()] == [2, 5, 8]
        assert cur.description[0][:2] == ("id", "bigint")


@pytest.mark.parametrize("arrow", [False, True])
def test_row_limit(wh: WarehouseHarness, arrow: bool) -> None:  # test_row_limit_with_*
    with wh.connect(ALICE) as conn, conn.cursor(row_limit=800) as cur:
        cur.execute("SELECT * FROM range(1500)")
        got = cur.fetchall_arrow().num_rows if arrow else len(cur.fetchall())
        assert got == 800
        cur.execute("SELECT * FROM range(100)")
        assert len(cur.fetchall()) == 100


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2021-09-30", datetime.date(2021, 9, 30)),
        ("2021-09", datetime.date(2021, 9, 1)),
        ("2021", datetime.date(2021, 1, 1)),
        ("9999-12-31", datetime.date(9999, 12, 31)),
        ("9999-99-31", None),
    ],
)
def test_partial_dates(wh: WarehouseHarness, literal: str, expected: datetime.date | None) -> None:
    # e2e: test_dates
    with wh.connect(ALICE, session_configuration={"ansi_mode": False}) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT DATE('{literal}')")
        assert cur.fetchone()[0] == expected


TIMESTAMPS = [  # TimestampTestsMixin.timestamp_and_expected_results (all read in UTC)
    ("2021-09-30 11:27:35.123+04:00", datetime.datetime(2021, 9, 30, 7, 27, 35, 123000)),
    ("2021-09-30 11:27:35+04:00", datetime.datetime(2021, 9, 30, 7, 27, 35)),
    ("2021-09-30 11:27:35.123", datetime.datetime(2021, 9, 30, 11, 27, 35, 123000)),
    ("2021-09-30 11:27", datetime.datetime(2021, 9, 30, 11, 27)),
    ("2021-09-30 11", datetime.datetime(2021, 9, 30, 11)),
    ("2021-09", datetime.datetime(2021, 9, 1)),
    ("2021", datetime.datetime(2021, 1, 1)),
    ("9999-12-31T15:59:59", datetime.datetime(9999, 12, 31, 15, 59, 59)),
    ("9999-99-31T15:59:59", None),
]


def test_partial_timestamps_are_utc_instants(wh: WarehouseHarness) -> None:  # test_(multi_)timestamps(_arrow)
    query = "SELECT " + ", ".join(f"TIMESTAMP('{ts}')" for ts, _ in TIMESTAMPS)
    expected = [e and e.replace(tzinfo=UTC) for _, e in TIMESTAMPS]
    with wh.connect(ALICE, session_configuration={"ansi_mode": False}) as conn, conn.cursor() as cur:
        cur.execute(query)
        assert list(cur.fetchone()) == expected
        cur.execute(query)
        table = cur.fetchall_arrow()
        assert {f.type for f in table.schema} == {pyarrow.timestamp("us", tz="Etc/UTC")}
        assert [c.to_pylist()[0] for c in table.columns] == expected


def test_invalid_date_with_ansi_mode_is_an_error(wh: WarehouseHarness) -> None:
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        malformed = r"\[CAST_INVALID_INPUT\] The value '9999-99-31'.*22018"
        with pytest.raises(ServerOperationError, match=malformed):
            cur.execute("SELECT DATE('9999-99-31')")
        cur.execute("SELECT try_cast('9999-99-31' AS DATE) AS d")
        assert cur.fetchone().d is None


def test_set_time_zone(wh: WarehouseHarness) -> None:  # test_timezone_with_timestamp
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'Europe/Amsterdam'")
        assert tuple(cur.fetchone()) == ("spark.sql.session.timeZone", "Europe/Amsterdam")
        cur.execute("select CAST('2022-03-02 12:54:56' as TIMESTAMP)")
        expected = datetime.datetime(2022, 3, 2, 11, 54, 56, tzinfo=UTC)  # 12:54:56 CET
        assert cur.fetchone()[0] == expected
        cur.execute("select CAST('2022-03-02 12:54:56' as TIMESTAMP)")
        table = cur.fetchmany_arrow(1)
        assert table.field(0).type == pyarrow.timestamp("us", tz="Europe/Amsterdam")
        assert table.column(0)[0].as_py() == expected
        cur.execute("SET TIME ZONE LOCAL")
        cur.execute("select CAST('2022-03-02 12:54:56' as TIMESTAMP) AS t")
        assert cur.fetchone().t == datetime.datetime(2022, 3, 2, 12, 54, 56, tzinfo=UTC)
        with pytest.raises(ServerOperationError, match=r"\[INVALID_CONF_VALUE.TIME_ZONE\].*'Mars/Olympus'"):
            cur.execute("SET TIME ZONE 'Mars/Olympus'")


def test_lz4_compression_follows_the_client(wh: WarehouseHarness) -> None:  # test_can_flip_compression
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("SELECT array(1,2,3,4)")
        assert cur.fetchall()[0][0].tolist() == [1, 2, 3, 4]
        assert cur.active_result_set.lz4_compressed
        conn.lz4_compression = False
        cur.execute("SELECT array(1,2,3,4)")
        cur.fetchall()
        assert not cur.active_result_set.lz4_compressed


def test_get_columns_reports_spark_type_names(wh: WarehouseHarness) -> None:  # test_get_columns
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS typed AS (SELECT 1 AS col_1, "
            "named_struct('name', 'alice', 'age', 28) as col_3, map('items', 45, 'cost', 228) as col_4, "
            "array('item1', 'item2') as col_5)"
        )
        assert cur.fetchall() == []  # test_create_table_will_return_empty_result_set
        cur.columns(schema_name="defa%", table_name="typed")
        got = [(row[3], row[4], row[5]) for row in cur.fetchall()]
    assert got == [
        ("col_1", 4, "INT"),
        ("col_3", 2002, "STRUCT<name: STRING, age: INT>"),
        ("col_4", 2000, "MAP<STRING, INT>"),
        ("col_5", 2003, "ARRAY<STRING>"),
    ]


def test_untyped_null_is_described_as_string(wh: WarehouseHarness) -> None:  # test_queries
    with wh.connect(ALICE) as conn, conn.cursor() as cur:
        cur.execute("SELECT NULL")
        assert cur.fetchone()[0] is None
        assert cur.description[0][1] == "string"


def test_spark_type_names() -> None:
    assert sql_type_name("struct<a:array<int>,`b c`:map<string,decimal(10,2)>>") == (
        "STRUCT<a: ARRAY<INT>, `b c`: MAP<STRING, DECIMAL(10,2)>>"
    )


def test_literal_rules_without_a_warehouse() -> None:
    amsterdam = literals.parse_timestamp("2021-07-01 12:00", session_zone="Europe/Amsterdam", ansi=True)
    assert amsterdam == datetime.datetime(2021, 7, 1, 10, tzinfo=UTC)  # CEST
    assert literals.parse_timestamp("2021-07-01T12:00:00Z", session_zone="Europe/Amsterdam", ansi=True) == (
        datetime.datetime(2021, 7, 1, 12, tzinfo=UTC)
    )
    assert literals.parse_timestamp("2021-07-01 12:00 UTC+02:00", session_zone="Etc/UTC", ansi=True) == (
        datetime.datetime(2021, 7, 1, 10, tzinfo=UTC)
    )
    assert literals.parse_timestamp("2021-07-01 12", session_zone="+01:00", ansi=True, ntz=True) == (
        datetime.datetime(2021, 7, 1, 12)
    )
    assert literals.parse_date("2021-7-4 garbage", ansi=True) == datetime.date(2021, 7, 4)
    assert literals.parse_date("not a date", ansi=False) is None

