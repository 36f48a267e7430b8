"""The knowledge base of auth failure causes (``causes.yaml``) and the matcher that classifies text.

Text is split into blocks (a log record, a paragraph, a traceback). In each block every cause whose
matchers hit is a candidate; the highest-scoring candidates win the block (score: the cause's priority
plus the weights of the clues found anywhere in the text, see ``CLUES``). Causes with a priority below
``GENERIC_PRIORITY`` are reported only when nothing specific was found anywhere in the text.

brickauth's own stable codes (``[BA213]``) map to causes through the ``codes:`` matcher and, for
Entra's, ``matchers.aadsts`` with ``brickauth.entra_codes`` (``cause_for_code``); regexes are for
foreign texts. An AADSTS code that is not in the knowledge base is reported as unknown, never guessed,
and a text with a known AADSTS code is never given a cause that belongs to another code.

A *vague* cause (``vague: true``: a bare 403, "Error during request to server", "cannot configure
default credentials") does not name what went wrong: its finding carries up to three ranked
``candidates`` (from its ``candidates:`` list), ordered by the clues in the text (client, host shape,
port, environment variables, HTTP status, content type) and the words of its block (cluster, catalog,
admin, expired: ``fallback.WORDS``, which may also name a specific cause the list lacks), each with how
to tell it apart and the ``brickauth doctor`` check that confirms it.

When no matcher of any cause fires anywhere in a text that still reads like an error, ``fallback``
ranks up to three candidates from the clues alone: a vague finding, never a confident answer.
The records (``Cause``, ``Candidate``, ``Match``) live in ``cause``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from brickauth.doctor import vocabulary
from brickauth.doctor.cause import AADSTS_PRIORITY as AADSTS_PRIORITY
from brickauth.doctor.cause import GENERIC_PRIORITY as GENERIC_PRIORITY
from brickauth.doctor.cause import PATTERN_PRIORITY as PATTERN_PRIORITY
from brickauth.doctor.cause import Candidate as Candidate
from brickauth.doctor.cause import Cause as Cause
from brickauth.doctor.cause import Match as Match
from brickauth.doctor.cause import _clues_of, _dedupe
from brickauth.doctor.fallback import (
    FALLBACK_ID,
    clue_points,
    rank_by_clues,
    score_causes,
    words_in,
)
from brickauth.doctor.similar import MIN_SIMILARITY, WordingIndex
from brickauth.doctor.text_clues import _BA_CODE_RE, _LONE_CODE_RE, _codes_in, excerpt
from brickauth.doctor.text_clues import CLUES as CLUES
from brickauth.doctor.text_clues import Block as Block
from brickauth.doctor.text_clues import _needle as _needle
from brickauth.doctor.text_clues import _needle_set as _needle_set
from brickauth.doctor.text_clues import clues_in as clues_in
from brickauth.doctor.text_clues import split_blocks as split_blocks
from brickauth.doctor.text_clues import strip_ansi as strip_ansi
from brickauth.doctor.vocabulary import Message
from brickauth.entra_codes import PRIMARY_NUMBER, codes_for

CODE_PRIORITY = 96  # a brickauth code names its cause exactly (unless the cause is generic)
MAX_CANDIDATES = 3
DIRECT_MATCH_BONUS = 50  # a vague cause's candidate whose own matchers hit the same block
CLUE_TIEBREAK = 10  # most that clues add to or take from a cause's priority within one block
WORD_CAP = 40  # most that a block's words add to a vague cause's candidate
WORD_MIN = 25  # words that point at an unlisted specific cause this strongly make it a candidate
WORD_BASE = 80  # its base score (a listed candidate starts at 100 minus 4 per place)
CATEGORIES = ("entra", "databricks", "account", "network", "local", "store", "config", "version", "token")

# Checks of `brickauth doctor` (docs/doctor-json.md) that a cause's `check:` may name.
DOCTOR_CHECKS = (
    "settings.host", "settings.http_path", "settings.auth", "network.dns", "network.tcp", "network.tls",
    "idp.discovery", "idp.client", "token.acquire", "token.claims", "workspace.membership",
    "workspace.sql_entitlement", "warehouse.state", "warehouse.can_use", "sql.probe", "sql.table_owners",
    "store.keyring",
)  # fmt: skip

class KnowledgeBaseError(ValueError):
    """causes.yaml is malformed (a bug in brickauth, caught by the test suite)."""


@dataclass
class KnowledgeBase:
    causes: tuple[Cause, ...]
    _by_id: dict[str, Cause] = field(default_factory=dict, repr=False)
    _by_code: dict[int, Cause] = field(default_factory=dict, repr=False)
    _by_ba_code: dict[str, Cause] = field(default_factory=dict, repr=False)
    # Pre-check index: a cause whose every pattern has a needle is tried only when one is in the text.
    _always: frozenset[int] = field(default=frozenset(), repr=False)
    _by_needle: dict[str, list[int]] = field(default_factory=dict, repr=False)
    # ... and a cause that none of those needles names is tried for its clients' messages alone.
    _by_message_word: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _wording: WordingIndex | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._build_index()
        for cause in self.causes:
            if cause.id in self._by_id:
                raise KnowledgeBaseError(f"duplicate cause id {cause.id}")
            self._by_id[cause.id] = cause
            for code in cause.aadsts:
                if code in self._by_code:
                    raise KnowledgeBaseError(
                        f"AADSTS{code} mapped to {self._by_code[code].id} and {cause.id}"
                    )
                self._by_code[code] = cause
            for ba in cause.codes:
                if ba in self._by_ba_code:
                    raise KnowledgeBaseError(f"{ba} mapped to {self._by_ba_code[ba].id} and {cause.id}")
                self._by_ba_code[ba] = cause
        for cause in self.causes:
            for other in cause.candidates:
                if other not in self._by_id:
                    raise KnowledgeBaseError(f"cause {cause.id}: unknown candidate {other}")

    def _build_index(self) -> None:
        always: set[int] = set()
        self._by_needle = {}
        self._by_message_word = {}
        for index, cause in enumerate(self.causes):
            if cause.requires is not None or any(not needles for needles in cause.needles):
                always.add(index)
            else:
                for needle in {n for needles in cause.needles for n in needles}:
                    self._by_needle.setdefault(needle, []).append(index)
            if any(not words for words in cause.message_needles):
                always.add(index)  # a message without a word to look for is tried on every block
            for word in {w for words in cause.message_needles for w in words}:
                self._by_message_word.setdefault(word, []).append(index)
        self._always = frozenset(always)

    def wording(self) -> WordingIndex:
        """The index of the causes' own wording (examples, title, tell), built on first use."""
        if self._wording is None:
            self._wording = WordingIndex(
                (cause.id, text)
                for cause in self.causes
                for text in (
                    *cause.examples,
                    *(m.replace("{}", " ") for m in cause.messages),
                    f"{cause.title}. {cause.tell}",
                )
            )
        return self._wording

    def __getitem__(self, cause_id: str) -> Cause:
        return self._by_id[cause_id]

    def __contains__(self, cause_id: object) -> bool:
        return cause_id in self._by_id

    def __len__(self) -> int:
        return len(self.causes)

    def for_aadsts(self, code: int) -> Cause | None:
        return self._by_code.get(code)

    def for_code(self, code: str) -> Cause | None:
        """The cause of a brickauth error code: ``BA213``, ``[BA213]`` or ``ba213``."""
        found = _LONE_CODE_RE.match(code)
        return self._by_ba_code.get(f"BA{found.group(1)}") if found else None

    def cause_for_code(self, code: str) -> Cause | None:
        """The cause a brickauth error code stands for (the explicit ``codes:`` map), or None."""
        return self.for_code(code)

    def classify(self, text: str) -> list[Match]:
        """Every distinct cause found in ``text``, in order of first appearance."""
        return self.scan(text)[0]

    def scan(self, text: str) -> tuple[list[Match], list[Block]]:
        """The distinct causes found in ``text`` and the blocks in which nothing was recognised."""
        text = strip_ansi(text)
        clues = clues_in(text)
        found: dict[str, Match] = {}
        unmatched: list[Block] = []
        lone = _LONE_CODE_RE.match(text)
        if lone and f"BA{lone.group(1)}" in self._by_ba_code:  # `explain ba213`
            text = f"BA{lone.group(1)}"
        for block in split_blocks(text):
            block_matches = self._classify_block(block, clues)
            if not block_matches:
                unmatched.append(block)
            for match in block_matches:
                key = match.cause_id or f"AADSTS{match.aadsts}"
                if key in found:
                    found[key].occurrences += 1
                else:
                    found[key] = match
        matches = list(found.values())
        if not matches:  # nothing matched anywhere: candidates from its wording and clues (vague)
            similar = [(self._by_id[c], s) for c, s in self.wording().rank(text) if s >= MIN_SIMILARITY]
            guess = rank_by_clues(self.causes, text, clues, unmatched, similar)
            return ([guess] if guess is not None else []), unmatched
        if any(m.cause is None or not m.cause.generic for m in matches):
            matches = [m for m in matches if m.cause is None or not m.cause.generic]
        return sorted(matches, key=lambda m: m.line), unmatched

    def best(self, text: str) -> Cause | None:
        """The single most specific known cause in ``text`` (for doctor checks), or None."""
        primary = self.primary(self.classify(text))
        if primary is None or primary.cause is None or primary.cause.id == FALLBACK_ID:
            return None  # clue-only candidates are not a cause to label a check's error with
        return primary.cause

    def primary(self, matches: list[Match]) -> Match | None:
        """The finding that best explains the whole text: a specific one before a vague one."""
        if any(m.cause is None for m in matches):
            return next(m for m in matches if m.cause is None)
        if not matches:
            return None
        return max(matches, key=lambda m: (m.cause is not None and not m.cause.vague, m.score, -m.line))

    def rank(self, text: str, limit: int | None = MAX_CANDIDATES) -> list[Candidate]:
        """The most likely causes of the error in ``text``, most likely first (empty: not recognised).

        ``limit=None`` ranks every candidate considered (for tests of the ranking itself).
        """
        return self.ranked(self.classify(text), limit)

    def ranked(self, matches: list[Match], limit: int | None = MAX_CANDIDATES) -> list[Candidate]:
        """``rank`` for matches already found by ``classify``."""
        primary = self.primary(matches)
        if primary is None or primary.cause is None:
            return []
        if not primary.cause.vague:
            return primary.candidates[:limit]
        merged: dict[str, Candidate] = {}
        for match in matches:
            if match.cause is not None and match.cause.vague:
                for cand in match.candidates:
                    if cand.cause_id not in merged or merged[cand.cause_id].score < cand.score:
                        merged[cand.cause_id] = cand
        return sorted(merged.values(), key=lambda c: -c.score)[:limit]

    def _classify_block(self, block: Block, clues: frozenset[str]) -> list[Match]:
        codes = _codes_in(block.text)
        ba_codes = frozenset(f"BA{c}" for c in _BA_CODE_RE.findall(block.text))
        known_codes = {code for code in codes if code in self._by_code}
        lowered = block.text.lower()
        tried = set(self._always)
        for needle, indexes in self._by_needle.items():
            if needle in lowered:
                tried.update(indexes)
        tried.update(self._indexes_for_codes(codes, ba_codes))
        saying = {i for word, found in self._by_message_word.items() if word in lowered for i in found}
        scored: list[tuple[int, Cause]] = []
        for index in sorted(tried | saying):
            cause = self.causes[index]
            if index in tried:
                if not cause.matches(block.text, codes, ba_codes, lowered):
                    continue
            elif not cause.says(block.text, lowered) or cause.excluded(block.text):
                continue
            if known_codes and cause.aadsts and not known_codes.intersection(cause.aadsts):
                continue  # never a cause of another AADSTS code than the one in the text
            base = cause.priority
            if ba_codes.intersection(cause.codes) and not cause.generic:
                base = max(base, CODE_PRIORITY)
            # Clues only tip the balance between causes that match the same block.
            scored.append((base + max(-CLUE_TIEBREAK, min(CLUE_TIEBREAK, cause.clue_score(clues))), cause))
        matches: list[Match] = []
        if scored:
            top = max(score for score, _ in scored)
            others = sorted(((s, c) for s, c in scored if s < top), key=lambda sc: -sc[0])
            for score, cause in scored:
                if score == top:
                    shown = excerpt(block.text, cause.codes, cause.aadsts_texts, cause.patterns)
                    match = Match(cause, block.line, shown, score=score)
                    match.candidates = self._candidates(cause, score, others, clues, block.text)
                    matches.append(match)
        if not known_codes:
            # An AADSTS code we do not know outranks generic and pattern guesses: say so plainly.
            unknown = sorted(codes)
            if unknown and (
                not matches or max(m.cause.priority for m in matches if m.cause) < AADSTS_PRIORITY
            ):
                matches = [
                    Match(None, block.line, excerpt(block.text, (), (f"AADSTS{code}",), ()), aadsts=code)
                    for code in unknown
                ]
        return matches

    def _indexes_for_codes(self, codes: frozenset[int], ba_codes: frozenset[str]) -> set[int]:
        found = [self._by_code.get(c) for c in codes] + [self._by_ba_code.get(c) for c in ba_codes]
        wanted = {cause.id for cause in found if cause is not None}
        return {i for i, cause in enumerate(self.causes) if cause.id in wanted} if wanted else set()

    def _candidates(
        self,
        cause: Cause,
        score: int,
        others: list[tuple[int, Cause]],
        clues: frozenset[str],
        block: str = "",
    ) -> list[Candidate]:
        """Ranked candidates for a block whose best match is ``cause``."""
        used = tuple(sorted(clues))
        if not cause.vague:
            first = Candidate(cause, score, _clues_of(cause, used))
            ranked = []
            # Other causes that matched the same block closely, and the cause's declared look-alikes.
            for other_score, other in others:
                if other_score >= score - 20 and not other.generic and not other.vague:
                    ranked.append(Candidate(other, other_score, _clues_of(other, used)))
            for position, other_id in enumerate(cause.candidates):
                other = self._by_id[other_id]
                ranked.append(Candidate(other, score - 30 - 3 * position + other.clue_score(clues),
                                        _clues_of(other, used)))
            ranked.sort(key=lambda c: -c.score)
            return _dedupe([first, *ranked])
        ranked = []
        # Words of the block (cluster, catalog, admin, expired, ...) move candidates up, and can name a
        # specific cause the vague one does not list: a bare 403 about a cluster is about the cluster.
        words = words_in(block) - clues
        for position, other_id in enumerate(cause.candidates):
            other = self._by_id[other_id]
            prior = 100 - 4 * position
            if block and other.matches(block, frozenset(), frozenset()):
                prior += DIRECT_MATCH_BONUS  # the text itself says it (e.g. beside a legacy catch-all code)
            worded = min(WORD_CAP, clue_points(other, words)[0])
            ranked.append(Candidate(other, prior + other.clue_score(clues) + worded, _clues_of(other, used)))
        for named in score_causes(self.causes, words):
            unlisted = named.cause_id not in cause.candidates and named.cause_id != cause.id
            if unlisted and named.score >= WORD_MIN:
                ranked.append(Candidate(named.cause, WORD_BASE + min(WORD_CAP, named.score), named.clues))
        for other_score, other in others:  # specific causes the same block names outright
            if not other.generic and not other.vague:
                direct = 100 + DIRECT_MATCH_BONUS - max(0, score - other_score) // 2
                ranked.append(Candidate(other, direct + other.clue_score(clues), _clues_of(other, used)))
        ranked.sort(key=lambda c: -c.score)
        return _dedupe(ranked)


