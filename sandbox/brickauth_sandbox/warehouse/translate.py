"""Databricks SQL -> statements the engine runs on DuckDB.

``parse_statement`` turns one Databricks SQL statement into a ``Statement``: the commands DuckDB has no
equivalent for (SHOW, DESCRIBE, SET, USE, ...) become small dataclasses the engine answers from its own
catalog; everything else stays a sqlglot tree (read with the ``databricks`` dialect) that
``to_duckdb`` rewrites: names are qualified with the session's catalog and schema and mapped to the
DuckDB databases that hold each Unity Catalog catalog, session functions (``current_user()``,
``current_catalog()``...) become literals, and information_schema views become the engine's tables.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from brickauth_sandbox.warehouse import errors, literals
from brickauth_sandbox.warehouse.literals import DEFAULT_TIME_ZONE

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "Unsupported property ..." warnings are noise

DIALECT = "databricks"
DUCKDB_CATALOG_PREFIX = "uc_"
INFORMATION_SCHEMA = "information_schema"
SYSTEM_CATALOG = "system"
MAPPED = "brickauth_mapped"  # sqlglot meta flag: a table already mapped to its DuckDB name


@dataclass(frozen=True)
class Name:
    """A Unity Catalog three-level name, lower case."""

    catalog: str
    schema: str
    table: str

    @property
    def full(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table}"

    @property
    def parts(self) -> tuple[str, str, str]:
        return (self.catalog, self.schema, self.table)


@dataclass(frozen=True)
class Namespace:
    catalog: str
    schema: str


# --- statements the engine answers itself -------------------------------------------------------


@dataclass(frozen=True)
class Show:
    # schemas, tables, views, table_extended, tblproperties, catalogs, columns, functions, create_table
    kind: str
    target: tuple[str, ...] = ()  # catalog (schemas), schema parts (tables), table parts (tblproperties)
    pattern: str | None = None
    key: str | None = None  # SHOW TBLPROPERTIES t ('key')


@dataclass(frozen=True)
class Describe:
    kind: str  # table, schema, catalog, query
    target: tuple[str, ...]
    extended: bool = False
    as_json: bool = False
    column: str | None = None


@dataclass(frozen=True)
class SetConf:
    key: str | None  # None: SET (list all)
    value: str | None  # None: show the key's value


@dataclass(frozen=True)
class Use:
    kind: str  # catalog, schema
    name: tuple[str, ...]


@dataclass(frozen=True)
class NoOp:
    """Accepted and ignored (OPTIMIZE, ANALYZE, REFRESH...): Databricks answers with no rows."""

    what: str


@dataclass(frozen=True)
class AlterOwner:
    kind: str  # table, view, schema, catalog
    target: tuple[str, ...]
    owner: str


@dataclass(frozen=True)
class Sql:
    """Anything sqlglot parsed; the engine dispatches on the node type."""

    tree: exp.Expression
    text: str = field(compare=False)


Statement = Show | Describe | SetConf | Use | NoOp | AlterOwner | Sql

_IDENT = r"(?:`(?:[^`]|``)+`|[A-Za-z_][\w$-]*)"
_NAME = rf"(?P<name>{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}})"
_PATTERN = r"(?:\s+(?:LIKE\s+)?'(?P<pattern>[^']*)')?"
_IN = r"(?:\s+(?:IN|FROM)\s+" + _NAME + r")?"

_SHOW_RE: list[tuple[str, re.Pattern[str]]] = [
    ("schemas", re.compile(r"SHOW\s+(?:SCHEMAS|DATABASES)" + _IN + _PATTERN + r"\s*$", re.I | re.S)),
    ("table_extended", re.compile(r"SHOW\s+TABLE\s+EXTENDED" + _IN + _PATTERN + r"\s*$", re.I | re.S)),
    ("tables", re.compile(r"SHOW\s+TABLES" + _IN + _PATTERN + r"\s*$", re.I | re.S)),
    ("views", re.compile(r"SHOW\s+VIEWS" + _IN + _PATTERN + r"\s*$", re.I | re.S)),
    ("catalogs", re.compile(r"SHOW\s+CATALOGS" + _PATTERN + r"\s*$", re.I | re.S)),
    (
        "functions",
        re.compile(r"SHOW\s+(?:USER\s+|SYSTEM\s+|ALL\s+)?FUNCTIONS" + _IN + _PATTERN + r"\s*$", re.I | re.S),
    ),
    (
        "tblproperties",
        re.compile(
            r"SHOW\s+TBLPROPERTIES\s+" + _NAME + r"(?:\s*\(\s*'(?P<key>[^']*)'\s*\))?\s*$", re.I | re.S
        ),
    ),
    ("columns", re.compile(r"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+" + _NAME + r"\s*$", re.I | re.S)),
    ("create_table", re.compile(r"SHOW\s+CREATE\s+TABLE\s+" + _NAME + r"\s*$", re.I | re.S)),
]
_DESCRIBE_RE = re.compile(
    r"(?:DESC|DESCRIBE)\s+(?P<kind>TABLE\s+|SCHEMA\s+|DATABASE\s+|CATALOG\s+)?(?P<ext>EXTENDED\s+|FORMATTED\s+)?"
    + _NAME
    + r"(?:\s+(?P<column>(?!AS\b)"
    + _IDENT
    + r"))?(?P<json>\s+AS\s+JSON)?\s*$",
    re.I | re.S,
)
_DESCRIBE_QUERY_RE = re.compile(r"(?:DESC|DESCRIBE)\s+QUERY\s+", re.I)
_USE_RE = re.compile(r"USE\s+(?:(?P<kind>CATALOG|SCHEMA|DATABASE)\s+)?" + _NAME + r"\s*$", re.I | re.S)
_SET_RE = re.compile(r"SET(?:\s+(?P<key>-v|[^=\s]+)(?:\s*=\s*(?P<value>.*?))?)?\s*$", re.I | re.S)
_SET_TIME_ZONE_RE = re.compile(r"SET\s+TIME\s+ZONE\s+(?P<zone>LOCAL|'[^']*'|\"[^\"]*\")\s*$", re.I | re.S)
_NOOP_RE = re.compile(r"(OPTIMIZE|ANALYZE|REFRESH|VACUUM|MSCK|CACHE|UNCACHE|CLEAR\s+CACHE|FSCK)\b", re.I)
_OWNER_RE = re.compile(
    r"ALTER\s+(?P<kind>TABLE|VIEW|SCHEMA|DATABASE|CATALOG)\s+" + _NAME + r"\s+(?:SET\s+)?OWNER\s+TO\s+"
    r"(?P<owner>`(?:[^`]|``)+`|\S+)\s*$",
    re.I | re.S,
)
_STATEMENT_HEADS = {
    "SELECT",
    "WITH",
    "VALUES",
    "FROM",
    "TABLE",
    "(",
    "CREATE",
    "REPLACE",
    "DROP",
    "ALTER",
    "INSERT",
    "MERGE",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "COMMENT",
    "GRANT",
    "REVOKE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "EXPLAIN",
    "COPY",
    "DECLARE",
    "EXECUTE",
    "CALL",
    "MSCK",
    "LIST",
    "GET",
    "PUT",
    "REMOVE",
}
_CREATE_CATALOG_RE = re.compile(r"CREATE\s+CATALOG\b", re.I)


def split_name(text: str) -> tuple[str, ...]:
    """```a`.b`` -> ("a", "b") with backticks removed and unquoted parts lower-cased."""
    parts = re.findall(r"`((?:[^`]|``)+)`|([^.\s`]+)", text)
    return tuple((quoted.replace("``", "`") if quoted else bare).lower() for quoted, bare in parts)


def strip_comments(sql: str) -> str:
    """Drop leading ``--``/``/* */`` comments (dbt prepends its query comment) and a final ``;``."""
    text = sql.strip()
    while True:
        if text.startswith("--"):
            text = text.split("\n", 1)[1].lstrip() if "\n" in text else ""
        elif text.startswith("/*") and "*/" in text:
            text = text.split("*/", 1)[1].lstrip()
        else:
            break
    return text.rstrip().rstrip(";").rstrip()


def parse_statement(sql: str) -> Statement:
    text = strip_comments(sql)
    if not text:
        raise errors.parse_syntax_error("end of input", sql)
    first = re.match(r"\(|[A-Za-z_]\w*", text)
    head = first.group(0).upper() if first else text.split(None, 1)[0]
    if head == "SHOW":
        for kind, pattern in _SHOW_RE:
            m = pattern.match(text)
            if m:
                groups = m.groupdict()
                target = split_name(groups["name"]) if groups.get("name") else ()
                return Show(kind, target, groups.get("pattern"), groups.get("key"))
        raise errors.unsupported(f"the statement {_abbrev(text)!r}")
    if head in ("DESC", "DESCRIBE"):
        if _DESCRIBE_QUERY_RE.match(text):
            return Describe("query", (), False, False, _DESCRIBE_QUERY_RE.sub("", text, count=1))
        m = _DESCRIBE_RE.match(text)
        if not m:
            raise errors.parse_syntax_error(text.split(None, 2)[1] if " " in text else text, sql)
        kind = (m.group("kind") or "table").strip().lower()
        kind = "schema" if kind == "database" else kind
        column = split_name(m.group("column"))[0] if m.group("column") else None
        return Describe(
            kind, split_name(m.group("name")), bool(m.group("ext")), bool(m.group("json")), column
        )
    if head == "USE":
        m = _USE_RE.match(text)
        if not m:
            raise errors.parse_syntax_error("USE", sql)
        kind = (m.group("kind") or "schema").lower()
        return Use("schema" if kind == "database" else kind, split_name(m.group("name")))
    if head == "SET":
        m = _SET_TIME_ZONE_RE.match(text)
        if m:  # Spark: SET TIME ZONE sets spark.sql.session.timeZone (LOCAL: the JVM's zone, UTC here)
            zone = m.group("zone")
            if zone.upper() == "LOCAL":
                zone = DEFAULT_TIME_ZONE
            elif zone[0] in "'\"":
                zone = zone[1:-1]
            return SetConf("spark.sql.session.timeZone", zone)
        m = _SET_RE.match(text)
        if m:
            value = m.group("value")
            if value is not None:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
            return SetConf(m.group("key"), value)
    if _NOOP_RE.match(text) and ";" not in text:
        return NoOp(text.split(None, 1)[0].upper())
    m = _OWNER_RE.match(text)
    if m:
        owner = m.group("owner")
        owner = owner[1:-1].replace("``", "`") if owner.startswith("`") else owner
        kind = m.group("kind").lower()
        return AlterOwner("schema" if kind == "database" else kind, split_name(m.group("name")), owner)
    if _CREATE_CATALOG_RE.match(text):
        raise errors.unsupported("CREATE CATALOG (catalogs are set up through the sandbox controls)")
    if head not in _STATEMENT_HEADS:  # Spark stops at the first word it cannot start a statement with
        raise errors.parse_syntax_error(text.split(None, 1)[0], text)
    try:
        trees = [t for t in sqlglot.parse(text, read=DIALECT) if t is not None]
    except (ParseError, TokenError) as exc:
        raise _syntax_error(exc, text) from None
    if len(trees) != 1:
        raise errors.parse_syntax_error(";", sql)
    tree = trees[0]
    if isinstance(tree, exp.Command):
        raise errors.unsupported(f"the statement {_abbrev(text)!r}")
    return Sql(cast(exp.Expression, tree), text)


def _abbrev(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _syntax_error(exc: Exception, text: str) -> errors.WarehouseSqlError:
    near = "end of input"
    line, col = 1, 0
    details = getattr(exc, "errors", None)
    if details:
        first = details[0]
        near = str(first.get("highlight") or near)
        line, col = int(first.get("line") or 1), max(int(first.get("col") or 0) - len(near), 0)
    return errors.parse_syntax_error(near, text, line, col)


# --- rewriting queries for DuckDB ---------------------------------------------------------------


def duckdb_catalog(catalog: str) -> str:
    return DUCKDB_CATALOG_PREFIX + catalog


def resolve(table: exp.Table, ns: Namespace) -> Name:
    parts = [p.name.lower() for p in table.parts]
    if len(parts) == 1:
        return Name(ns.catalog, ns.schema, parts[0])
    if len(parts) == 2:
        return Name(ns.catalog, parts[0], parts[1])
    return Name(parts[-3], parts[-2], parts[-1])


def duckdb_table(name: Name, alias: exp.Expression | None = None) -> exp.Table:
    table = exp.Table(
        this=exp.to_identifier(name.table, quoted=True),
        db=exp.to_identifier(name.schema, quoted=True),
        catalog=exp.to_identifier(duckdb_catalog(name.catalog), quoted=True),
    )
    if alias is not None:
        table.set("alias", alias)
    return table


def is_information_schema(name: Name) -> bool:
    return name.schema == INFORMATION_SCHEMA


@dataclass
class Rewrite:
    """The DuckDB text of a statement plus the relations it reads and the session values it needed."""

    sql: str
    tables: list[Name]
    information_schema: list[Name]


SessionValues = Callable[[], dict[str, str]]


def table_references(tree: exp.Expression) -> list[exp.Table]:
    """Tables a statement names, without CTE references and table functions."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    refs = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # table function such as range(10)
        if not table.db and table.name.lower() in ctes:
            continue
        refs.append(table)
    return refs


