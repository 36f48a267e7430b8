"""``brickauth doctor explain``: find the auth errors in pasted text or a log file and explain each.

It classifies with the knowledge base only: when nothing matches, it says so and shows the error lines
it could not place. When such a text still carries clues (HTTP status, client, host shape, environment
variables, words like expired or blocked), it also lists up to three candidates ranked from those clues
(``fallback``): marked as candidates, never as the cause. Everything it prints is masked (tokens,
secrets, passwords).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brickauth.doctor.fallback import FALLBACK_ID
from brickauth.doctor.knowledge import (
    MAX_CANDIDATES,
    Candidate,
    Cause,
    KnowledgeBase,
    Match,
    load,
    strip_ansi,
)
from brickauth.doctor.redact import Redactor
from brickauth.doctor.text_clues import error_line

EXPLAIN_SCHEMA = "brickauth.doctor.explain/v1"
MAX_UNRECOGNIZED = 5

@dataclass
class Unrecognized:
    line: int
    excerpt: str


@dataclass
class ExplainResult:
    findings: list[Match]
    unrecognized: list[Unrecognized] = field(default_factory=list)
    source: str = "text"
    candidates: list[Candidate] = field(default_factory=list)  # the whole text's most likely causes

    @property
    def known(self) -> list[Match]:
        return [m for m in self.findings if m.cause is not None]

    def exit_code(self) -> int:
        """0 when every error found is explained, 1 when something was found but not recognised."""
        unknown = [m for m in self.findings if m.cause is None]
        return 1 if (unknown or self.unrecognized) else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": EXPLAIN_SCHEMA,
            "source": self.source,
            "findings": [_match_json(m) for m in self.findings],
            "unrecognized": [{"line": u.line, "excerpt": u.excerpt} for u in self.unrecognized],
            "candidates": [_candidate_json(c) for c in self.candidates],
        }


def explain(
    text: str,
    *,
    kb: KnowledgeBase | None = None,
    redactor: Redactor | None = None,
    source: str = "text",
) -> ExplainResult:
    kb = kb or load()
    mask = redactor or Redactor()
    text = strip_ansi(text)
    matches, unmatched = kb.scan(text)
    for match in matches:
        match.excerpt = mask(match.excerpt)
    unrecognized: list[Unrecognized] = []
    for block in unmatched:
        found = error_line(block)  # one line per block is enough to point at it
        if found is not None:
            unrecognized.append(Unrecognized(found[0], mask(found[1])[:300]))
        if len(unrecognized) >= MAX_UNRECOGNIZED:
            break
    return ExplainResult(matches, unrecognized, source, kb.ranked(matches))


def _candidate_json(candidate: Candidate) -> dict[str, Any]:
    cause = candidate.cause
    return {
        "cause_id": cause.id,
        "title": cause.title,
        "tell": _tell(cause),
        "check": cause.check,
        "clues": list(candidate.clues),
        "fix": cause.fix,
        "links": list(cause.links),
    }


def _tell(cause: Cause) -> str:
    return cause.tell or cause.title


def _match_json(match: Match) -> dict[str, Any]:
    cause = match.cause
    if cause is None:
        return {
            "cause_id": None,
            "aadsts": match.aadsts,
            "title": f"AADSTS{match.aadsts} is not in brickauth's knowledge base",
            "line": match.line,
            "occurrences": match.occurrences,
            "excerpt": match.excerpt,
            "explanation": None,
            "fix": None,
            "links": [f"https://login.microsoftonline.com/error?code={match.aadsts}"],
            "vague": False,
            "candidates": [],
        }
    return {
        "cause_id": cause.id,
        "aadsts": match.aadsts,
        "title": cause.title,
        "line": match.line,
        "occurrences": match.occurrences,
        "excerpt": match.excerpt,
        "explanation": cause.explanation,
        "fix": cause.fix,
        "links": list(cause.links),
        "vague": cause.vague,
        "candidates": [_candidate_json(c) for c in match.candidates[:MAX_CANDIDATES]],
    }


def render_text(result: ExplainResult) -> str:
    """Plain text for a terminal or a pipe (the CLI adds colour when it is a TTY)."""
    out: list[str] = []
    if not result.findings and not result.unrecognized:
        return "No authentication or connection error found in the text.\n"
    for number, match in enumerate(result.findings, start=1):
        where = f"line {match.line}" + (f", {match.occurrences} times" if match.occurrences > 1 else "")
        if match.cause is None:
            out.append(f"{number}. AADSTS{match.aadsts}: not in brickauth's knowledge base ({where})")
            out.append(f"   > {match.excerpt}")
            out.append("   brickauth does not know this code and will not guess. Look it up:")
            out.append(f"   https://login.microsoftonline.com/error?code={match.aadsts}")
            out.append("")
            continue
        cause = match.cause
        out.append(f"{number}. {cause.title}  [{cause.id}] ({where})")
        out.append(f"   > {match.excerpt}")
        out.append(_indent("What it means: " + cause.explanation))
        if cause.vague and match.candidates:
            out.append("   The message does not name its cause. Most likely first:")
            out.extend(_render_candidates(match.candidates[:MAX_CANDIDATES]))
        else:
            out.append("   Fix:")
            out.append(_indent(cause.fix, 5))
            others = [c for c in match.candidates[:MAX_CANDIDATES] if c.cause_id != cause.id]
            if others:
                out.append("   If that does not fit, also possible:")
                out.extend(_render_candidates(others))
        for link in cause.links:
            out.append(f"   Docs: {link}")
        out.append("")
    if result.unrecognized:
        if any(m.cause_id == FALLBACK_ID for m in result.findings):
            out.append("Not recognised as a known message (the candidates above come from its clues only: "
                       "status, client, host, words, wording):")
        else:
            out.append("Not recognised (brickauth does not know these errors and will not guess):")
        for item in result.unrecognized:
            out.append(f"   line {item.line}: {item.excerpt}")
        out.append("")
    return "\n".join(out)


def _render_candidates(candidates: list[Candidate]) -> list[str]:
    out: list[str] = []
    for rank, cand in enumerate(candidates, start=1):
        cause = cand.cause
        out.append(f"   {chr(96 + rank)}) {cause.title}  [{cause.id}]")
        out.append(_indent("How to tell: " + _tell(cause), 6))
        if cause.check:
            out.append(f"      Confirm: `brickauth doctor` (check {cause.check})")
        if cand.clues:
            out.append("      Clues in the text: " + ", ".join(cand.clues))
        out.append(_indent("Fix: " + cause.fix, 6))
    return out


def _indent(text: str, width: int = 3) -> str:
    pad = " " * width
    return "\n".join(pad + line if line else line for line in text.splitlines())
