"""The check runner: ordering, dependencies, per-step and whole-run bounds (no sleeps: events)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from brickauth.clock import FakeClock
from brickauth.doctor.model import Check, Context, Outcome
from brickauth.doctor.plan import build_plan
from brickauth.doctor.runner import run_checks, top_finding
from brickauth.doctor.sources import gather

PLAN = build_plan(
    gather(
        {},
        env={
            "DATABRICKS_HOST": "adb-1.1.azuredatabricks.net",
            "DATABRICKS_TOKEN": "dapi0123456789abcdef0123",
        },
        config_file=Path("/nonexistent"),
    )
)


def test_a_hanging_step_is_bounded_named_and_the_rest_still_runs() -> None:
    release = threading.Event()

    def hang(ctx: Context) -> Outcome:
        release.wait(30)
        return Outcome("ok", "late")

    checks = [
        Check("a", "A", lambda ctx: Outcome("ok", "fine")),
        Check("b", "B", hang, ("a",), target="workspace"),
        Check("c", "C", lambda ctx: Outcome("ok", "never"), ("b",)),
        Check("d", "D", lambda ctx: Outcome("ok", "independent")),
    ]
    started = time.monotonic()
    findings = run_checks(PLAN, checks=checks, step_timeout=0.3, deadline=5)
    elapsed = time.monotonic() - started
    release.set()
    # Generous: only a run that waited for the hung step (30 s) or went past its deadline fails this.
    assert elapsed < 5
    assert [(f.check, f.status) for f in findings] == [("a", "ok"), ("b", "fail"), ("c", "skip"), ("d", "ok")]
    top = top_finding(findings)
    assert top is not None and top.cause_id == "databricks.unresponsive"
    assert top.summary == "no answer from the workspace adb-1.1.azuredatabricks.net within 0.3 s (hang)"
    assert top.fix and top.links


def test_the_deadline_skips_what_is_left() -> None:
    release = threading.Event()

    def slow(ctx: Context) -> Outcome:
        release.wait(30)
        return Outcome("ok", "late")

    checks = [Check(f"s{i}", f"S{i}", slow, target="idp") for i in range(10)]
    started = time.monotonic()
    findings = run_checks(PLAN, checks=checks, step_timeout=0.4, deadline=1.0)
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 3 * 1.0  # generous: ten hung steps would take 4 s, waiting for them 30 s
    assert len(findings) == 10
    assert findings[0].status == "fail" and "hang" in findings[0].summary
    assert findings[-1].status == "skip" and "deadline reached" in findings[-1].summary


def test_the_deadline_is_counted_on_the_injected_clock() -> None:
    clock = FakeClock()

    def takes_400_ms(ctx: Context) -> Outcome:
        clock.advance(0.4)
        return Outcome("ok", "fine")

    checks = [Check(f"s{i}", f"S{i}", takes_400_ms) for i in range(6)]
    findings = run_checks(PLAN, checks=checks, clock=clock, step_timeout=5, deadline=1.0)
    assert [f.status for f in findings] == ["ok", "ok", "ok", "skip", "skip", "skip"]
    assert findings[3].summary == "skipped: doctor's 1 s deadline reached"
    assert [f.duration_ms for f in findings] == [400, 400, 400, 0, 0, 0]


def test_an_exception_in_a_check_is_a_finding_with_secrets_masked() -> None:
    def boom(ctx: Context) -> Outcome:
        raise RuntimeError("Authorization: Bearer dapi0123456789abcdef0123 refused: User not authorized")

    [finding] = run_checks(PLAN, checks=[Check("x", "X", boom)], step_timeout=1, deadline=2)
    assert finding.status == "fail"
    assert finding.cause_id == "databricks.principal_not_in_workspace"
    assert "dapi0123456789abcdef0123" not in finding.summary


def test_a_flow_specific_check_is_not_applicable_elsewhere_and_blocks_nothing() -> None:
    """How a flow's own check is added (docs in brickauth.doctor.checks): ``auth_types`` names its
    flows; for another flow it is reported as not applicable, and what depends on it still runs."""
    checks = [
        Check("msi.endpoint", "MSI", lambda ctx: Outcome("ok", "never"), auth_types=frozenset({"azure-msi"})),
        Check("after", "After", lambda ctx: Outcome("ok", "ran"), ("msi.endpoint",)),
    ]
    findings = run_checks(PLAN, checks=checks, step_timeout=1, deadline=2)
    assert [(f.check, f.status) for f in findings] == [("msi.endpoint", "skip"), ("after", "ok")]
    assert findings[0].summary == "not applicable: not used with pat"
