"""The SQL warehouse's engine: Databricks SQL on an embedded, in-memory DuckDB.

Each Unity Catalog catalog is an attached in-memory DuckDB database named ``uc_<catalog>`` (``main``
and ``system`` are reserved names in DuckDB); schemas and tables map one to one. The engine keeps the
Unity Catalog metadata DuckDB has no place for (owners, comments, table properties) in a
``Metastore`` and enforces ownership as Unity Catalog does: the creator owns a table, and another
principal replacing, altering or writing to it gets ``PERMISSION_DENIED: User is not an owner of
Table '<catalog>.<schema>.<table>'.``. An optional ``authorize`` hook decides Unity Catalog privileges
(``USE CATALOG``, ``USE SCHEMA``, ``SELECT``, ``MODIFY``, ``CREATE TABLE``, ``CREATE SCHEMA``).

Thread-safe: each session has its own DuckDB connection (a cursor of one database); statements that
change the catalog run under one engine lock so checks and changes are atomic.
"""

from __future__ import annotations

import json
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from sqlglot import exp

from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth_sandbox.warehouse import errors, literals
from brickauth_sandbox.warehouse.catalog import (
    BASELINE_CATALOGS,
    DEFAULT_CATALOG,
    DEFAULT_SCHEMA,
    DELTA_DEFAULT_PROPERTIES,
    SYSTEM_OWNER,
    CatalogInfo,
    Metastore,
    RelationInfo,
    SchemaInfo,
)
from brickauth_sandbox.warehouse.information_schema import InformationSchema
from brickauth_sandbox.warehouse.literals import DEFAULT_TIME_ZONE
from brickauth_sandbox.warehouse.results import (
    StatementResult,
    databricks_type,
    databricks_type_from_duckdb,
    empty_result,
    rows_result,
)
from brickauth_sandbox.warehouse.translate import (
    INFORMATION_SCHEMA,
    MAPPED,
    SYSTEM_CATALOG,
    AlterOwner,
    Describe,
    Name,
    Namespace,
    NoOp,
    Parameter,
    SetConf,
    Show,
    Sql,
    Statement,
    Use,
    bind_parameters,
    column_comments,
    duckdb_catalog,
    duckdb_table,
    like_to_regex,
    literal_value,
    parse_statement,
    properties_of,
    resolve,
    strip_create_extras,
    to_duckdb,
)

warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)

# (principal, privilege, securable type, full name) -> allowed. Types: CATALOG, SCHEMA, TABLE.
Authorize = Callable[[str, str, str, str], bool]

# The session time zone's names: the SQL config, Spark's key, and what SET TIME ZONE sets.
TIME_ZONE_KEYS = ("TIMEZONE", "spark.sql.session.timeZone")
TIME_ZONE_KEYS_LOWER = {k.lower() for k in TIME_ZONE_KEYS}

_DEFAULT_CONF = {
    "ANSI_MODE": "true",
    "TIMEZONE": "Etc/UTC",
    "STATEMENT_TIMEOUT": "172800",
    "USE_CACHED_RESULT": "true",
    "LEGACY_TIME_PARSER_POLICY": "EXCEPTION",
    "spark.sql.session.timeZone": "Etc/UTC",
}


class EngineSession:
    """One Databricks SQL session: principal, current catalog/schema, configuration, temp views."""

    def __init__(self, engine: WarehouseEngine, principal: str, catalog: str, schema: str) -> None:
        self.engine = engine
        self.principal = principal
        self.catalog = catalog
        self.schema = schema
        self.session_id = uuid.uuid4().hex
        self.conf: dict[str, str] = {}
        self.temp_views: dict[str, str] = {}  # name -> view text
        self.lock = threading.Lock()  # one statement at a time per session
        self._conn = engine._new_connection()
        self._duck_zone: str | None = None
        self.closed = False

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.catalog, self.schema)

    def setting(self, *keys: str) -> str | None:
        """A session setting by any of its names, case-insensitively (``ansi_mode`` = ``ANSI_MODE``)."""
        wanted = {k.lower() for k in keys}
        found = None
        for key, value in self.conf.items():  # the last one set wins
            if key.lower() in wanted:
                found = value
        return found

    @property
    def time_zone(self) -> str:
        return self.setting(*TIME_ZONE_KEYS) or DEFAULT_TIME_ZONE

    @property
    def ansi(self) -> bool:
        return (self.setting("ansi_mode", "spark.sql.ansi.enabled") or "true").strip().lower() != "false"

    def apply_time_zone(self) -> None:
        """DuckDB reads and labels TIMESTAMPTZ values in the connection's zone: keep it the session's."""
        zone = self.time_zone
        if zone != self._duck_zone:
            # DuckDB (ICU) takes region ids and GMT offsets; Spark also takes bare offsets (+01:00).
            self._conn.execute("SET TimeZone = ?", ["GMT" + zone if zone[:1] in "+-" else zone])
            self._duck_zone = zone

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._conn

    def interrupt(self) -> None:
        self._conn.interrupt()

    def close(self) -> None:
        self.closed = True
        try:
            with DUCKDB_LIFECYCLE:
                self._conn.close()
        except duckdb.Error:
            pass


@dataclass
class _Ctx:
    session: EngineSession
    sql: str
    registered: list[str] = field(default_factory=list)

    @property
    def principal(self) -> str:
        return self.session.principal

    @property
    def ns(self) -> Namespace:
        return self.session.namespace


# DuckDB's Python client has crashed (SIGSEGV) when one thread opened or closed a database while
# another thread did the same for another database in the process (seen once in the suite with
# duckdb 2.0.1: a sandbox's engine loading beside another sandbox's teardown; duckdb/duckdb-python#435
# reports crashes of concurrent connections). Opening and closing databases and cursors is serialised
# process-wide; queries are not (each runs on its own session cursor).
DUCKDB_LIFECYCLE = threading.Lock()