def to_duckdb(
    tree: exp.Expression,
    ns: Namespace,
    *,
    principal: str,
    information_schema: Callable[[Name], exp.Expression],
    local: set[str] | frozenset[str] = frozenset(),
    session_zone: str = DEFAULT_TIME_ZONE,
    ansi: bool = True,
) -> Rewrite:
    """Rewrite a parsed Databricks statement (on a copy) and generate DuckDB SQL.

    Tables flagged ``brickauth_mapped`` in their meta are already DuckDB names and stay as they are;
    one-part names in ``local`` (the session's temporary views) stay unqualified. ``session_zone`` and
    ``ansi`` are the session's time zone and ``ansi_mode`` (for DATE/TIMESTAMP literals).
    """
    tree = tree.copy()
    _replace_range(tree)
    _fold_datetime_literals(tree, session_zone=session_zone, ansi=ansi)
    names: list[Name] = []
    info: list[Name] = []
    for table in table_references(tree):
        if table.meta.get(MAPPED):
            continue
        if len(table.parts) == 1 and table.name.lower() in local:
            table.set("this", exp.to_identifier(table.name.lower(), quoted=True))
            continue
        name = resolve(table, ns)
        alias = table.args.get("alias")
        if is_information_schema(name):
            info.append(name)
            replacement = information_schema(name)
            alias = alias or exp.TableAlias(this=exp.to_identifier(name.table))
            table.replace(exp.Subquery(this=replacement, alias=alias))
            continue
        names.append(name)
        new = duckdb_table(name, alias)
        for key in ("joins", "pivots", "laterals", "version", "sample"):
            if table.args.get(key):
                new.set(key, table.args[key])
        table.replace(new)
    _replace_session_functions(tree, ns, principal)
    return Rewrite(tree.sql("duckdb"), names, info)


