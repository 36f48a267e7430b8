"""Doctor output: a live line per check (rich on a TTY, plain lines otherwise) and the ``--json`` report.

The JSON schema is documented in docs/doctor-json.md; ``schema`` names its version and only additive
changes are made within a version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from brickauth import __version__
from brickauth.doctor.model import Check, Finding
from brickauth.doctor.plan import Plan
from brickauth.doctor.runner import top_finding

DOCTOR_SCHEMA = "brickauth.doctor/v1"
EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
_SYMBOLS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}
_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def exit_code(findings: Sequence[Finding]) -> int:
    return EXIT_PROBLEMS if any(f.status in ("fail", "warn") for f in findings) else EXIT_HEALTHY


def settings_json(plan: Plan) -> dict[str, Any]:
    """What doctor tested, without secret values (secrets show as "set (hidden)")."""
    return {
        "origin": plan.raw.origin,
        "host": plan.hostname,
        "port": plan.port,
        "cloud": plan.cloud,
        "http_path": plan.http_path,
        "warehouse_id": plan.warehouse_id,
        "auth_type": plan.auth_type,
        "auth_reason": plan.auth_reason,
        "tenant_id": plan.tenant_id,
        "client_id": plan.client_id,
        "client_secret": "set (hidden)" if plan.client_secret is not None else None,
        "token": "set (hidden)" if plan.token is not None else None,
        "authority_host": plan.authority_host if plan.is_azure_flow else None,
        "ca_bundle": plan.ca_bundle,
        "sources": dict(sorted(plan.raw.sources.items())),
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "title": finding.title,
        "status": finding.status,
        "summary": finding.summary,
        "cause_id": finding.cause_id,
        "cause_title": finding.cause_title,
        "meaning": finding.meaning,
        "fix": finding.fix,
        "links": finding.links,
        "duration_ms": finding.duration_ms,
        "details": finding.details,
    }


def report_json(plan: Plan, findings: Sequence[Finding], elapsed: float) -> dict[str, Any]:
    top = top_finding(findings)
    return {
        "schema": DOCTOR_SCHEMA,
        "brickauth_version": __version__,
        "healthy": exit_code(findings) == EXIT_HEALTHY,
        "exit_code": exit_code(findings),
        "elapsed_ms": int(elapsed * 1000),
        "settings": settings_json(plan),
        "top_finding": finding_json(top) if top else None,
        "checks": [finding_json(f) for f in findings],
    }


class PlainDisplay:
    """One line per finding, printed as each check ends (pipes, CI logs, tests)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def header(self, plan: Plan) -> None:
        self.stream.write(f"brickauth doctor: {plan.raw.origin}\n")
        self.stream.flush()

    def start(self, check: Check) -> None:
        pass

    def finding(self, finding: Finding) -> None:
        line = f"[{_SYMBOLS[finding.status]}] {finding.title}: {finding.summary}"
        if finding.cause_id and finding.status in ("fail", "warn"):
            line += f"  [{finding.cause_id}]"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass

    def summary(self, findings: Sequence[Finding], elapsed: float) -> None:
        self.stream.write(render_summary(findings, elapsed))
        self.stream.flush()


class RichDisplay(PlainDisplay):
    """A spinner on the running check and a coloured line for each result (interactive terminals)."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        from rich.console import Console

        self.console = Console(file=stream, highlight=False)
        self._status: Any = None

    def header(self, plan: Plan) -> None:
        self.console.print(f"[bold]brickauth doctor[/bold]: {plan.raw.origin}", markup=True)

    def start(self, check: Check) -> None:
        self._stop()
        self._status = self.console.status(f"{check.title}...")
        self._status.start()

    def finding(self, finding: Finding) -> None:
        from rich.text import Text

        self._stop()
        line = Text()
        line.append(f"[{_SYMBOLS[finding.status]}] ", style=_STYLES[finding.status])
        line.append(f"{finding.title}: ", style="bold")
        line.append(finding.summary)
        if finding.cause_id and finding.status in ("fail", "warn"):
            line.append(f"  [{finding.cause_id}]", style="dim")
        self.console.print(line)

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def close(self) -> None:
        self._stop()

    def summary(self, findings: Sequence[Finding], elapsed: float) -> None:
        from rich.text import Text

        self.console.print(Text(render_summary(findings, elapsed)))


def render_summary(findings: Sequence[Finding], elapsed: float) -> str:
    top = top_finding(findings)
    counts = {s: sum(1 for f in findings if f.status == s) for s in ("ok", "warn", "fail", "skip")}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if top is None:
        return f"\nHealthy: every check passed ({tally}; {elapsed:.1f} s).\n"
    out = [
        "",
        f"Top finding: {top.title} [{top.status.upper()}]: {top.summary}",
    ]
    if top.cause_id:
        out.append(f"Cause: {top.cause_title}  [{top.cause_id}]")
    if top.meaning:
        out.append(f"What it means: {top.meaning}")
    if top.fix:
        out.append("Fix:")
        out.extend("  " + line for line in top.fix.splitlines())
    for link in top.links:
        out.append(f"Docs: {link}")
    others = [f for f in findings if f is not top and f.status in ("fail", "warn") and f.cause_id]
    if others:
        out.append("Also: " + "; ".join(f"{f.title} [{f.cause_id}]" for f in others))
    out.append(
        f"({tally}; {elapsed:.1f} s)  Details of any cause: brickauth doctor explain, docs/troubleshooting.md"
    )
    return "\n".join(out) + "\n"