class WarehouseEngine:
    """Executes Databricks SQL for a principal. ``reset()`` returns to the baseline catalogs."""

    def __init__(self, *, authorize: Authorize | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.authorize = authorize
        self.clock = clock
        self._lock = threading.RLock()
        with DUCKDB_LIFECYCLE:
            self._db = duckdb.connect(":memory:")
        self.metastore = Metastore()
        self._sessions: set[EngineSession] = set()
        self._information_schema = InformationSchema(self)
        with self._lock:
            self._baseline()

    # --- lifecycle ------------------------------------------------------------------------------

    def _new_connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock, DUCKDB_LIFECYCLE:
            return self._db.cursor()

    def _baseline(self) -> None:
        now = self.clock.now()
        for catalog in BASELINE_CATALOGS:
            self._attach(catalog, SYSTEM_OWNER, now)
            self._create_schema_storage(catalog, DEFAULT_SCHEMA)
            self.metastore.schemas[(catalog, DEFAULT_SCHEMA)] = SchemaInfo(
                catalog, DEFAULT_SCHEMA, SYSTEM_OWNER, now, SYSTEM_OWNER, "Default schema (auto-created)"
            )

    def _attach(self, catalog: str, owner: str, now: float) -> None:
        self._db.sql(f"ATTACH ':memory:' AS {_q(duckdb_catalog(catalog))}")
        self.metastore.catalogs[catalog] = CatalogInfo(catalog, owner, now)

    def _create_schema_storage(self, catalog: str, schema: str) -> None:
        self._db.sql(f"CREATE SCHEMA IF NOT EXISTS {_q(duckdb_catalog(catalog))}.{_q(schema)}")

    def reset(self) -> None:
        """Drop every catalog, schema, table and session state back to the baseline."""
        with self._lock:
            for session in list(self._sessions):
                session.interrupt()
                session.temp_views.clear()
            for catalog in list(self.metastore.catalogs):
                self._db.sql(f"DETACH DATABASE IF EXISTS {_q(duckdb_catalog(catalog))}")
            self.metastore = Metastore()
            self._baseline()

    def close(self) -> None:
        with self._lock:
            for session in list(self._sessions):
                session.close()
            self._sessions.clear()
            with DUCKDB_LIFECYCLE:
                self._db.close()

    # --- controls -------------------------------------------------------------------------------

    def create_catalog(self, name: str, owner: str = SYSTEM_OWNER) -> None:
        """Add a Unity Catalog catalog (with schema ``default``); a control, not SQL."""
        name = name.lower()
        with self._lock:
            if name in self.metastore.catalogs or name == SYSTEM_CATALOG:
                return
            now = self.clock.now()
            self._attach(name, owner, now)
            self._create_schema_storage(name, DEFAULT_SCHEMA)
            self.metastore.schemas[(name, DEFAULT_SCHEMA)] = SchemaInfo(
                name, DEFAULT_SCHEMA, owner, now, owner
            )

    def owner_of(self, full_name: str) -> str | None:
        """Owner of a table or view (``catalog.schema.table``), schema or catalog; None when absent."""
        parts = tuple(p.lower() for p in full_name.split("."))
        with self._lock:
            if len(parts) == 3 and parts in self.metastore.relations:
                return self.metastore.relations[parts].owner
            if len(parts) == 2 and parts in self.metastore.schemas:
                return self.metastore.schemas[parts].owner
            if len(parts) == 1 and parts[0] in self.metastore.catalogs:
                return self.metastore.catalogs[parts[0]].owner
        return None

    def set_owner(self, full_name: str, principal: str) -> None:
        parts = tuple(p.lower() for p in full_name.split("."))
        with self._lock:
            if len(parts) == 3 and parts in self.metastore.relations:
                self.metastore.relations[parts].owner = principal
            elif len(parts) == 2 and parts in self.metastore.schemas:
                self.metastore.schemas[parts].owner = principal
            elif len(parts) == 1 and parts[0] in self.metastore.catalogs:
                self.metastore.catalogs[parts[0]].owner = principal
            else:
                raise KeyError(full_name)

    # --- sessions -------------------------------------------------------------------------------

    def open_session(
        self, principal: str, catalog: str | None = None, schema: str | None = None
    ) -> EngineSession:
        """A session; its initial catalog must exist, its schema need not (dbt creates it later)."""
        catalog = (catalog or DEFAULT_CATALOG).lower()
        schema = (schema or DEFAULT_SCHEMA).lower()
        with self._lock:
            if catalog not in self.metastore.catalogs:
                raise errors.catalog_not_found(catalog)
            session = EngineSession(self, principal, catalog, schema)
            self._sessions.add(session)
        return session

    def close_session(self, session: EngineSession) -> None:
        with self._lock:
            self._sessions.discard(session)
        session.close()

    def execute_as(
        self, principal: str, sql: str, catalog: str | None = None, schema: str | None = None
    ) -> StatementResult:
        """Run one statement in a throwaway session (controls and tests)."""
        session = self.open_session(principal, catalog, schema)
        try:
            return self.execute(session, sql)
        finally:
            self.close_session(session)

    # --- execution ------------------------------------------------------------------------------

    def execute(
        self, session: EngineSession, sql: str, parameters: list[Parameter] | None = None
    ) -> StatementResult:
        """Run one Databricks SQL statement; raises ``WarehouseSqlError`` shaped as Databricks'."""
        statement = parse_statement(sql)
        if parameters and isinstance(statement, Sql):
            statement = Sql(bind_parameters(statement.tree, parameters), statement.text)
        with session.lock:
            ctx = _Ctx(session, sql)
            try:
                return self._dispatch(ctx, statement)
            finally:
                for name in ctx.registered:
                    try:
                        session.connection.unregister(name)
                    except duckdb.Error:
                        pass

    def _dispatch(self, ctx: _Ctx, statement: Statement) -> StatementResult:
        if isinstance(statement, Show):
            return self._show(ctx, statement)
        if isinstance(statement, Describe):
            return self._describe(ctx, statement)
        if isinstance(statement, SetConf):
            return self._set(ctx, statement)
        if isinstance(statement, Use):
            return self._use(ctx, statement)
        if isinstance(statement, NoOp):
            return empty_result()
        if isinstance(statement, AlterOwner):
            return self._alter_owner(ctx, statement)
        tree = statement.tree
        if isinstance(tree, exp.Create):
            return self._create(ctx, tree)
        if isinstance(tree, exp.Drop):
            return self._drop(ctx, tree)
        if isinstance(tree, exp.Insert):
            return self._insert(ctx, tree)
        if isinstance(tree, (exp.Update, exp.Delete, exp.Merge, exp.TruncateTable)):
            return self._modify(ctx, tree)
        if isinstance(tree, exp.Alter):
            return self._alter(ctx, tree)
        if isinstance(tree, exp.Comment):
            return self._comment(ctx, tree)
        if isinstance(tree, (exp.Query, exp.Values)):
            return self._query(ctx, tree)
        if isinstance(tree, (exp.Grant, exp.Revoke)):
            raise errors.unsupported("GRANT and REVOKE (grant privileges through the sandbox controls)")
        if isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback)):
            return empty_result()
        raise errors.unsupported(f"the statement {statement.text.split(None, 1)[0].upper()!r}")

    # --- helpers: names, checks, running DuckDB --------------------------------------------------

    def _relation(self, name: Name) -> RelationInfo | None:
        return self.metastore.relations.get(name.parts)

    def _require_schema(self, catalog: str, schema: str) -> SchemaInfo:
        if catalog not in self.metastore.catalogs:
            raise errors.catalog_not_found(catalog)
        info = self.metastore.schemas.get((catalog, schema))
        if info is None:
            raise errors.schema_not_found(catalog, schema)
        return info

    def _allowed(self, principal: str, privilege: str, kind: str, full_name: str, owner: str | None) -> bool:
        if self.authorize is None or principal == owner:
            return True
        return self.authorize(principal, privilege, kind, full_name)

    def _require(self, ctx: _Ctx, privilege: str, kind: str, full_name: str, owner: str | None) -> None:
        if not self._allowed(ctx.principal, privilege, kind, full_name, owner):
            raise errors.insufficient_privileges(privilege, kind.title(), full_name)

    def _require_use(self, ctx: _Ctx, catalog: str, schema: str | None = None) -> None:
        cat = self.metastore.catalogs.get(catalog)
        self._require(ctx, "USE CATALOG", "CATALOG", catalog, cat.owner if cat else None)
        if schema is not None:
            sch = self.metastore.schemas.get((catalog, schema))
            self._require(ctx, "USE SCHEMA", "SCHEMA", f"{catalog}.{schema}", sch.owner if sch else None)

    def _require_owner(self, ctx: _Ctx, rel: RelationInfo) -> None:
        """Replacing, altering, dropping: the owner only (or a MANAGE grant through ``authorize``)."""
        if ctx.principal == rel.owner:
            return
        if self.authorize is not None and self.authorize(ctx.principal, "MANAGE", "TABLE", rel.full_name):
            return
        raise errors.not_owner(rel.kind_title, rel.full_name)

    def _require_write(self, ctx: _Ctx, rel: RelationInfo) -> None:
        """INSERT/UPDATE/DELETE/MERGE: the owner, or MODIFY granted through ``authorize``."""
        self._require_use(ctx, rel.catalog, rel.schema)
        if ctx.principal == rel.owner:
            return
        if self.authorize is not None and self.authorize(ctx.principal, "MODIFY", "TABLE", rel.full_name):
            return
        raise errors.not_owner(rel.kind_title, rel.full_name)

    def _check_readable(self, ctx: _Ctx, names: list[Name]) -> None:
        for name in names:
            rel = self._relation(name)
            if rel is None:
                raise errors.table_not_found(*name.parts)
            self._require_use(ctx, name.catalog, name.schema)
            self._require(ctx, "SELECT", "TABLE", name.full, rel.owner)

    def _rewrite(self, ctx: _Ctx, tree: exp.Expression) -> tuple[str, list[Name]]:
        local = set(ctx.session.temp_views)
        rewrite = to_duckdb(
            tree,
            ctx.ns,
            principal=ctx.principal,
            information_schema=lambda name: self._information_schema.source(ctx, name),
            local=local,
            session_zone=ctx.session.time_zone,
            ansi=ctx.session.ansi,
        )
        return rewrite.sql, rewrite.tables

    def _run(self, ctx: _Ctx, duck_sql: str) -> pa.Table | None:
        try:
            ctx.session.apply_time_zone()
            rel = ctx.session.connection.sql(duck_sql)
            if rel is None:
                return None
            table: pa.Table = rel.to_arrow_table()
            return table
        except duckdb.InterruptException:
            raise
        except duckdb.Error as exc:
            raise _map_duckdb_error(exc, ctx) from None

    @contextmanager
    def _transaction(self, ctx: _Ctx) -> Iterator[None]:
        conn = ctx.session.connection
        conn.sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            conn.sql("ROLLBACK")
            raise
        conn.sql("COMMIT")

    def register(self, ctx: _Ctx, table: pa.Table) -> str:
        """Make an Arrow table readable by this statement under a fresh name."""
        name = f"__brickauth_{uuid.uuid4().hex[:12]}"
        ctx.session.connection.register(name, table)
        ctx.registered.append(name)
        return name

    # --- queries --------------------------------------------------------------------------------

    def _query(self, ctx: _Ctx, tree: exp.Expression) -> StatementResult:
        duck_sql, names = self._rewrite(ctx, tree)
        self._check_readable(ctx, names)
        table = self._run(ctx, duck_sql)
        if table is None:
            return empty_result()
        return _result(table)

    # --- DDL ------------------------------------------------------------------------------------

    def _target(self, ctx: _Ctx, node: exp.Expression | None) -> tuple[exp.Table, Name]:
        table = node.this if isinstance(node, exp.Schema) else node
        if not isinstance(table, exp.Table):
            raise errors.unsupported("this statement's target")
        return table, resolve(table, ctx.ns)

    def _mapped_tree(self, tree: exp.Expression, target: exp.Table, name: Name) -> exp.Expression:
        """A copy of ``tree`` whose ``target`` table is replaced by its DuckDB name."""
        tree = tree.copy()
        for table in tree.find_all(exp.Table):
            if table == target:
                new = duckdb_table(name, table.args.get("alias"))
                new.meta[MAPPED] = True
                table.replace(new)
                break
        return tree

    def _create(self, ctx: _Ctx, tree: exp.Create) -> StatementResult:
        kind = (tree.kind or "").upper()
        if kind in ("SCHEMA", "DATABASE"):
            return self._create_schema(ctx, tree)
        if kind not in ("TABLE", "VIEW"):
            raise errors.unsupported(f"CREATE {kind}")
        properties = tree.args.get("properties")
        temporary = isinstance(properties, exp.Properties) and any(
            isinstance(p, exp.TemporaryProperty) for p in properties.expressions
        )
        target, name = self._target(ctx, tree.this)
        if temporary and kind == "VIEW":
            return self._create_temp_view(ctx, tree, target)
        with self._lock:
            self._require_schema(name.catalog, name.schema)
            existing = self._relation(name)
            replace = bool(tree.args.get("replace"))
            if existing is not None:
                if not replace:
                    if tree.args.get("exists"):
                        return empty_result()
                    raise errors.already_exists(*name.parts)
                self._require_owner(ctx, existing)
                if existing.type == "VIEW" and kind == "TABLE":
                    raise errors.wrong_object_type(name.full, "table", "view")
                if existing.type != "VIEW" and kind == "VIEW":
                    raise errors.wrong_object_type(name.full, "view", "table")
            else:
                schema_info = self.metastore.schemas[(name.catalog, name.schema)]
                self._require_use(ctx, name.catalog, name.schema)
                self._require(
                    ctx, "CREATE " + kind, "SCHEMA", f"{name.catalog}.{name.schema}", schema_info.owner
                )
            comment, props, provider = properties_of(tree)
            col_comments = column_comments(tree)
            duck_tree = self._mapped_tree(strip_create_extras(tree), target, name)
            duck_sql, names = self._rewrite(ctx, duck_tree)
            self._check_readable(ctx, names)
            table = self._run(ctx, duck_sql)
            now = self.clock.now()
            if existing is not None:
                rel = existing
                rel.last_altered_at, rel.last_altered_by = now, ctx.principal
            else:
                rel = RelationInfo(
                    name.catalog,
                    name.schema,
                    name.table,
                    "VIEW" if kind == "VIEW" else "MANAGED",
                    ctx.principal,
                    now,
                    ctx.principal,
                    now,
                    ctx.principal,
                )
                self.metastore.relations[name.parts] = rel
            rel.comment = comment
            rel.column_comments = col_comments
            if kind == "VIEW":
                rel.provider = None
                query = tree.expression
                rel.view_text = query.sql("databricks") if query is not None else None
                rel.properties = props
            else:
                rel.provider = provider or "delta"
                rel.properties = {**DELTA_DEFAULT_PROPERTIES, **props} if rel.provider == "delta" else props
        if kind == "TABLE" and tree.expression is not None and not tree.args.get("exists"):
            # CREATE TABLE ... AS SELECT reports its metrics; with IF NOT EXISTS Databricks SQL returns an
            # empty result set (the connector's e2e test_create_table_will_return_empty_result_set).
            count = _first_count(table)
            return _dml_result(["num_affected_rows", "num_inserted_rows"], [count, count], count)
        return empty_result()

    def _create_temp_view(self, ctx: _Ctx, tree: exp.Create, target: exp.Table) -> StatementResult:
        if len(target.parts) != 1:
            raise errors.WarehouseSqlError(
                "TEMP_VIEW_NAME_TOO_MANY_NAME_PARTS",
                f"CREATE TEMPORARY VIEW or the corresponding Dataset APIs only accept single-part view "
                f"names, but got: {target.sql('databricks')}.",
                "428EK",
            )
        view = target.name.lower()
        if view in ctx.session.temp_views and not tree.args.get("replace"):
            raise errors.already_exists(view)
        duck_tree = strip_create_extras(tree)
        duck_tree.set("properties", exp.Properties(expressions=[exp.TemporaryProperty()]))
        duck_tree.set("replace", True)
        for table in duck_tree.find_all(exp.Table):
            if table.name.lower() == view and len(table.parts) == 1:
                table.meta[MAPPED] = True
                break
        duck_sql, names = self._rewrite(ctx, duck_tree)
        self._check_readable(ctx, names)
        self._run(ctx, duck_sql)
        query = tree.expression
        ctx.session.temp_views[view] = query.sql("databricks") if query is not None else ""
        return empty_result()

    def _schema_name(self, ctx: _Ctx, node: exp.Expression | None) -> tuple[str, str]:
        if not isinstance(node, exp.Table):
            raise errors.unsupported("this schema name")
        parts = [p.name.lower() for p in node.parts]
        if len(parts) == 1:
            return ctx.ns.catalog, parts[0]
        return parts[-2], parts[-1]

    def _create_schema(self, ctx: _Ctx, tree: exp.Create) -> StatementResult:
        catalog, schema = self._schema_name(ctx, tree.this)
        comment, props, _ = properties_of(tree)
        with self._lock:
            cat = self.metastore.catalogs.get(catalog)
            if cat is None:
                raise errors.catalog_not_found(catalog)
            if (catalog, schema) in self.metastore.schemas:
                if tree.args.get("exists"):
                    return empty_result()
                raise errors.schema_already_exists(catalog, schema)
            self._require(ctx, "USE CATALOG", "CATALOG", catalog, cat.owner)
            self._require(ctx, "CREATE SCHEMA", "CATALOG", catalog, cat.owner)
            self._create_schema_storage(catalog, schema)
            self.metastore.schemas[(catalog, schema)] = SchemaInfo(
                catalog, schema, ctx.principal, self.clock.now(), ctx.principal, comment, props
            )
        return empty_result()

    def _drop(self, ctx: _Ctx, tree: exp.Drop) -> StatementResult:
        kind = (tree.kind or "").upper()
        if_exists = bool(tree.args.get("exists"))
        tables = tree.args.get("tables") or [tree.this]
        if len(tables) != 1:
            raise errors.parse_syntax_error(",", ctx.sql)
        tree = tree.copy()
        tree.set("this", tables[0])
        if kind in ("SCHEMA", "DATABASE"):
            return self._drop_schema(ctx, tree, if_exists)
        if kind not in ("TABLE", "VIEW"):
            raise errors.unsupported(f"DROP {kind}")
        target, name = self._target(ctx, tree.this)
        if kind == "VIEW" and len(target.parts) == 1 and target.name.lower() in ctx.session.temp_views:
            view = target.name.lower()
            self._run(ctx, f"DROP VIEW IF EXISTS {_q(view)}")
            del ctx.session.temp_views[view]
            return empty_result()
        with self._lock:
            rel = self._relation(name)
            if rel is None:
                if if_exists:
                    return empty_result()
                raise errors.table_not_found(*name.parts)
            actual = "VIEW" if rel.type == "VIEW" else "TABLE"
            if actual != kind:
                raise errors.WarehouseSqlError(
                    "WRONG_COMMAND_FOR_OBJECT_TYPE",
                    f"The operation DROP {kind} requires a {kind}. But {errors.quote_name(*name.parts)} is a "
                    f"{actual}. Use DROP {actual} instead.",
                    "42809",
                )
            self._require_owner(ctx, rel)
            self._run(ctx, f"DROP {actual} IF EXISTS {duckdb_table(name).sql('duckdb')}")
            del self.metastore.relations[name.parts]
        return empty_result()

    def _drop_schema(self, ctx: _Ctx, tree: exp.Drop, if_exists: bool) -> StatementResult:
        catalog, schema = self._schema_name(ctx, tree.this)
        with self._lock:
            info = self.metastore.schemas.get((catalog, schema))
            if info is None:
                if if_exists:
                    return empty_result()
                if catalog not in self.metastore.catalogs:
                    raise errors.catalog_not_found(catalog)
                raise errors.schema_not_found(catalog, schema)
            if ctx.principal != info.owner and not self._allowed(
                ctx.principal, "MANAGE", "SCHEMA", f"{catalog}.{schema}", None
            ):
                raise errors.not_owner("Schema", f"{catalog}.{schema}")
            contents = self.metastore.relations_in(catalog, schema)
            if contents and not tree.args.get("cascade"):
                raise errors.schema_not_empty(catalog, schema)
            self._db.sql(f"DROP SCHEMA IF EXISTS {_q(duckdb_catalog(catalog))}.{_q(schema)} CASCADE")
            for rel in contents:
                del self.metastore.relations[(rel.catalog, rel.schema, rel.name)]
            del self.metastore.schemas[(catalog, schema)]
        return empty_result()

    # --- DML ------------------------------------------------------------------------------------

    def _writable(self, ctx: _Ctx, name: Name) -> RelationInfo:
        rel = self._relation(name)
        if rel is None:
            raise errors.table_not_found(*name.parts)
        if rel.type == "VIEW":
            raise errors.WarehouseSqlError(
                "EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE",
                f"'INSERT' expects a table but {errors.quote_name(*name.parts)} is a view.",
                "42809",
            )
        self._require_write(ctx, rel)
        return rel

    def _insert(self, ctx: _Ctx, tree: exp.Insert) -> StatementResult:
        target, name = self._target(ctx, tree.this)
        with self._lock:
            rel = self._writable(ctx, name)
        overwrite = bool(tree.args.get("overwrite"))
        duck_tree = self._mapped_tree(tree, target, name)
        duck_tree.set("overwrite", None)
        duck_sql, names = self._rewrite(ctx, duck_tree)
        self._check_readable(ctx, names)
        if overwrite:
            with self._transaction(ctx):
                self._run(ctx, f"DELETE FROM {duckdb_table(name).sql('duckdb')}")
                table = self._run(ctx, duck_sql)
        else:
            table = self._run(ctx, duck_sql)
        self._touch(ctx, rel)
        count = _first_count(table)
        return _dml_result(["num_affected_rows", "num_inserted_rows"], [count, count], count)

    def _modify(self, ctx: _Ctx, tree: exp.Expression) -> StatementResult:
        node = tree.expressions[0] if isinstance(tree, exp.TruncateTable) else tree.this
        target, name = self._target(ctx, node)
        with self._lock:
            rel = self._writable(ctx, name)
        duck_tree = self._mapped_tree(tree, target, name)
        duck_sql, names = self._rewrite(ctx, duck_tree)
        self._check_readable(ctx, names)
        if isinstance(tree, exp.TruncateTable):
            duck_sql = f"DELETE FROM {duckdb_table(name).sql('duckdb')}"
        table = self._run(ctx, duck_sql)
        self._touch(ctx, rel)
        count = _first_count(table)
        if isinstance(tree, exp.TruncateTable):
            return empty_result()
        return _dml_result(["num_affected_rows"], [count], count)

    def _touch(self, ctx: _Ctx, rel: RelationInfo) -> None:
        rel.last_altered_at, rel.last_altered_by = self.clock.now(), ctx.principal

    # --- ALTER, COMMENT ON ----------------------------------------------------------------------

    def _alter(self, ctx: _Ctx, tree: exp.Alter) -> StatementResult:
        kind = (tree.args.get("kind") or "").upper()
        if kind not in ("TABLE", "VIEW"):
            raise errors.unsupported(f"ALTER {kind}")
        _, name = self._target(ctx, tree.this)
        with self._lock:
            rel = self._relation(name)
            if rel is None:
                raise errors.table_not_found(*name.parts)
            self._require_owner(ctx, rel)
            for action in tree.args.get("actions") or []:
                self._alter_action(ctx, rel, name, action)
            self._touch(ctx, rel)
        return empty_result()

    def _alter_action(self, ctx: _Ctx, rel: RelationInfo, name: Name, action: exp.Expression) -> None:
        if isinstance(action, exp.AlterSet):
            for props in action.expressions:
                if isinstance(props, exp.Properties):
                    for prop in props.expressions:
                        key = literal_value(prop.this)
                        if key is not None:
                            rel.properties[key] = literal_value(prop.args.get("value")) or ""
            return
        if isinstance(action, exp.AlterRename):
            new_name = resolve(action.this, Namespace(name.catalog, name.schema))
            if (new_name.catalog, new_name.schema) != (name.catalog, name.schema):
                raise errors.unsupported("renaming a table into another schema")
            if self._relation(new_name) is not None:
                raise errors.already_exists(*new_name.parts)
            kind = "VIEW" if rel.type == "VIEW" else "TABLE"
            self._run(ctx, f"ALTER {kind} {duckdb_table(name).sql('duckdb')} RENAME TO {_q(new_name.table)}")
            del self.metastore.relations[name.parts]
            rel.name = new_name.table
            self.metastore.relations[new_name.parts] = rel
            return
        if isinstance(action, exp.AlterColumn) and action.args.get("comment") is not None:
            rel.column_comments[action.name.lower()] = literal_value(action.args["comment"]) or ""
            return
        if isinstance(action, exp.ColumnDef):
            self._run(
                ctx, f"ALTER TABLE {duckdb_table(name).sql('duckdb')} ADD COLUMN {action.sql('duckdb')}"
            )
            return
        if isinstance(action, exp.Drop) and (action.kind or "").upper() == "TBLPROPERTIES":
            return
        raise errors.unsupported(f"ALTER {rel.kind_title.upper()} ... {action.sql('databricks')[:40]}")

    def _comment(self, ctx: _Ctx, tree: exp.Comment) -> StatementResult:
        kind = (tree.args.get("kind") or "").upper()
        text = None if isinstance(tree.expression, exp.Null) else literal_value(tree.expression)
        with self._lock:
            if kind in ("TABLE", "VIEW"):
                _, name = self._target(ctx, tree.this)
                rel = self._relation(name)
                if rel is None:
                    raise errors.table_not_found(*name.parts)
                self._require_owner(ctx, rel)
                rel.comment = text
            elif kind == "COLUMN":
                column = tree.this
                parts = [p.name.lower() for p in column.parts] if isinstance(column, exp.Column) else []
                if len(parts) < 2:
                    raise errors.unsupported("COMMENT ON COLUMN without a table name")
                table = exp.to_table(".".join(f"`{p}`" for p in parts[:-1]), dialect="databricks")
                name = resolve(table, ctx.ns)
                rel = self._relation(name)
                if rel is None:
                    raise errors.table_not_found(*name.parts)
                self._require_owner(ctx, rel)
                rel.column_comments[parts[-1]] = text or ""
            elif kind in ("SCHEMA", "DATABASE"):
                catalog, schema = self._schema_name(ctx, tree.this)
                info = self._require_schema(catalog, schema)
                if ctx.principal != info.owner:
                    raise errors.not_owner("Schema", f"{catalog}.{schema}")
                info.comment = text
            else:
                raise errors.unsupported(f"COMMENT ON {kind}")
        return empty_result()

    def _alter_owner(self, ctx: _Ctx, statement: AlterOwner) -> StatementResult:
        with self._lock:
            if statement.kind in ("table", "view"):
                name = _name_from_parts(statement.target, ctx.ns)
                rel = self._relation(name)
                if rel is None:
                    raise errors.table_not_found(*name.parts)
                self._require_owner(ctx, rel)
                rel.owner = statement.owner
            elif statement.kind == "schema":
                catalog, schema = _schema_from_parts(statement.target, ctx.ns)
                info = self._require_schema(catalog, schema)
                if ctx.principal != info.owner:
                    raise errors.not_owner("Schema", f"{catalog}.{schema}")
                info.owner = statement.owner
            else:
                raise errors.unsupported("ALTER CATALOG ... OWNER TO")
        return empty_result()

    # --- SET, USE -------------------------------------------------------------------------------

    def _set(self, ctx: _Ctx, statement: SetConf) -> StatementResult:
        conf = {**_DEFAULT_CONF, **ctx.session.conf}
        if statement.key is None or statement.key == "-v":
            return rows_result([("key", "string"), ("value", "string")], sorted(conf.items()))
        if statement.value is None:
            value = conf.get(statement.key, "<undefined>")
            return rows_result([("key", "string"), ("value", "string")], [(statement.key, value)])
        if statement.key.lower() in TIME_ZONE_KEYS_LOWER:
            literals.time_zone(statement.value)  # INVALID_CONF_VALUE.TIME_ZONE for an unknown zone
        ctx.session.conf[statement.key] = statement.value
        return rows_result([("key", "string"), ("value", "string")], [(statement.key, statement.value)])

    def _use(self, ctx: _Ctx, statement: Use) -> StatementResult:
        session = ctx.session
        with self._lock:
            if statement.kind == "catalog":
                catalog = statement.name[-1]
                if catalog not in self.metastore.catalogs:
                    raise errors.catalog_not_found(catalog)
                self._require_use(ctx, catalog)
                session.catalog, session.schema = catalog, DEFAULT_SCHEMA
            else:
                catalog, schema = _schema_from_parts(statement.name, ctx.ns)
                self._require_schema(catalog, schema)
                self._require_use(ctx, catalog, schema)
                session.catalog, session.schema = catalog, schema
        return empty_result()

    # --- SHOW -----------------------------------------------------------------------------------

    def _show(self, ctx: _Ctx, show: Show) -> StatementResult:
        pattern = like_to_regex(show.pattern) if show.pattern else None

        def matches(text: str) -> bool:
            return pattern is None or bool(pattern.match(text))

        with self._lock:
            if show.kind == "catalogs":
                names = sorted([*self.metastore.catalogs, SYSTEM_CATALOG])
                return rows_result([("catalog", "string")], [(c,) for c in names if matches(c)])
            if show.kind == "schemas":
                catalog = show.target[-1] if show.target else ctx.ns.catalog
                if catalog == SYSTEM_CATALOG:
                    names = [INFORMATION_SCHEMA]
                else:
                    if catalog not in self.metastore.catalogs:
                        raise errors.catalog_not_found(catalog)
                    names = sorted(
                        [s.name for s in self.metastore.schemas_in(catalog)] + [INFORMATION_SCHEMA]
                    )
                return rows_result([("databaseName", "string")], [(s,) for s in names if matches(s)])
            if show.kind in ("tables", "views", "table_extended"):
                catalog, schema = (
                    _schema_from_parts(show.target, ctx.ns)
                    if show.target
                    else (
                        ctx.ns.catalog,
                        ctx.ns.schema,
                    )
                )
                self._require_schema(catalog, schema)
                rels = [r for r in self.metastore.relations_in(catalog, schema) if matches(r.name)]
                if show.kind == "tables":
                    rows: list[tuple[Any, ...]] = [(schema, r.name, False) for r in rels]
                    rows += [("", v, True) for v in sorted(ctx.session.temp_views) if matches(v)]
                    return rows_result(
                        [("database", "string"), ("tableName", "string"), ("isTemporary", "boolean")], rows
                    )
                if show.kind == "views":
                    rows = [(schema, r.name, False, False) for r in rels if r.type == "VIEW"]
                    rows += [("", v, True, False) for v in sorted(ctx.session.temp_views) if matches(v)]
                    return rows_result(
                        [
                            ("namespace", "string"),
                            ("viewName", "string"),
                            ("isTemporary", "boolean"),
                            ("isMaterialized", "boolean"),
                        ],
                        rows,
                    )
                rows = [(schema, r.name, False, self._table_information(r)) for r in rels]
                return rows_result(
                    [
                        ("database", "string"),
                        ("tableName", "string"),
                        ("isTemporary", "boolean"),
                        ("information", "string"),
                    ],
                    rows,
                )
            if show.kind == "tblproperties":
                rel = self._existing(ctx, show.target)
                items = sorted(rel.properties.items())
                if show.key is not None:
                    value = rel.properties.get(show.key)
                    if value is None:
                        value = f"Table {rel.full_name} does not have property: {show.key}"
                    items = [(show.key, value)]
                return rows_result([("key", "string"), ("value", "string")], items)
            if show.kind == "columns":
                rel = self._existing(ctx, show.target)
                return rows_result([("col_name", "string")], [(c,) for c, _ in self._columns(rel)])
            if show.kind == "functions":
                return rows_result([("function", "string")], [])
            if show.kind == "create_table":
                rel = self._existing(ctx, show.target)
                return rows_result([("createtab_stmt", "string")], [(self._create_statement(rel),)])
        raise errors.unsupported(f"SHOW {show.kind.upper()}")

    def _existing(self, ctx: _Ctx, parts: tuple[str, ...]) -> RelationInfo:
        name = _name_from_parts(parts, ctx.ns)
        rel = self._relation(name)
        if rel is None:
            raise errors.table_not_found(*name.parts)
        self._require_use(ctx, name.catalog, name.schema)
        return rel

    def _columns(self, rel: RelationInfo) -> list[tuple[str, str]]:
        """(column name, Databricks type) of a table or view, in order."""
        with self._lock:  # the shared connection is not thread-safe
            rows = self._db.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                [duckdb_catalog(rel.catalog), rel.schema, rel.name],
            ).fetchall()
        return [(str(n), databricks_type_from_duckdb(str(t))) for n, t in rows]

    def columns_of(self, rel: RelationInfo) -> list[tuple[str, str]]:
        return self._columns(rel)

    def _table_information(self, rel: RelationInfo) -> str:
        lines = [
            f"Catalog: {rel.catalog}",
            f"Database: {rel.schema}",
            f"Table: {rel.name}",
            f"Owner: {rel.owner}",
            f"Created Time: {_java_date(rel.created_at)}",
            "Last Access: UNKNOWN",
            "Created By: Spark",
            f"Type: {rel.type}",
        ]
        if rel.comment:
            lines.append(f"Comment: {rel.comment}")
        if rel.type == "VIEW":
            lines.append(f"View Text: {rel.view_text or ''}")
            lines.append(f"View Original Text: {rel.view_text or ''}")
        else:
            lines.append(f"Provider: {rel.provider}")
            lines.append(f"Location: {self._location(rel)}")
        if rel.properties:
            props = ", ".join(f"{k}={v}" for k, v in sorted(rel.properties.items()))
            lines.append(f"Table Properties: [{props}]")
        lines.append("Schema: root")
        for column, dbx_type in self._columns(rel):
            lines.append(f" |-- {column}: {_spark_tree_type(dbx_type)} (nullable = true)")
        return "\n".join(lines) + "\n"

    def _location(self, rel: RelationInfo) -> str:
        return f"abfss://metastore@sandbox.dfs.core.windows.net/{rel.catalog}/{rel.schema}/{rel.name}"

    def _create_statement(self, rel: RelationInfo) -> str:
        cols = self._columns(rel)
        if rel.type == "VIEW":
            names = ", ".join(c for c, _ in cols)
            return f"CREATE VIEW {rel.full_name} (\n  {names})\nAS {rel.view_text}\n"
        columns = ",\n  ".join(f"{c} {t.upper()}" for c, t in cols)
        return f"CREATE TABLE {rel.full_name} (\n  {columns})\nUSING {rel.provider}\n"

    # --- DESCRIBE -------------------------------------------------------------------------------

    def _describe(self, ctx: _Ctx, describe: Describe) -> StatementResult:
        if describe.kind == "query":
            statement = parse_statement(describe.column or "")
            if not isinstance(statement, Sql) or not isinstance(statement.tree, (exp.Query, exp.Values)):
                raise errors.unsupported("DESCRIBE QUERY of a non-query")
            duck_sql, names = self._rewrite(ctx, statement.tree)
            self._check_readable(ctx, names)
            table = self._run(ctx, f"SELECT * FROM ({duck_sql}) LIMIT 0")
            assert table is not None
            return rows_result(
                [("col_name", "string"), ("data_type", "string"), ("comment", "string")],
                [(f.name, databricks_type(f.type), None) for f in table.schema],
            )
        with self._lock:
            if describe.kind == "catalog":
                catalog = describe.target[-1]
                cat = self.metastore.catalogs.get(catalog)
                if cat is None:
                    raise errors.catalog_not_found(catalog)
                rows = [("Catalog Name", catalog), ("Comment", cat.comment or ""), ("Owner", cat.owner)]
                rows.append(("Catalog Type", "Regular"))
                return rows_result([("info_name", "string"), ("info_value", "string")], rows)
            if describe.kind == "schema":
                catalog, schema = _schema_from_parts(describe.target, ctx.ns)
                info = self._require_schema(catalog, schema)
                rows = [
                    ("Catalog Name", catalog),
                    ("Namespace Name", schema),
                    ("Comment", info.comment or ""),
                    ("Location", f"abfss://metastore@sandbox.dfs.core.windows.net/{catalog}/{schema}"),
                    ("Owner", info.owner),
                ]
                if describe.extended:
                    props = ", ".join(f"({k},{v})" for k, v in sorted(info.properties.items()))
                    rows.append(("Properties", f"({props})" if props else ""))
                return rows_result(
                    [("database_description_item", "string"), ("database_description_value", "string")], rows
                )
            temp = describe.target[0] if len(describe.target) == 1 else None
            if temp is not None and temp in ctx.session.temp_views:
                rel, columns = self._temp_view(ctx, temp)
            else:
                rel = self._existing(ctx, describe.target)
                columns = self._columns(rel)
            if describe.as_json:
                return rows_result([("json_metadata", "string")], [(self._describe_json(rel, columns),)])
            if describe.column is not None:
                found = [c for c in columns if c[0].lower() == describe.column]
                if not found:
                    raise errors.unresolved_column(describe.column, [c for c, _ in columns])
                col, dbx_type = found[0]
                rows = [
                    ("col_name", col),
                    ("data_type", dbx_type),
                    ("comment", rel.column_comments.get(col.lower(), "NULL")),
                ]
                return rows_result([("info_name", "string"), ("info_value", "string")], rows)
            out: list[tuple[str, str, str | None]] = [
                (c, t, rel.column_comments.get(c.lower())) for c, t in columns
            ]
            if describe.extended:
                out.append(("", "", ""))
                out.append(("# Detailed Table Information", "", ""))
                for key, value in self._detail_rows(rel):
                    out.append((key, value, ""))
            return rows_result([("col_name", "string"), ("data_type", "string"), ("comment", "string")], out)

    def _temp_view(self, ctx: _Ctx, view: str) -> tuple[RelationInfo, list[tuple[str, str]]]:
        """A session's temporary view as a relation (no catalog, no schema) and its columns."""
        table = self._run(ctx, f"SELECT * FROM {_q(view)} LIMIT 0")
        assert table is not None
        now = self.clock.now()
        rel = RelationInfo("", "", view, "VIEW", ctx.principal, now, ctx.principal, now, ctx.principal)
        rel.provider, rel.view_text = None, ctx.session.temp_views[view]
        return rel, [(f.name, databricks_type(f.type)) for f in table.schema]

    def _detail_rows(self, rel: RelationInfo) -> list[tuple[str, str]]:
        rows = [
            ("Catalog", rel.catalog),
            ("Database", rel.schema),
            ("Table", rel.name),
            ("Created Time", _java_date(rel.created_at)),
            ("Last Access", "UNKNOWN"),
            ("Created By", "Spark"),
            ("Type", rel.type),
        ]
        if rel.comment is not None:
            rows.append(("Comment", rel.comment))
        if rel.type == "VIEW":
            rows += [
                ("View Text", rel.view_text or ""),
                ("View Original Text", rel.view_text or ""),
                ("View Catalog and Namespace", f"{rel.catalog}.{rel.schema}"),
                ("View Query Output Columns", "[" + ", ".join(f"`{c}`" for c, _ in self._columns(rel)) + "]"),
            ]
        else:
            rows += [("Location", self._location(rel)), ("Provider", rel.provider or "delta")]
        rows.append(("Owner", rel.owner))
        if rel.type != "VIEW":
            rows.append(("Is_managed_location", "true"))
        props = ",".join(f"{k}={v}" for k, v in sorted(rel.properties.items()))
        rows.append(("Table Properties", f"[{props}]"))
        return rows

    def _describe_json(self, rel: RelationInfo, columns: list[tuple[str, str]]) -> str:
        doc: dict[str, Any] = {
            "table_name": rel.name,
            "catalog_name": rel.catalog,
            "schema_name": rel.schema,
            "namespace": [rel.schema],
            "type": rel.type,
            "columns": [
                {
                    "name": c,
                    "type": _json_type(t),
                    "nullable": True,
                    **(
                        {"comment": rel.column_comments[c.lower()]}
                        if c.lower() in rel.column_comments
                        else {}
                    ),
                }
                for c, t in columns
            ],
            "owner": rel.owner,
            "created_time": _iso(rel.created_at),
            "last_access": "UNKNOWN",
            "created_by": "Spark",
            "table_properties": dict(sorted(rel.properties.items())),
        }
        if rel.comment is not None:
            doc["comment"] = rel.comment
        if rel.type == "VIEW":
            doc["view_text"] = rel.view_text or ""
            doc["view_original_text"] = rel.view_text or ""
            doc["view_catalog_and_namespace"] = f"{rel.catalog}.{rel.schema}"
            doc["view_query_output_columns"] = [c for c, _ in columns]
        else:
            doc["provider"] = rel.provider or "delta"
            doc["location"] = self._location(rel)
            doc["is_managed_location"] = True
        return json.dumps(doc)