def _replace_range(tree: exp.Expression) -> None:
    """``RANGE(end)`` / ``RANGE(start, end[, step[, partitions]])``: one BIGINT column named ``id`` in
    Databricks (DuckDB's ``range`` calls it ``range``)."""
    for table in list(tree.find_all(exp.Table)):
        fn = table.this
        if not (isinstance(fn, exp.Anonymous) and str(fn.this).lower() == "range"):
            continue
        args = [exp.cast(a.copy(), exp.DataType.build("BIGINT")) for a in fn.expressions[:3]]
        inner = exp.select(exp.alias_(exp.column("range"), "id")).from_(
            exp.Table(this=exp.Anonymous(this="range", expressions=args))
        )
        alias = table.args.get("alias")
        replacement = exp.Subquery(this=inner, alias=alias.copy() if alias is not None else None)
        for key in ("joins", "pivots", "laterals"):
            if table.args.get(key):
                replacement.set(key, table.args[key])
        table.replace(replacement)


_LTZ_TYPES = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ)


def _fold_datetime_literals(tree: exp.Expression, *, session_zone: str, ansi: bool) -> None:
    """String literals cast to DATE / TIMESTAMP / TIMESTAMP_NTZ become exact DuckDB literals (Spark's
    partial forms, zones and invalid-value rules: ``literals.py``); other casts to Databricks' TIMESTAMP
    (local time zone semantics) go to DuckDB's TIMESTAMPTZ, read in the session zone."""
    for cast_node in list(tree.find_all(exp.Cast)):
        to = cast_node.args.get("to")
        if not isinstance(to, exp.DataType):
            continue
        value = cast_node.this
        literal = value.this if isinstance(value, exp.Literal) and value.is_string else None
        if to.this == exp.DataType.Type.DATE and literal is not None:
            day = literals.parse_date(literal, ansi=ansi and not isinstance(cast_node, exp.TryCast))
            value_node = exp.Literal.string(day.isoformat()) if day is not None else exp.Null()
            cast_node.replace(exp.cast(value_node, exp.DataType.build("DATE")))
        elif to.this in _LTZ_TYPES or to.this == exp.DataType.Type.TIMESTAMPNTZ:
            ntz = to.this == exp.DataType.Type.TIMESTAMPNTZ
            target = exp.DataType.build("TIMESTAMP" if ntz else "TIMESTAMPTZ")
            if literal is None:
                if not ntz:
                    cast_node.set("to", target)
                continue
            strict = ansi and not isinstance(cast_node, exp.TryCast)
            ts = literals.parse_timestamp(literal, session_zone=session_zone, ansi=strict, ntz=ntz)
            if ts is None:
                cast_node.replace(exp.cast(exp.Null(), target))
            else:
                iso = ts.isoformat(sep=" ") if ntz else ts.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
                cast_node.replace(exp.cast(exp.Literal.string(iso), target))


