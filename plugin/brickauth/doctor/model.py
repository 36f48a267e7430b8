"""doctor's vocabulary: a ``Check`` (what to run, what it needs), its ``Outcome``, the ``Finding`` a
report shows, and the ``Context`` every check reads (the plan, the knowledge base, bounded HTTP).

Imports nothing of the checks or the runner: every other doctor module imports this one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from brickauth.clock import Clock
from brickauth.doctor.knowledge import Cause, KnowledgeBase
from brickauth.doctor.plan import Plan
from brickauth.doctor.redact import Redactor
from brickauth.entra import AZURE_DATABRICKS_RESOURCE_ID

if TYPE_CHECKING:
    from brickauth.errors import BrickauthError
    from brickauth.http import HttpClient

Status = Literal["ok", "warn", "fail", "skip"]
# What a check talks to: a hang is reported as that service's (``runner.hang_outcome``).
Target = Literal["local", "workspace", "idp", "dns", "keyring"]
AZURE_DATABRICKS_RESOURCE = AZURE_DATABRICKS_RESOURCE_ID
STATUS_RANK = {"ok": 0, "skip": 1, "warn": 2, "fail": 3}
DEFAULT_STEP_TIMEOUT = 5.0
DEFAULT_DEADLINE = 20.0
# Flows whose token comes from the platform, not from an Entra/OIDC endpoint doctor can probe: doctor
# runs the flow itself (token.acquire) and skips identity provider discovery for them.
PLATFORM_TOKEN_FLOWS = {
    "azure-msi": "the host's managed identity endpoint",
    "databricks-oidc": "a workload OIDC token exchanged at the workspace",
    "azure-cli": "az account get-access-token",
}
TIMED_OUT = "BA501"  # brickauth.http: a request timed out (for doctor, a hang of that service)


@dataclass
class Outcome:
    status: Status
    summary: str
    cause_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    check: str
    title: str
    status: Status
    summary: str
    cause_id: str | None = None
    cause_title: str | None = None
    meaning: str | None = None
    fix: str | None = None
    links: list[str] = field(default_factory=list)
    duration_ms: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def _always(ctx: Context) -> str | None:
    return None


@dataclass(frozen=True)
class Check:
    """One step. ``requires``: checks that must pass first; ``auth_types``: the flows it applies to
    (empty: every flow); ``skip_if``: a reason it does not apply here, or None to run; ``prepare``:
    local work before the step's time starts (an import that takes seconds on a busy machine), bounded
    by the run's deadline only."""

    id: str
    title: str
    func: Callable[[Context], Outcome | list[Outcome]]
    requires: tuple[str, ...] = ()
    target: Target = "local"
    skip_if: Callable[[Context], str | None] = _always
    timeout_factor: float = 1.0
    auth_types: frozenset[str] = frozenset()
    prepare: Callable[[], object] | None = None

    def not_applicable(self, ctx: Context) -> str | None:
        if self.auth_types and ctx.plan.auth_type not in self.auth_types:
            return f"not used with {ctx.plan.auth_type or 'these settings'}"
        return self.skip_if(ctx)


@dataclass
class Context:
    plan: Plan
    kb: KnowledgeBase
    redact: Redactor
    clock: Clock
    step_timeout: float
    state: dict[str, Any] = field(default_factory=dict)
    refresh: bool = False  # U2M: refresh the cached sign-in even when its access token is fresh

    # --- HTTP (requests imported lazily: CLI modules stay light) -----------------------------------
    def session(self) -> Any:
        """A requests session trusting the plan's CA bundle (passed per request: requests lets
        REQUESTS_CA_BUNDLE in os.environ override a session-level ``verify``)."""
        import requests

        ca_bundle = self.plan.ca_bundle

        class Session(requests.Session):
            def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                if ca_bundle:
                    kwargs.setdefault("verify", ca_bundle)
                return super().request(method, url, *args, **kwargs)

        return Session()

    def http_client(self) -> HttpClient:
        """The library's HTTP client for a flow, bounded by the step: one try, the step's timeout."""
        from brickauth.http import NO_RETRY, HttpClient

        return HttpClient(timeout=self.step_timeout, verify=self.plan.verify, retry=NO_RETRY)

    def timeouts(self) -> tuple[float, float]:
        return (self.step_timeout, self.step_timeout)

    def evidence(self, response: Any) -> str:
        """What a refusal said, for the knowledge base: status, reason headers and body."""
        parts = [f"HTTP {response.status_code} {response.reason or ''}".strip()]
        for header in ("x-databricks-reason-phrase", "x-thriftserver-error-message", "www-authenticate"):
            if response.headers.get(header):
                parts.append(f"{header}: {response.headers[header]}")
        parts.append(response.text[:4000])
        return "\n".join(parts)

    # --- classification ----------------------------------------------------------------------------
    def cause_for_code(self, code: str | None) -> Cause | None:
        """The cause a brickauth error code names (``knowledge.cause_for_code``, where it exists)."""
        finder = getattr(self.kb, "cause_for_code", None)
        if not code or finder is None:
            return None
        found: Cause | None = finder(code)
        return found

    def error_outcome(self, what: str, err: BrickauthError, fallback: str | None = None) -> Outcome:
        """A library error: its stable code names the cause; the text is read only when it does not."""
        cause = self.cause_for_code(err.code)
        if cause is not None and not getattr(cause, "vague", False) and not cause.generic:
            return Outcome("fail", f"{what}: {one_line(self.redact(str(err)), 400)}", cause.id)
        return self.refusal(what, f"{type(err).__name__}: {err}", fallback)

    def refusal(self, what: str, text: str, fallback: str | None = None) -> Outcome:
        """Classify a foreign refusal with the knowledge base; an unknown one is shown, not guessed."""
        masked = self.redact(text)
        unknown = [m for m in self.kb.classify(text) if m.cause is None]
        cause = self.kb.best(text)
        first = masked.strip().splitlines()[0] if masked.strip() else ""
        excerpt = one_line(masked, 240)
        if cause is not None:
            return Outcome("fail", f"{what}: {excerpt}", cause.id)
        if unknown:
            return Outcome(
                "fail", f"{what}: AADSTS{unknown[0].aadsts} (not in brickauth's knowledge base): {excerpt}"
            )
        return Outcome("fail", f"{what}: {excerpt or first}", fallback)


def json_body(response: Any) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."

