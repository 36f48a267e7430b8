"""The knowledge base of auth failure causes (``causes.yaml``) and the matcher that classifies text.

Text is split into blocks (a log record, a paragraph, a traceback). In each block every cause whose
matchers hit is a candidate; the highest-priority candidates win the block. Causes with a priority
below ``GENERIC_PRIORITY`` are reported only when nothing specific was found anywhere in the text.
An AADSTS code that is not in the knowledge base is reported as unknown, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

GENERIC_PRIORITY = 30
AADSTS_PRIORITY = 80
PATTERN_PRIORITY = 50
CATEGORIES = ("entra", "databricks", "network", "store", "config", "token")

_AADSTS_RE = re.compile(r"AADSTS(\d{5,8})")
_ERROR_CODES_RE = re.compile(r"""["']error_codes["']\s*:\s*\[([\d,\s]+)\]""")
# A new block starts at a blank line or at a line that starts a log record.
_RECORD_START_RE = re.compile(
    r"^(\d{2}:\d{2}:\d{2}(\.\d+)?\s|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\[\d{4}-\d{2}-\d{2}|\{\"(info|data)\"|"
    r"(DEBUG|INFO|WARNING|ERROR|CRITICAL)[: ])"
)


class KnowledgeBaseError(ValueError):
    """causes.yaml is malformed (a bug in brickauth, caught by the test suite)."""


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
    patterns: tuple[re.Pattern[str], ...] = ()
    requires: re.Pattern[str] | None = None
    excludes: re.Pattern[str] | None = None
    priority: int = PATTERN_PRIORITY

    @property
    def generic(self) -> bool:
        return self.priority < GENERIC_PRIORITY

    @property
    def link(self) -> str:
        return self.links[0] if self.links else ""

    def matches(self, block: str, codes: frozenset[int]) -> bool:
        if self.excludes is not None and self.excludes.search(block):
            return False
        if self.requires is not None and not self.requires.search(block):
            return False
        if codes.intersection(self.aadsts):
            return True
        return any(p.search(block) for p in self.patterns)


@dataclass(frozen=True)
class Block:
    text: str
    line: int  # 1-based number of the block's first line


@dataclass
class Match:
    """One classified error in a text: a known cause, or an unknown AADSTS code (``cause is None``)."""

    cause: Cause | None
    line: int
    excerpt: str
    occurrences: int = 1
    aadsts: int | None = None

    @property
    def cause_id(self) -> str | None:
        return self.cause.id if self.cause else None


@dataclass
class KnowledgeBase:
    causes: tuple[Cause, ...]
    _by_id: dict[str, Cause] = field(default_factory=dict, repr=False)
    _by_code: dict[int, Cause] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
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

    def __getitem__(self, cause_id: str) -> Cause:
        return self._by_id[cause_id]

    def __contains__(self, cause_id: object) -> bool:
        return cause_id in self._by_id

    def __len__(self) -> int:
        return len(self.causes)

    def for_aadsts(self, code: int) -> Cause | None:
        return self._by_code.get(code)

    def classify(self, text: str) -> list[Match]:
        """Every distinct cause found in ``text``, in order of first appearance."""
        return self.scan(text)[0]

    def scan(self, text: str) -> tuple[list[Match], list[Block]]:
        """The distinct causes found in ``text`` and the blocks in which nothing was recognised."""
        found: dict[str, Match] = {}
        unmatched: list[Block] = []
        for block in split_blocks(text):
            block_matches = self._classify_block(block)
            if not block_matches:
                unmatched.append(block)
            for match in block_matches:
                key = match.cause_id or f"AADSTS{match.aadsts}"
                if key in found:
                    found[key].occurrences += 1
                else:
                    found[key] = match
        matches = list(found.values())
        if any(m.cause is None or not m.cause.generic for m in matches):
            matches = [m for m in matches if m.cause is None or not m.cause.generic]
        return sorted(matches, key=lambda m: m.line), unmatched

    def best(self, text: str) -> Cause | None:
        """The single most specific known cause in ``text`` (for doctor checks), or None."""
        known = [m.cause for m in self.classify(text) if m.cause is not None]
        return max(known, key=lambda c: c.priority) if known else None

    def _classify_block(self, block: Block) -> list[Match]:
        codes = _codes_in(block.text)
        candidates = [c for c in self.causes if c.matches(block.text, codes)]
        matches: list[Match] = []
        if candidates:
            top = max(c.priority for c in candidates)
            matches = [Match(c, block.line, _excerpt(block.text, c)) for c in candidates if c.priority == top]
        known_codes = {code for code in codes if code in self._by_code}
        if not known_codes:
            # An AADSTS code we do not know outranks generic and pattern guesses: say so plainly.
            unknown = sorted(codes)
            if unknown and (
                not matches or max(m.cause.priority for m in matches if m.cause) < AADSTS_PRIORITY
            ):
                matches = [
                    Match(None, block.line, _excerpt_at(block.text, f"AADSTS{code}"), aadsts=code)
                    for code in unknown
                ]
        return matches


def _codes_in(text: str) -> frozenset[int]:
    codes = {int(c) for c in _AADSTS_RE.findall(text)}
    for group in _ERROR_CODES_RE.findall(text):
        codes.update(int(c) for c in re.findall(r"\d+", group))
    return frozenset(codes)


def split_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines() or [text], start=1):
        if not line.strip() or (_RECORD_START_RE.match(line) and current):
            if current:
                blocks.append(Block("\n".join(current), start))
            current = [line] if line.strip() else []
            start = number
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        blocks.append(Block("\n".join(current), start))
    return blocks


def _excerpt(text: str, cause: Cause) -> str:
    for code in cause.aadsts:
        if f"AADSTS{code}" in text:
            return _excerpt_at(text, f"AADSTS{code}")
    for pattern in cause.patterns:
        found = pattern.search(text)
        if found:
            return _line_around(text, found.start())
    return _line_around(text, 0)


def _excerpt_at(text: str, needle: str) -> str:
    return _line_around(text, max(text.find(needle), 0))


def _line_around(text: str, pos: int, width: int = 300) -> str:
    begin = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[begin : end if end != -1 else len(text)].strip()
    if len(line) > width:
        offset = max(pos - begin - width // 3, 0)
        line = ("..." if offset else "") + line[offset : offset + width] + "..."
    return line


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
    patterns = tuple(_compile(p, where) for p in _str_list(matchers, "patterns", where))
    if not aadsts and not patterns:
        raise KnowledgeBaseError(f"{where}: needs at least one matcher")
    requires = matchers.get("requires")
    excludes = matchers.get("excludes")
    priority = int(entry.get("priority", AADSTS_PRIORITY if aadsts else PATTERN_PRIORITY))
    return Cause(
        id=entry["id"],
        category=entry["category"],
        title=entry["title"].strip(),
        explanation=entry["explanation"].strip(),
        fix=entry["fix"].strip(),
        links=_str_list(entry, "links", where),
        examples=_str_list(entry, "examples", where),
        aadsts=aadsts,
        patterns=patterns,
        requires=_compile(requires, where) if requires else None,
        excludes=_compile(excludes, where) if excludes else None,
        priority=priority,
    )


def parse(text: str) -> KnowledgeBase:
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("causes"), list):
        raise KnowledgeBaseError("causes.yaml must be a mapping with a 'causes' list")
    return KnowledgeBase(tuple(parse_cause(entry) for entry in data["causes"]))


def source_text() -> str:
    return resources.files("brickauth.doctor").joinpath("causes.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load() -> KnowledgeBase:
    """The knowledge base shipped with brickauth (parsed once per process)."""
    return parse(source_text())