def current_version_struct() -> exp.Expression:
    return exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier("compute_version"), expression=exp.Null()),
            exp.PropertyEQ(this=exp.to_identifier("dbr_version"), expression=exp.Literal.string("17.3.x")),
            exp.PropertyEQ(this=exp.to_identifier("dbsql_version"), expression=exp.Literal.string("2025.35")),
            exp.PropertyEQ(this=exp.to_identifier("u_build_hash"), expression=exp.Literal.string("sandbox")),
            exp.PropertyEQ(this=exp.to_identifier("r_build_hash"), expression=exp.Literal.string("sandbox")),
        ]
    )


_SESSION_FUNCTION_NAMES = {
    "current_user": "current_user()",
    "session_user": "session_user()",
    "user": "current_user()",
    "current_catalog": "current_catalog()",
    "current_database": "current_schema()",
    "current_schema": "current_schema()",
    "current_version": "current_version()",
    "current_metastore": "current_metastore()",
}


def _session_value(node: exp.Expression, ns: Namespace, principal: str) -> tuple[str, exp.Expression] | None:
    """(function name, literal) for a session function such as ``current_user()``."""
    if isinstance(node, exp.CurrentUser):
        fname = "current_user"
    elif isinstance(node, exp.SessionUser):
        fname = "session_user"
    elif isinstance(node, exp.CurrentCatalog):
        fname = "current_catalog"
    elif isinstance(node, (exp.CurrentSchema, exp.CurrentDatabase)):
        fname = "current_schema"
    elif isinstance(node, exp.CurrentVersion):
        fname = "current_version"
    elif isinstance(node, exp.Anonymous) and node.name.lower() in _SESSION_FUNCTION_NAMES:
        fname = node.name.lower()
    else:
        return None
    if fname in ("current_user", "session_user", "user"):
        return fname, exp.Literal.string(principal)
    if fname == "current_catalog":
        return fname, exp.Literal.string(ns.catalog)
    if fname in ("current_schema", "current_database"):
        return fname, exp.Literal.string(ns.schema)
    if fname == "current_version":
        return fname, current_version_struct()
    return fname, exp.Literal.string("azure:westeurope:00000000-0000-0000-0000-000000000000")


