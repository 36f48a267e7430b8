"""The records of the knowledge base: a ``Cause`` (one entry of ``causes.yaml``), a ``Candidate`` (a
cause a text may stand for, with the clues that ranked it) and a ``Match`` (one classified error in a
text). The matcher (``knowledge``) and the clue-only fallback (``fallback``) both build on these."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from brickauth.doctor.text_clues import _needle_set
from brickauth.doctor.vocabulary import template_regex

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]+")  # the literal words of a client's message

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
    messages: tuple[str, ...] = ()  # the clients' own messages for it (``doctor.vocabulary``)

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
        if self.excluded(block):
            return False
        if ba_codes.intersection(self.codes):
            return True
        lowered = block.lower() if lowered is None else lowered
        if self.says(block, lowered):
            return True  # a client's own message needs no other word
        if self.requires is not None and not self.requires.search(block):
            return False
        if codes.intersection(self.aadsts):
            return True
        return _search(self.patterns, self.needles, block, lowered)

    def excluded(self, block: str) -> bool:
        return self.excludes is not None and self.excludes.search(block) is not None

    def says(self, block: str, lowered: str | None = None) -> bool:
        """Whether ``block`` holds one of the clients' own messages for this cause, whole."""
        if not self.messages:
            return False
        lowered = block.lower() if lowered is None else lowered
        for index, words in enumerate(self.message_words):
            if words and words[0] not in lowered:
                continue  # the longest word rules out most messages at once
            if all(w in lowered for w in words) and self._message_pattern(index).search(block):
                return True
        return False

    @property
    def message_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(self._message_pattern(i) for i in range(len(self.messages)))

    def _message_pattern(self, index: int) -> re.Pattern[str]:
        # Compiled on first need: most messages are ruled out by their words first.
        compiled: dict[int, re.Pattern[str]] = self.__dict__.setdefault("_message_patterns", {})
        if index not in compiled:
            compiled[index] = re.compile(template_regex(self.messages[index]), re.IGNORECASE | re.DOTALL)
        return compiled[index]

    @property
    def needles(self) -> tuple[tuple[str, ...], ...]:
        """For each pattern, lower-case literals one of which every match contains (empty: no pre-check)."""
        return self._needles_of("_needles", self.patterns)

    @property
    def message_words(self) -> tuple[tuple[str, ...], ...]:
        """For each of the clients' messages, its literal words (lower case): all are in a match."""
        cached: tuple[tuple[str, ...], ...] | None = self.__dict__.get("_message_words")
        if cached is None:
            found = ({w.lower() for w in _WORD_RE.findall(" ".join(m.split("{}")))} for m in self.messages)
            cached = tuple(tuple(sorted(words, key=len, reverse=True)) for words in found)
            object.__setattr__(self, "_message_words", cached)
        return cached

    @property
    def message_needles(self) -> tuple[tuple[str, ...], ...]:
        """``needles`` of the clients' messages: the longest literal word of each."""
        return tuple(words[:1] for words in self.message_words)

    def _needles_of(self, key: str, patterns: tuple[re.Pattern[str], ...]) -> tuple[tuple[str, ...], ...]:
        cached: tuple[tuple[str, ...], ...] | None = self.__dict__.get(key)
        if cached is None:
            cached = tuple(_needle_set(p.pattern) for p in patterns)
            object.__setattr__(self, key, cached)
        return cached


def _search(
    patterns: tuple[re.Pattern[str], ...], needles: tuple[tuple[str, ...], ...], block: str, lowered: str
) -> bool:
    for pattern, literals in zip(patterns, needles, strict=True):
        if (not literals or any(n in lowered for n in literals)) and pattern.search(block):
            return True
    return False


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
