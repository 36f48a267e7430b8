"""SQL errors shaped like Databricks SQL's: ``[ERROR_CLASS] message SQLSTATE: xxxxx``."""

from __future__ import annotations


def quote_name(*parts: str) -> str:
    """```main`.`default`.`t``` as Databricks prints names in error messages."""
    return ".".join(f"`{p}`" for p in parts)


class WarehouseSqlError(Exception):
    """A statement failed; the Thrift layer reports it as a failed operation (``ERROR_STATE``)."""

    def __init__(self, error_class: str | None, message: str, sqlstate: str, context: str = "") -> None:
        self.error_class = error_class
        self.message = message
        self.sqlstate = sqlstate
        self.context = context  # after SQLSTATE: "; line 1 pos 14" or a "== SQL ==" excerpt
        super().__init__(message)

    def __str__(self) -> str:
        return self.display_message

    @property
    def display_message(self) -> str:
        if self.error_class is None:  # Unity Catalog service errors: "PERMISSION_DENIED: ..."
            return self.message
        return f"[{self.error_class}] {self.message} SQLSTATE: {self.sqlstate}{self.context}"

    @property
    def error_message(self) -> str:
        """The long form Databricks puts in ``TStatus.errorMessage``."""
        return f"org.apache.hive.service.cli.HiveSQLException: Error running query: {self.display_message}"


def parse_syntax_error(near: str, sql: str, line: int = 1, pos: int = 0) -> WarehouseSqlError:
    excerpt = f" (line {line}, pos {pos})\n\n== SQL ==\n{sql}\n{'-' * pos}^^^\n"
    return WarehouseSqlError("PARSE_SYNTAX_ERROR", f"Syntax error at or near '{near}'.", "42601", excerpt)


def table_not_found(*parts: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "TABLE_OR_VIEW_NOT_FOUND",
        f"The table or view {quote_name(*parts)} cannot be found. Verify the spelling and correctness of "
        "the schema and catalog.\nIf you did not qualify the name with a schema, verify the "
        "current_schema() output, or qualify the name with the correct schema and catalog.\nTo tolerate "
        "the error on drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS.",
        "42P01",
    )


def schema_not_found(catalog: str, schema: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "SCHEMA_NOT_FOUND",
        f"The schema {quote_name(catalog, schema)} cannot be found. Verify the spelling and correctness "
        "of the schema and catalog.\nIf you did not qualify the name with a catalog, verify the "
        "current_schema() output, or qualify the name with the correct catalog.\nTo tolerate the error "
        "on drop use DROP SCHEMA IF EXISTS.",
        "42704",
    )


def catalog_not_found(catalog: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "NO_SUCH_CATALOG_EXCEPTION",
        f"Catalog '{catalog}' was not found. Please verify the catalog name and then retry the query or "
        "command again.",
        "42704",
    )


def already_exists(*parts: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "TABLE_OR_VIEW_ALREADY_EXISTS",
        f"Cannot create table or view {quote_name(*parts)} because it already exists.\nChoose a different "
        "name, drop the existing object, or add the IF NOT EXISTS clause to tolerate pre-existing objects.",
        "42P07",
    )


def schema_already_exists(catalog: str, schema: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "SCHEMA_ALREADY_EXISTS",
        f"Cannot create schema {quote_name(catalog, schema)} because it already exists.\nChoose a different "
        "name, drop the existing schema, or add the IF NOT EXISTS clause to tolerate pre-existing schema.",
        "42P06",
    )


def schema_not_empty(catalog: str, schema: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "SCHEMA_NOT_EMPTY",
        f"Cannot drop a schema {quote_name(catalog, schema)} because it contains objects.\nUse DROP SCHEMA "
        "... CASCADE to drop the schema and all its objects.",
        "2BP01",
    )


def not_owner(kind: str, full_name: str) -> WarehouseSqlError:
    """Unity Catalog's ownership error, worded exactly as Databricks reports it."""
    return WarehouseSqlError(
        None, f"PERMISSION_DENIED: User is not an owner of {kind} '{full_name}'.", "42501"
    )


def insufficient_privileges(privilege: str, kind: str, full_name: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "INSUFFICIENT_PERMISSIONS",
        f"Insufficient privileges:\nUser does not have {privilege} on {kind} '{full_name}'.",
        "42501",
    )


def wrong_object_type(full_name: str, expected: str, actual: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "EXPECT_" + expected.upper() + "_NOT_" + actual.upper(),
        f"{quote_name(*full_name.split('.'))} is a {actual.lower()}, expected a {expected.lower()}.",
        "42809",
    )


def unsupported(what: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "UNSUPPORTED_FEATURE.SANDBOX",
        f"The brickauth sandbox SQL warehouse does not support {what}.",
        "0A000",
    )


def unresolved_column(name: str, candidates: list[str]) -> WarehouseSqlError:
    suggestion = ", ".join(f"`{c}`" for c in candidates)
    return WarehouseSqlError(
        "UNRESOLVED_COLUMN.WITH_SUGGESTION",
        f"A column, variable, or function parameter with name `{name}` cannot be resolved. Did you mean "
        f"one of the following? [{suggestion}].",
        "42703",
    )


def unresolved_routine(name: str, catalog: str, schema: str) -> WarehouseSqlError:
    return WarehouseSqlError(
        "UNRESOLVED_ROUTINE",
        f"Cannot resolve routine `{name}` on search path [`system`.`builtin`, `system`.`session`, "
        f"{quote_name(catalog, schema)}].",
        "42883",
    )


def internal(detail: str) -> WarehouseSqlError:
    return WarehouseSqlError("INTERNAL_ERROR", detail, "XX000")


def cast_invalid_input(value: str, type_name: str) -> WarehouseSqlError:
    """Spark's CAST_INVALID_INPUT (a malformed string cast with ``ansi_mode`` on)."""
    return WarehouseSqlError(
        "CAST_INVALID_INPUT",
        f'The value \'{value}\' of the type "STRING" cannot be cast to "{type_name}" because it is '
        "malformed. Correct the value as per the syntax, or change its target type. Use `try_cast` to "
        "tolerate malformed input and return NULL instead.",
        "22018",
    )