# --- module helpers -----------------------------------------------------------------------------


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _name_from_parts(parts: tuple[str, ...], ns: Namespace) -> Name:
    if len(parts) == 1:
        return Name(ns.catalog, ns.schema, parts[0])
    if len(parts) == 2:
        return Name(ns.catalog, parts[0], parts[1])
    return Name(parts[-3], parts[-2], parts[-1])


def _schema_from_parts(parts: tuple[str, ...], ns: Namespace) -> tuple[str, str]:
    if len(parts) == 1:
        return ns.catalog, parts[0]
    return parts[-2], parts[-1]


def _result(table: pa.Table) -> StatementResult:
    return StatementResult(table, [databricks_type(f.type) for f in table.schema])


def _first_count(table: pa.Table | None) -> int:
    if table is None or table.num_rows == 0 or table.num_columns == 0:
        return 0
    value = table.column(0)[0].as_py()
    return int(value) if isinstance(value, int) else 0


def _dml_result(columns: list[str], values: list[int], modified: int) -> StatementResult:
    result = rows_result([(c, "bigint") for c in columns], [tuple(values)])
    result.modified_rows = modified
    return result


def _java_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spark_tree_type(dbx_type: str) -> str:
    return {"int": "integer", "bigint": "long", "smallint": "short", "tinyint": "byte"}.get(
        dbx_type, dbx_type
    )


