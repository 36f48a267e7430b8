"""SQL checks through the real databricks-sql-connector: a probe query and dbt's table owners."""

from __future__ import annotations

from typing import Any

from brickauth.doctor.model import Check, Context, Outcome, one_line


def _connect(ctx: Context) -> Any:
    from databricks import sql

    plan = ctx.plan
    kwargs: dict[str, Any] = {
        "server_hostname": plan.hostname,
        "http_path": plan.http_path,
        "access_token": ctx.state["token"],
        "_socket_timeout": ctx.step_timeout,
        "_retry_stop_after_attempts_count": 1,
        "_retry_stop_after_attempts_duration": ctx.step_timeout,
        "enable_telemetry": False,
    }
    if plan.port != 443:
        kwargs["_port"] = plan.port
    if plan.ca_bundle:
        kwargs["_tls_trusted_ca_file"] = plan.ca_bundle
    return sql.connect(**kwargs)


def check_sql(ctx: Context) -> Outcome:
    try:
        connection = _connect(ctx)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user()")
                row = cursor.fetchone()
        finally:
            ctx.state["sql_connection"] = connection
    except ImportError:
        return Outcome(
            "skip", "databricks-sql-connector is not installed (pip install 'brickauth[connector]')"
        )
    except Exception as exc:
        return ctx.refusal("SELECT current_user() failed", f"{type(exc).__name__}: {exc}", None)
    user = row[0] if row else "?"
    ctx.state["current_user"] = user
    return Outcome("ok", f"SELECT current_user() = {user}")


def check_table_owners(ctx: Context) -> Outcome:
    plan = ctx.plan
    connection = ctx.state["sql_connection"]
    catalog, schema = plan.catalog or "hive_metastore", plan.schema
    query = (
        f"SELECT table_name, table_owner FROM {catalog}.information_schema.tables "  # noqa: S608 (dbt target names)
        f"WHERE table_schema = '{str(schema).replace(chr(39), '')}'"
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            rows = cursor.fetchall()
    except Exception as exc:
        return Outcome(
            "skip", f"cannot list table owners in {catalog}.{schema}: {one_line(ctx.redact(str(exc)), 160)}"
        )
    me = str(ctx.state.get("current_user", "")).lower()
    foreign = [(r[0], r[1]) for r in rows if r[1] and str(r[1]).lower() != me]
    if not foreign:
        return Outcome("ok", f"{len(rows)} tables in {catalog}.{schema}, none owned by another identity")
    shown = ", ".join(f"{t} (owner {o})" for t, o in foreign[:5])
    return Outcome(
        "warn",
        f"{len(foreign)} table(s) in {catalog}.{schema} are owned by another identity, so dbt "
        f"cannot replace them as {me}: {shown}",
        "databricks.table_not_owner",
        details={"tables": [{"table": t, "owner": o} for t, o in foreign]},
    )


def _import_connector() -> None:
    """The connector's import (seconds on a busy machine) is not the warehouse's answer time."""
    try:
        from databricks.sql import client  # noqa: F401
    except ImportError:  # check_sql says so
        pass


def _needs_http_path(ctx: Context) -> str | None:
    return None if ctx.plan.http_path else "no http_path"


def _needs_schema(ctx: Context) -> str | None:
    return None if ctx.plan.schema else "no dbt schema"


CHECKS: tuple[Check, ...] = (
    Check(
        "sql.probe",
        "SQL probe (SELECT current_user())",
        check_sql,
        ("workspace.membership", "settings.http_path", "warehouse.state"),
        target="workspace",
        skip_if=_needs_http_path,
        timeout_factor=2.0,
        prepare=_import_connector,
    ),
    Check(
        "sql.table_owners",
        "Table owners in the dbt schema",
        check_table_owners,
        ("sql.probe",),
        target="workspace",
        skip_if=_needs_schema,
    ),
)