def _replace_session_functions(tree: exp.Expression, ns: Namespace, principal: str) -> None:
    for walked in list(tree.walk()):
        node = cast(exp.Expression, walked)
        if node is tree:
            continue
        found = _session_value(node, ns, principal)
        if found is None:
            continue
        fname, value = found
        parent = node.parent
        if isinstance(parent, exp.Select) and node in parent.expressions:
            # Databricks names an unaliased projection after the call: "current_user()".
            value = cast(exp.Expression, exp.alias_(value, _SESSION_FUNCTION_NAMES[fname], quoted=True))
        node.replace(value)


@dataclass(frozen=True)
class Parameter:
    """A native query parameter (``TSparkParameter``): ``:name`` when named, else ``?`` in order."""

    name: str | None
    type: str
    value: str | None


def bind_parameters(tree: exp.Expression, parameters: list[Parameter]) -> exp.Expression:
    tree = tree.copy()
    named = {p.name.lower(): p for p in parameters if p.name}
    positional = iter([p for p in parameters if not p.name])
    for node in list(tree.find_all(exp.Placeholder)):
        if node.this:
            param = named.get(str(node.this).lower())
        else:
            param = next(positional, None)
        if param is None:
            raise errors.WarehouseSqlError(
                "UNBOUND_SQL_PARAMETER",
                f"Found the unbound parameter: {node.this or '?'}. Please, fix `args` and provide a mapping "
                "of the parameter to either a SQL literal or collection constructor functions such as "
                "`map()`, `array()`, `struct()`.",
                "42P02",
            )
        node.replace(_parameter_literal(param))
    return tree


