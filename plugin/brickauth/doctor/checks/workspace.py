"""Workspace checks over REST: SCIM Me (membership, SQL entitlement), the warehouse and CAN USE."""

from __future__ import annotations

from typing import Any

from brickauth.doctor.model import Check, Context, Outcome, json_body


def _get(ctx: Context, path: str) -> Any:
    return ctx.session().get(
        f"{ctx.plan.base_url}{path}",
        headers={"Authorization": f"Bearer {ctx.state['token']}"},
        timeout=ctx.timeouts(),
    )


def check_membership(ctx: Context) -> Outcome:
    response = _get(ctx, "/api/2.0/preview/scim/v2/Me")
    me = json_body(response)
    if response.status_code != 200 or me is None:
        return ctx.refusal("the workspace refused SCIM Me", ctx.evidence(response), None)
    ctx.state["me"] = me
    name = me.get("userName") or me.get("applicationId") or me.get("displayName")
    groups = [g.get("display") for g in me.get("groups", []) if isinstance(g, dict)]
    return Outcome(
        "ok",
        f"member as {name}" + (f" (groups: {', '.join(map(str, groups))})" if groups else ""),
        details={"user_name": name, "groups": groups},
    )


def _entitlements(me: dict[str, Any]) -> set[str] | None:
    if "entitlements" not in me:
        return None
    return {str(e.get("value")) for e in me.get("entitlements") or [] if isinstance(e, dict)}


def check_entitlement(ctx: Context) -> Outcome:
    me = ctx.state["me"]
    groups = [str(g.get("display")) for g in me.get("groups", []) if isinstance(g, dict)]
    if "admins" in groups:
        return Outcome("ok", "workspace admin (all entitlements)")
    entitlements = _entitlements(me)
    if entitlements is None:
        return Outcome("skip", "SCIM Me did not list entitlements; the SQL probe tests access")
    if "databricks-sql-access" in entitlements:
        return Outcome("ok", "Databricks SQL access granted")
    if groups:
        return Outcome(
            "warn",
            f"Databricks SQL access is not granted directly (it may come from groups {', '.join(groups)})",
            "databricks.missing_sql_entitlement",
        )
    return Outcome(
        "fail", "the identity has no Databricks SQL access entitlement", "databricks.missing_sql_entitlement"
    )


def check_warehouse(ctx: Context) -> Outcome:
    warehouse_id = ctx.plan.warehouse_id
    response = _get(ctx, f"/api/2.0/sql/warehouses/{warehouse_id}")
    data = json_body(response)
    if response.status_code == 404:
        return Outcome(
            "fail",
            f"warehouse {warehouse_id} does not exist in this workspace (HTTP 404)",
            "databricks.warehouse_not_found",
        )
    if response.status_code != 200 or data is None:
        return ctx.refusal(f"cannot read warehouse {warehouse_id}", ctx.evidence(response), None)
    state = str(data.get("state", "?"))
    name = data.get("name", warehouse_id)
    ctx.state["warehouse"] = data
    if state in ("DELETED", "DELETING"):
        return Outcome("fail", f"warehouse {name} is {state}", "databricks.warehouse_not_found")
    if state in ("STOPPED", "STOPPING", "STARTING"):
        auto = data.get("auto_stop_mins")
        return Outcome(
            "warn",
            f"warehouse {name} is {state}: the first query waits for it to start"
            + (f" (auto stop after {auto} min)" if auto else ""),
            "databricks.warehouse_stopped",
        )
    return Outcome("ok", f"warehouse {name} is {state}")


def check_can_use(ctx: Context) -> Outcome:
    warehouse_id = ctx.plan.warehouse_id
    response = _get(ctx, f"/api/2.0/permissions/warehouses/{warehouse_id}")
    data = json_body(response)
    if response.status_code in (401, 403):
        return Outcome(
            "skip", "cannot read the warehouse's permissions (needs CAN MANAGE); the SQL probe tests access"
        )
    if response.status_code != 200 or data is None:
        return ctx.refusal("cannot read the warehouse's permissions", ctx.evidence(response), None)
    me = ctx.state.get("me") or {}
    names = {str(me.get(k)).lower() for k in ("userName", "applicationId", "id") if me.get(k)}
    groups = {str(g.get("display")).lower() for g in me.get("groups", []) if isinstance(g, dict)} | {"users"}
    usable = {"CAN_USE", "CAN_MANAGE", "IS_OWNER"}
    for entry in data.get("access_control_list", []):
        principal = str(entry.get("user_name") or entry.get("service_principal_name") or "").lower()
        group = str(entry.get("group_name") or "").lower()
        levels = {str(p.get("permission_level")) for p in entry.get("all_permissions", [])}
        if levels & usable and ((principal and principal in names) or (group and group in groups)):
            via = f"group {group}" if group else principal
            return Outcome("ok", f"{'/'.join(sorted(levels & usable))} through {via}")
    who = next(iter(sorted(names)), "this identity")
    return Outcome(
        "fail", f"{who} has no CAN USE on warehouse {warehouse_id}", "databricks.no_can_use_warehouse"
    )


def _needs_warehouse(ctx: Context) -> str | None:
    return None if ctx.plan.warehouse_id else "no SQL warehouse in http_path"


CHECKS: tuple[Check, ...] = (
    Check(
        "workspace.membership",
        "Workspace membership (SCIM Me)",
        check_membership,
        ("token.acquire", "settings.host", "network.tls"),
        target="workspace",
    ),
    Check(
        "workspace.sql_entitlement",
        "Databricks SQL entitlement",
        check_entitlement,
        ("workspace.membership",),
    ),
    Check(
        "warehouse.state",
        "Warehouse exists and state",
        check_warehouse,
        ("workspace.membership", "settings.http_path"),
        target="workspace",
        skip_if=_needs_warehouse,
    ),
    Check(
        "warehouse.can_use",
        "Warehouse CAN USE",
        check_can_use,
        ("warehouse.state",),
        target="workspace",
        skip_if=_needs_warehouse,
    ),
)
