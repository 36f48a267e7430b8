"""Settings checks: host, http_path, auth (the plan's problems; no network)."""

from __future__ import annotations

from brickauth.doctor.model import Check, Context, Outcome
from brickauth.doctor.plan import Problem


def _problems(problems: list[Problem], ok: str) -> list[Outcome]:
    if not problems:
        return [Outcome("ok", ok)]
    return [Outcome("fail" if p.fatal else "warn", p.message, p.cause_id) for p in problems]


def check_host(ctx: Context) -> list[Outcome]:
    plan = ctx.plan
    port = "" if plan.port == 443 else f":{plan.port}"
    desc = f"{plan.hostname}{port} (cloud: {plan.cloud}, from {plan.source('host')})"
    return _problems(plan.host_problems, desc)


def check_http_path(ctx: Context) -> list[Outcome]:
    plan = ctx.plan
    what = f"warehouse {plan.warehouse_id}" if plan.warehouse_id else "a cluster"
    return _problems(plan.path_problems, f"{plan.http_path} ({what}, from {plan.source('http_path')})")


def check_auth(ctx: Context) -> list[Outcome]:
    plan = ctx.plan
    parts = [f"{plan.auth_type or '?'} ({plan.auth_reason})"]
    if plan.tenant_id:
        parts.append(f"tenant {plan.tenant_id}")
    if plan.client_id:
        parts.append(f"client {plan.client_id}")
    if plan.client_secret is not None:
        parts.append("secret set")
    return _problems(plan.auth_problems, ", ".join(parts))


CHECKS: tuple[Check, ...] = (
    Check("settings.host", "Workspace host", check_host),
    Check("settings.http_path", "HTTP path", check_http_path),
    Check("settings.auth", "Auth settings", check_auth),
)
