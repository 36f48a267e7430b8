"""The records of the knowledge base: a ``Cause`` (one entry of ``causes.yaml``), a ``Candidate`` (a
cause a text may stand for, with the clues that ranked it) and a ``Match`` (one classified error in a
text). The matcher (``knowledge``) and the clue-only fallback (``fallback``) both build on these."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from brickauth.doctor.text_clues import _needle_set

GENERIC_PRIORITY = 30
AADSTS_PRIORITY = 80
PATTERN_PRIORITY = 50


@dataclass(frozen=True)
class Cause:
    id: str
    category: str
    title: str
    explanation: str
    fix: str
    links: tuple[str, ...]
    examples: tuple[str, ...]
    aadsts: tuple[int, ...] = ()
    codes: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    requires: re.Pattern[str] | None = None
    excludes: re.Pattern[str] | None = None
    priority: int = PATTERN_PRIORITY
    vague: bool = False
    candidates: tuple[str, ...] = ()
    clues: tuple[tuple[str, int], ...] = ()
    tell: str = ""
    check: str | None = None

    @property
    def aadsts_texts(self) -> tuple[str, ...]:
        return tuple(f"AADSTS{n}" for n in self.aadsts)

    @property
    def generic(self) -> bool:
        return self.priority < GENERIC_PRIORITY

    @property
    def link(self) -> str:
        return self.links[0] if self.links else ""

    def clue_score(self, clues: frozenset[str]) -> int:
        return sum(weight for name, weight in self.clues if name in clues)

    def matches(
        self,
        block: str,
        codes: frozenset[int],
        ba_codes: frozenset[str] = frozenset(),
        lowered: str | None = None,
    ) -> bool:
        if self.excludes is not None and self.excludes.search(block):
            return False
        if ba_codes.intersection(self.codes):
            return True
        if self.requires is not None and not self.requires.search(block):
            return False
        if codes.intersection(self.aadsts):
            return True
        lowered = block.lower() if lowered is None else lowered
        for pattern, needles in zip(self.patterns, self.needles, strict=True):
            if (not needles or any(n in lowered for n in needles)) and pattern.search(block):
                return True
        return False

    @property
    def needles(self) -> tuple[tuple[str, ...], ...]:
        """For each pattern, lower-case literals one of which every match contains (empty: no pre-check)."""
        cached: tuple[tuple[str, ...], ...] | None = self.__dict__.get("_needles")
        if cached is None:
            cached = tuple(_needle_set(p.pattern) for p in self.patterns)
            object.__setattr__(self, "_needles", cached)
        return cached


@dataclass(frozen=True)
class Candidate:
    """One possible cause of a finding, with the clues that ranked it."""

    cause: Cause
    score: int
    clues: tuple[str, ...] = ()

    @property
    def cause_id(self) -> str:
        return self.cause.id


@dataclass
class Match:
    """One classified error in a text: a known cause, or an unknown AADSTS code (``cause is None``).

    ``candidates`` ranks what the error may really be, most likely first (all considered; output shows
    ``MAX_CANDIDATES``): the cause itself for a specific text; for a vague cause, the causes it stands for.
    """

    cause: Cause | None
    line: int
    excerpt: str
    occurrences: int = 1
    aadsts: int | None = None
    candidates: list[Candidate] = field(default_factory=list)
    score: int = 0

    @property
    def cause_id(self) -> str | None:
        return self.cause.id if self.cause else None


def _clues_of(cause: Cause, clues: tuple[str, ...]) -> tuple[str, ...]:
    weights = dict(cause.clues)
    return tuple(name for name in clues if weights.get(name))


def _dedupe(ranked: list[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    out: list[Candidate] = []
    for cand in ranked:
        if cand.cause_id not in seen:
            seen.add(cand.cause_id)
            out.append(cand)
    return out
