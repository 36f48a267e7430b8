"""The real SQL connector against a sandbox, as the tests of every flow use it."""

from __future__ import annotations

from typing import Any


def connect(sb: Any, provider: Any) -> Any:
    """``databricks.sql.connect`` to the sandbox's warehouse with ``provider`` (telemetry off)."""
    from databricks import sql

    return sql.connect(
        server_hostname=sb.addresses["workspace"],
        http_path=sb.http_path,
        credentials_provider=provider,
        _tls_trusted_ca_file=str(sb.ca_bundle),
        enable_telemetry=False,
    )


def current_user(conn: Any) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT current_user()")
        return str(cur.fetchall()[0][0])


def query_current_user(sb: Any, provider: Any) -> str:
    """One connection, one ``SELECT current_user()``: who the warehouse saw."""
    with connect(sb, provider) as conn:
        return current_user(conn)