def _json_type(dbx_type: str) -> dict[str, Any]:
    if dbx_type.startswith("decimal("):
        precision, scale = dbx_type[8:-1].split(",")
        return {"name": "decimal", "precision": int(precision), "scale": int(scale)}
    if dbx_type.startswith("array<"):
        return {"name": "array", "element_type": _json_type(dbx_type[6:-1]), "element_nullable": True}
    return {"name": dbx_type.split("<", 1)[0]}


def _map_duckdb_error(exc: duckdb.Error, ctx: _Ctx) -> errors.WarehouseSqlError:
    import re

    text = str(exc)
    first = text.split("\n", 1)[0]
    m = re.search(r'Referenced column "([^"]+)" not found.*?(?:Candidate bindings: (.*))?$', text, re.S)
    if m:
        candidates = re.findall(r'"([^"]+)"', m.group(2) or "")
        return errors.unresolved_column(m.group(1), [c.split(".")[-1] for c in candidates])
    m = re.search(r"(?:Scalar|Aggregate|Table) Function with name (\S+) does not exist", text)
    if m:
        return errors.unresolved_routine(m.group(1).strip('"'), ctx.ns.catalog, ctx.ns.schema)
    m = re.search(r"Could not convert string '([^']*)' to (\w+)", text)
    if m:
        return errors.cast_invalid_input(m.group(1), m.group(2))
    if isinstance(exc, duckdb.ConstraintException) and "NOT NULL" in text:
        return errors.WarehouseSqlError(
            "DELTA_NOT_NULL_CONSTRAINT_VIOLATED", "NOT NULL constraint violated for column.", "23502"
        )
    if isinstance(exc, duckdb.ParserException):
        near = re.search(r'at or near "([^"]*)"', text)
        return errors.parse_syntax_error(near.group(1) if near else "end of input", ctx.sql.strip())
    if isinstance(exc, duckdb.TransactionException):
        return errors.WarehouseSqlError(
            "DELTA_CONCURRENT_WRITE",
            "A concurrent transaction has written new data since this one started.",
            "2D521",
        )
    return errors.WarehouseSqlError(
        "INTERNAL_ERROR", f"The sandbox engine could not run this statement: {first}", "XX000"
    )
