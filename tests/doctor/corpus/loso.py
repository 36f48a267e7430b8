"""Leave-one-source-out on the DEVELOPMENT part only: would each thread's texts still be classified
right if the patterns that only its texts support were absent?

    python tests/doctor/corpus/loso.py [--misses] [--narrow]

A pattern's *support* is the set of development sources whose texts (labelled with the pattern's cause)
it matches. For each development source S, the knowledge base is rebuilt without the patterns whose
support is S alone, and S's texts are judged again. A text that is then missed was recognised only
through wording written for it: the matcher does not generalise. ``--narrow`` lists the patterns
supported by one source (candidates for a family rewrite or for documented wording).

Held-back entries are never loaded into this check (they are filtered out before anything is read).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from brickauth.doctor.knowledge import Cause, KnowledgeBase, load
from brickauth.doctor.text_clues import split_blocks, strip_ansi

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("doctor_corpus_score_loso", HERE / "score.py")
assert _spec is not None and _spec.loader is not None
score = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = score
_spec.loader.exec_module(score)


def dev_entries() -> list[score.Entry]:
    return [e for e in score.load_corpus(HERE) if e.part == "dev" and not e.context_only]


def support(kb: KnowledgeBase, entries: list[score.Entry]) -> dict[tuple[str, int], set[str]]:
    """(cause id, pattern index) -> development sources whose texts of that cause the pattern matches."""
    found: dict[tuple[str, int], set[str]] = defaultdict(set)
    for entry in entries:
        blocks = [b.text for b in split_blocks(strip_ansi(entry.text))]
        for cause_id in entry.causes:
            cause = kb[cause_id]
            for index, pattern in enumerate(cause.patterns):
                if any(pattern.search(b) for b in blocks):
                    found[(cause_id, index)].add(entry.source)
    return found


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _shares(example: str, text: str, width: int = 40) -> bool:
    """Whether ``example`` copies a stretch of ``text`` (then it is not independent of that text)."""
    return any(example[i : i + width] in text for i in range(0, max(1, len(example) - width + 1), 10))


def documented(kb: KnowledgeBase, entries: list[score.Entry]) -> dict[tuple[str, int], set[str]]:
    """(cause id, pattern index) -> development sources NOT independent of the cause examples it matches.

    A pattern that matches an example of its cause is supported by documented wording, except for the
    sources the example copies; those sources are listed (empty set: independent support).
    """
    texts: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        texts[entry.source].append(_norm(entry.text))
    found: dict[tuple[str, int], set[str]] = {}
    for cause in kb.causes:
        for example in cause.examples:
            norm = _norm(example)
            copied = {s for s, mine in texts.items() if any(_shares(norm, t) for t in mine)}
            for index, pattern in enumerate(cause.patterns):
                if pattern.search(example):
                    key = (cause.id, index)
                    found[key] = found[key] & copied if key in found else copied
    return found


def without(kb: KnowledgeBase, drop: set[tuple[str, int]], texts: Sequence[str] = ()) -> KnowledgeBase:
    """``kb`` without the patterns in ``drop`` and without the examples that copy one of ``texts``
    (the wording index of ``doctor.similar`` learns from examples: one copying the left-out thread
    would be that thread's own text)."""
    causes: list[Cause] = []
    for cause in kb.causes:
        keep = tuple(p for i, p in enumerate(cause.patterns) if (cause.id, i) not in drop)
        if not keep and not cause.aadsts and not cause.codes:
            keep = (re.compile(r"(?!x)x"),)  # never matches
        examples = tuple(ex for ex in cause.examples if not any(_shares(_norm(ex), t) for t in texts))
        if len(keep) != len(cause.patterns) or len(examples) != len(cause.examples):
            cause = dataclasses.replace(cause, patterns=keep, examples=examples)
        causes.append(cause)
    return KnowledgeBase(tuple(causes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--narrow", action="store_true")
    parser.add_argument("--strict", action="store_true", help="count cause examples as no support")
    args = parser.parse_args(argv)
    kb = load()
    entries = dev_entries()
    sup = support(kb, entries)
    docs = {} if args.strict else documented(kb, entries)
    by_source: dict[str, list[score.Entry]] = defaultdict(list)
    for entry in entries:
        by_source[entry.source].append(entry)
    right = 0
    misses: list[tuple[score.Entry, tuple[str, ...]]] = []
    for source, mine in by_source.items():
        drop = {
            key
            for key, sources in sup.items()
            if sources == {source} and (key not in docs or source in docs[key])
        }
        reduced = without(kb, drop, [_norm(e.text) for e in mine])
        for entry in mine:
            outcome = score.judge(reduced, entry)
            right += outcome.right
            if not outcome.right:
                misses.append((entry, outcome.given))
    print(f"leave-one-source-out (development): {right}/{len(entries)} right "
          f"({100 * right / len(entries):.1f}%) over {len(by_source)} sources")  # fmt: skip
    if args.narrow:
        for (cause_id, index), sources in sorted(sup.items()):
            if len(sources) == 1 and ((cause_id, index) not in docs or sources <= docs[(cause_id, index)]):
                print(f"  narrow {cause_id}[{index}]: {kb[cause_id].patterns[index].pattern[:110]}")
    if args.misses:
        for entry, given in misses:
            print(f"\n--- {entry.id} {entry.client} expected {entry.cause} vague={entry.vague} "
                  f"given {list(given)}\n{entry.text[:600]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
