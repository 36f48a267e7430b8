"""Run checks in order, each bounded in time, the whole run by a deadline.

Each check runs in a daemon worker thread and is given ``step_timeout`` seconds (5 s by default); the
whole run has a hard ``deadline`` (20 s). A check that does not return in time is reported as a hang
of the service it was talking to and its thread is abandoned. A failed or skipped check skips the
checks that depend on it (one that does not apply here does not); the others still run. Findings
carry a knowledge-base cause id and never a secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial

from brickauth.bounded import run_bounded
from brickauth.clock import SYSTEM_CLOCK, Clock
from brickauth.doctor.checks import CHECKS
from brickauth.doctor.fixes import fix_for
from brickauth.doctor.knowledge import KnowledgeBase, load
from brickauth.doctor.model import (
    DEFAULT_DEADLINE,
    DEFAULT_STEP_TIMEOUT,
    STATUS_RANK,
    TIMED_OUT,
    Check,
    Context,
    Finding,
    Outcome,
    Status,
)
from brickauth.doctor.plan import Plan
from brickauth.doctor.redact import Redactor
from brickauth.errors import BrickauthError

_HANG_CAUSE = {
    "idp": "entra.unresponsive",
    "workspace": "databricks.unresponsive",
    "dns": "network.timeout",
    "keyring": "store.keyring_locked",
    "local": "network.timeout",
}


def hang_outcome(ctx: Context, check: Check, seconds: float) -> Outcome:
    plan = ctx.plan
    target = ctx.state.pop("talking_to", check.target)
    cause = _HANG_CAUSE[target]
    if target == "idp" and not plan.is_azure_flow:
        cause, where = "databricks.unresponsive", f"the workspace {plan.hostname}"
    elif target == "idp":
        where = f"the identity provider {plan.authority_hostname}"
    elif target == "workspace":
        where = f"the workspace {plan.hostname}"
    elif target == "keyring":
        where = "the keyring"
    else:
        where = "the network"
    return Outcome("fail", f"no answer from {where} within {seconds:.1f} s (hang)", cause)


def run_checks(
    plan: Plan,
    *,
    checks: Sequence[Check] = CHECKS,
    kb: KnowledgeBase | None = None,
    redactor: Redactor | None = None,
    clock: Clock = SYSTEM_CLOCK,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    on_start: Callable[[Check], None] | None = None,
    on_finding: Callable[[Finding], None] | None = None,
    refresh: bool = False,
) -> list[Finding]:
    kb = kb or load()
    redact = redactor or Redactor(plan.secrets())
    for secret in plan.secrets():
        redact.add(secret)
    ctx = Context(plan, kb, redact, clock, step_timeout, refresh=refresh)
    started = clock.monotonic()
    worst: dict[str, Status] = {}
    findings: list[Finding] = []
    not_applicable: set[str] = set()

    def emit(check: Check, outcome: Outcome, duration: float) -> None:
        cause = kb[outcome.cause_id] if outcome.cause_id and outcome.cause_id in kb else None
        finding = Finding(
            check=check.id,
            title=check.title,
            status=outcome.status,
            summary=redact(outcome.summary),
            cause_id=outcome.cause_id,
            cause_title=cause.title if cause else None,
            meaning=cause.explanation if cause else None,
            fix=fix_for(ctx, outcome, cause.fix if cause else None),
            links=list(cause.links) if cause else [],
            duration_ms=int(duration * 1000),
            details=json.loads(redact(json.dumps(outcome.details, default=str))),
        )
        findings.append(finding)
        if STATUS_RANK[outcome.status] >= STATUS_RANK[worst.get(check.id, "ok")]:
            worst[check.id] = outcome.status
        if on_finding:
            on_finding(finding)

    for check in checks:
        reason = check.not_applicable(ctx)
        if reason is None:
            # A dependency that does not apply here (e.g. discovery with a PAT) does not block.
            blocked = [
                dep for dep in check.requires
                if worst.get(dep, "skip") in ("fail", "skip") and dep not in not_applicable
            ]  # fmt: skip
            if blocked:
                reason = f"skipped: {blocked[0]} did not pass"
        else:
            not_applicable.add(check.id)
            reason = f"not applicable: {reason}"
        if reason is None:
            remaining = deadline - (clock.monotonic() - started)
            if remaining <= 0.05:
                reason = f"skipped: doctor's {deadline:.0f} s deadline reached"
        if reason is not None:
            emit(check, Outcome("skip", reason), 0.0)
            continue
        ctx.state.pop("talking_to", None)
        if on_start:
            on_start(check)
        if check.prepare is not None:
            run_bounded(check.prepare, remaining, name="brickauth-doctor-prepare")
            remaining = deadline - (clock.monotonic() - started)
            if remaining <= 0.05:
                emit(check, Outcome("skip", f"skipped: doctor's {deadline:.0f} s deadline reached"), 0.0)
                continue
        budget = min(step_timeout * check.timeout_factor, remaining)
        t0 = clock.monotonic()
        returned = run_bounded(partial(check.func, ctx), budget, name="brickauth-doctor-check")
        elapsed = clock.monotonic() - t0
        if returned is None:
            emit(check, hang_outcome(ctx, check, budget), elapsed)
            continue
        if returned.error is not None:
            emit(check, _exception_outcome(ctx, check, returned.error), elapsed)
            continue
        result = returned.get()
        for outcome in result if isinstance(result, list) else [result]:
            emit(check, outcome, elapsed)
    connection = ctx.state.get("sql_connection")
    if connection is not None:
        run_bounded(connection.close, min(step_timeout, 2.0), name="brickauth-doctor-close")
    return findings


def _exception_outcome(ctx: Context, check: Check, exc: BaseException) -> Outcome:
    text = f"{type(exc).__name__}: {exc}"
    timed_out = isinstance(exc, BrickauthError) and exc.code == TIMED_OUT
    if timed_out or type(exc).__name__ == "ReadTimeout" or "Read timed out" in text:
        return hang_outcome(ctx, check, ctx.step_timeout)
    if isinstance(exc, BrickauthError):
        return ctx.error_outcome(f"{check.title} failed", exc)
    return ctx.refusal(f"{check.title} failed", text, None)


def top_finding(findings: Sequence[Finding]) -> Finding | None:
    """The first failure in check order (the root cause: later ones depend on it), else the first warning."""
    for status in ("fail", "warn"):
        for finding in findings:
            if finding.status == status:
                return finding
    return None