def _parameter_literal(param: Parameter) -> exp.Expression:
    if param.value is None or param.type.upper() == "VOID":
        return exp.Null()
    return exp.cast(exp.Literal.string(param.value), to=exp.DataType.build(param.type, dialect=DIALECT))


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """Databricks SHOW ... LIKE patterns: ``*`` any characters, ``|`` alternatives, case-insensitive."""
    alternatives = [re.escape(alt.strip()).replace(r"\*", ".*") for alt in pattern.split("|")]
    return re.compile("^(?:" + "|".join(alternatives) + ")$", re.I)


def literal_value(node: exp.Expression | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    return node.sql(DIALECT)


def properties_of(tree: exp.Expression) -> tuple[str | None, dict[str, str], str | None]:
    """(comment, tblproperties, provider) declared in a CREATE statement."""
    comment: str | None = None
    props: dict[str, str] = {}
    provider: str | None = None
    properties = tree.args.get("properties")
    if isinstance(properties, exp.Properties):
        for prop in properties.expressions:
            if isinstance(prop, exp.SchemaCommentProperty):
                comment = literal_value(prop.this)
            elif isinstance(prop, exp.FileFormatProperty):
                provider = (literal_value(prop.this) or "").lower()
            elif type(prop) is exp.Property:
                key = literal_value(prop.this)
                if key is not None:
                    props[key] = literal_value(prop.args.get("value")) or ""
    return comment, props, provider


def strip_create_extras(tree: exp.Create) -> exp.Create:
    """Drop what DuckDB cannot store (USING, COMMENT, TBLPROPERTIES, PARTITIONED BY, column comments)."""
    tree = tree.copy()
    tree.set("properties", None)
    for constraint in list(tree.find_all(exp.CommentColumnConstraint)):
        parent = constraint.parent
        constraint.pop()
        if isinstance(parent, exp.ColumnConstraint):
            parent.pop()
    return tree


def column_comments(tree: exp.Create) -> dict[str, str]:
    comments: dict[str, str] = {}
    for coldef in tree.find_all(exp.ColumnDef):
        for constraint in coldef.find_all(exp.CommentColumnConstraint):
            value = literal_value(constraint.this)
            if value is not None:
                comments[coldef.name.lower()] = value
    return comments