# ---------------------------------------------------------------------------------------------------
# Loading


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE | re.DOTALL)
    except re.error as exc:
        raise KnowledgeBaseError(f"{where}: bad regex {pattern!r}: {exc}") from exc


def _str_list(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeBaseError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _clue_weights(entry: dict[str, Any], where: str) -> tuple[tuple[str, int], ...]:
    value = entry.get("clues") or {}
    if not isinstance(value, dict):
        raise KnowledgeBaseError(f"{where}: clues must be a mapping of clue name to weight")
    for name, weight in value.items():
        if name not in CLUES:
            raise KnowledgeBaseError(f"{where}: unknown clue {name}")
        if not isinstance(weight, int):
            raise KnowledgeBaseError(f"{where}: clue {name} needs an integer weight")
    return tuple(sorted(value.items()))


def parse_cause(entry: dict[str, Any]) -> Cause:
    where = f"cause {entry.get('id', '?')}"
    for key in ("id", "category", "title", "explanation", "fix"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise KnowledgeBaseError(f"{where}: missing {key}")
    if not re.fullmatch(r"[a-z]+\.[a-z0-9_]+", entry["id"]):
        raise KnowledgeBaseError(f"{where}: id must look like 'area.cause'")
    if entry["category"] not in CATEGORIES:
        raise KnowledgeBaseError(f"{where}: unknown category {entry['category']}")
    matchers = entry.get("matchers") or {}
    aadsts = tuple(int(c) for c in matchers.get("aadsts", []))
    codes = _str_list(matchers, "codes", where)
    for code in codes:
        if not re.fullmatch(r"BA\d{3}", code) or code in PRIMARY_NUMBER:
            raise KnowledgeBaseError(f"{where}: code {code!r} must look like BA123 and not be an Entra "
                                     "code (brickauth.entra_codes gives those, from matchers.aadsts)")
    codes = tuple(sorted(codes_for(aadsts) + codes)) if codes_for(aadsts) else codes
    patterns = tuple(_compile(p, where) for p in _str_list(matchers, "patterns", where))
    if not aadsts and not patterns and not codes:
        raise KnowledgeBaseError(f"{where}: needs at least one matcher")
    requires = matchers.get("requires")
    excludes = matchers.get("excludes")
    priority = int(entry.get("priority", AADSTS_PRIORITY if aadsts else PATTERN_PRIORITY))
    check = entry.get("check")
    if check is not None and check not in DOCTOR_CHECKS:
        raise KnowledgeBaseError(f"{where}: unknown doctor check {check}")
    vague = bool(entry.get("vague", False))
    candidates = _str_list(entry, "candidates", where)
    if vague and not candidates:
        raise KnowledgeBaseError(f"{where}: a vague cause needs candidates")
    return Cause(
        id=entry["id"],
        category=entry["category"],
        title=entry["title"].strip(),
        explanation=entry["explanation"].strip(),
        fix=entry["fix"].strip(),
        links=_str_list(entry, "links", where),
        examples=_str_list(entry, "examples", where),
        aadsts=aadsts,
        codes=codes,
        patterns=patterns,
        requires=_compile(requires, where) if requires else None,
        excludes=_compile(excludes, where) if excludes else None,
        priority=priority,
        vague=vague,
        candidates=candidates,
        clues=_clue_weights(entry, where),
        tell=str(entry.get("tell") or "").strip(),
        check=check,
    )


def parse(text: str, messages: Iterable[Message] = ()) -> KnowledgeBase:
    """The knowledge base of ``text`` (causes.yaml), each cause also matching its clients' ``messages``."""
    # libyaml's loader when PyYAML has it: the pure-Python one takes about a second for causes.yaml.
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)  # noqa: S506 (SafeLoader or its libyaml twin)
    if not isinstance(data, dict) or not isinstance(data.get("causes"), list):
        raise KnowledgeBaseError("causes.yaml must be a mapping with a 'causes' list")
    causes = [parse_cause(entry) for entry in data["causes"]]
    templates: dict[str, list[str]] = {}
    known = {cause.id for cause in causes}
    for message in messages:
        if message.cause not in known:
            raise KnowledgeBaseError(f"vocabulary of {message.client}: unknown cause {message.cause}")
        templates.setdefault(message.cause, []).append(message.text)
    for index, cause in enumerate(causes):
        if cause.id in templates:
            causes[index] = replace(cause, messages=tuple(dict.fromkeys(templates.pop(cause.id))))
    return KnowledgeBase(tuple(causes))


def source_text() -> str:
    return resources.files("brickauth.doctor").joinpath("causes.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load() -> KnowledgeBase:
    """The knowledge base shipped with brickauth (parsed once per process)."""
    return parse(source_text(), vocabulary.messages())


def cause_for_code(code: str) -> Cause | None:
    """The cause a brickauth error code (``BA213``, ``[BA213]``) stands for, or None when unknown.

    The explicit code -> cause map of ``causes.yaml`` (``matchers.codes``); doctor's planner uses it
    to label a library error without parsing its text.
    """
    return load().for_code(code)
