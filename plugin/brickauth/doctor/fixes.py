"""Fixes with the ids doctor already knows: the knowledge base says what to do in general; here the
same fix is written for this setup (its client id, warehouse id, principal, tables), ready to paste.

SQL is written as Databricks SQL takes it: every identifier quoted with backticks (a backtick inside
doubled), one statement per line, no placeholder left. Each function gets the context and the
outcome and returns the lines to put before the knowledge base's fix, or None.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from brickauth.doctor.model import Context, Outcome


def quote_identifier(name: str) -> str:
    """A Databricks SQL identifier in backticks (``a`b`` -> ```a``b```)."""
    return "`" + name.replace("`", "``") + "`"


def principal(ctx: Context) -> str | None:
    """The identity doctor signed in as, as Databricks names it in grants: a service principal's
    application id, a user's e-mail."""
    me = ctx.state.get("me") or {}
    for key in ("applicationId", "userName"):
        if me.get(key):
            return str(me[key])
    if ctx.plan.is_u2m:
        identity = ctx.state.get("identity")
        return str(identity) if identity else None
    return ctx.plan.client_id


def _is_service_principal(ctx: Context) -> bool:
    me = ctx.state.get("me") or {}
    return bool(me.get("applicationId")) or not ctx.plan.is_u2m


def _not_in_workspace(ctx: Context, outcome: Outcome) -> str | None:
    who = principal(ctx)
    if not who:
        return None
    if _is_service_principal(ctx):
        return (
            f"For this setup (a workspace admin runs):\n"
            f"    databricks service-principals create --application-id {who} "
            f"--display-name brickauth-{who[:8]}"
        )
    return f"For this setup (a workspace admin runs):\n    databricks users create --user-name {who}"


def _no_can_use(ctx: Context, outcome: Outcome) -> str | None:
    who, warehouse = principal(ctx), ctx.plan.warehouse_id
    if not who or not warehouse:
        return None
    kind = "service_principal_name" if _is_service_principal(ctx) else "user_name"
    acl = json.dumps({"access_control_list": [{kind: who, "permission_level": "CAN_USE"}]})
    return (
        f"For this setup (a warehouse owner or workspace admin runs):\n"
        f"    databricks warehouses update-permissions {warehouse} --json '{acl}'"
    )


def _warehouse_stopped(ctx: Context, outcome: Outcome) -> str | None:
    warehouse = ctx.plan.warehouse_id
    return f"For this setup:\n    databricks warehouses start {warehouse}" if warehouse else None


def _missing_sql_entitlement(ctx: Context, outcome: Outcome) -> str | None:
    me = ctx.state.get("me") or {}
    scim_id = me.get("id")
    if not scim_id:
        return None
    command = "service-principals" if _is_service_principal(ctx) else "users"
    patch = json.dumps({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "entitlements", "value": [{"value": "databricks-sql-access"}]}],
    })  # fmt: skip
    return (
        f"For this setup (a workspace admin runs; {principal(ctx)} has SCIM id {scim_id}):\n"
        f"    databricks {command} patch {scim_id} --json '{patch}'"
    )


def _table_not_owner(ctx: Context, outcome: Outcome) -> str | None:
    who = principal(ctx)
    tables: list[dict[str, Any]] = outcome.details.get("tables") or []
    catalog, schema = ctx.plan.catalog or "hive_metastore", ctx.plan.schema
    if not who or not tables or not schema:
        return None
    lines = [
        f"    ALTER TABLE {quote_identifier(catalog)}.{quote_identifier(schema)}."
        f"{quote_identifier(str(t['table']))} OWNER TO {quote_identifier(who)};"
        for t in tables[:10]
    ]
    return "For this setup (each table's current owner, or an admin, runs):\n" + "\n".join(lines)


def _new_client_secret(ctx: Context, outcome: Outcome) -> str | None:
    client = ctx.plan.client_id
    if not client or not ctx.plan.is_azure_flow:
        return None
    return (
        f"For this setup (app {client}): make a new secret and put its Value in AZURE_CLIENT_SECRET:\n"
        f"    az ad app credential reset --id {client} --append --display-name brickauth"
    )


def _app_not_found(ctx: Context, outcome: Outcome) -> str | None:
    client, tenant = ctx.plan.client_id, ctx.plan.tenant_id
    if not client or not tenant:
        return None
    return (
        f"For this setup: doctor sent client id {client} to tenant {tenant}; look it up with\n"
        f"    az ad app show --id {client}"
    )


FIXES: dict[str, Callable[[Context, Outcome], str | None]] = {
    "databricks.principal_not_in_workspace": _not_in_workspace,
    "databricks.no_can_use_warehouse": _no_can_use,
    "databricks.warehouse_stopped": _warehouse_stopped,
    "databricks.missing_sql_entitlement": _missing_sql_entitlement,
    "databricks.table_not_owner": _table_not_owner,
    "entra.client_secret_expired": _new_client_secret,
    "entra.invalid_client_secret": _new_client_secret,
    "entra.app_not_found": _app_not_found,
}


def fix_for(ctx: Context, outcome: Outcome, general: str | None) -> str | None:
    """The knowledge base's fix, led by this setup's own commands where doctor knows the ids."""
    make = FIXES.get(outcome.cause_id or "")
    own = make(ctx, outcome) if make is not None and outcome.status in ("fail", "warn") else None
    own = ctx.redact(own) if own else None  # ids only, but never a secret even by mistake
    if own and general:
        return f"{own}\n{general}"
    return own or general
