"""brickauth doctor: check a configuration end to end, and explain any auth error a user pastes.

- ``knowledge``: the knowledge base of causes (``causes.yaml``) and the classifier.
- ``explain``: classify pasted text or a log file.
- ``sources`` / ``plan``: gather settings (flags, env, ~/.databrickscfg, dbt target) and read them with
  the library's own ``brickauth.config``; the plan adds only what doctor decides (PAT, warehouse, dbt).
- ``model``: ``Check``, ``Outcome``, ``Finding``, ``Context``; ``runner``: run checks in order, each
  bounded, the run by a deadline; ``checks``: the checks, one module per thing they probe (settings,
  network, idp, token, workspace, sql, store); ``fixes``: fixes written with the ids doctor knows.
- ``u2m``: the cached U2M sign-in through the flow's own token source; ``report``: display and ``--json``.
- ``docgen``: generate docs/troubleshooting.md.

Dependencies point one way: checks -> model -> plan -> sources; the runner -> checks, fixes, model.

Importing this package is cheap; requests, rich, the connector and keyring load when a check runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brickauth.clock import Clock
    from brickauth.doctor.model import Finding
    from brickauth.doctor.plan import Plan


def diagnose(
    explicit: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    step_timeout: float = 5.0,
    deadline: float = 20.0,
    clock: Clock | None = None,
    refresh: bool = False,
    **source_options: Any,
) -> tuple[Plan, list[Finding]]:
    """Run every check without display; returns the plan and the findings (for scripts and tests)."""
    from brickauth.clock import SYSTEM_CLOCK
    from brickauth.doctor.plan import build_plan
    from brickauth.doctor.runner import run_checks
    from brickauth.doctor.sources import gather

    plan = build_plan(gather(explicit or {}, env=env, **source_options))
    findings = run_checks(
        plan, step_timeout=step_timeout, deadline=deadline, clock=clock or SYSTEM_CLOCK, refresh=refresh
    )
    return plan, findings


__all__ = ["diagnose"]
