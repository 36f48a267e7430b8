"""Score `brickauth doctor explain` on the field corpus: development part and held-back part.

    python tests/doctor/corpus/score.py [--part dev|held|all] [--misses] [--json]

The part of an entry is fixed by its source URL: sha256(url) first byte < 77 (about 30%) is held back.
Matchers are written from the development part only; a held-back miss is never used to tune (add a
new text to the development part instead). A text is classified right when the expected cause is
first (specific texts) or among the top three candidates (vague texts). A *confident wrong code* is
a text with a known AADSTS or BA code given first a cause that belongs to another code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from brickauth.doctor.knowledge import KnowledgeBase, Match, load

HERE = Path(__file__).resolve().parent
HELD_BACK_BELOW = 77  # first byte of sha256(source URL): 77/256 = 30%
_AADSTS_RE = re.compile(r"AADSTS(\d{5,8})")
_BA_RE = re.compile(r"(?<![A-Za-z0-9])(BA\d{3})(?![0-9])")


@dataclass(frozen=True)
class Entry:
    id: str
    text: str
    client: str
    source: str
    cause: str
    vague: bool
    file: str
    context_only: str = ""  # why the text cannot show its cause (cause_map.yaml); not scored
    also: tuple[str, ...] = ()  # other causes the (coarser) label covers

    @property
    def causes(self) -> tuple[str, ...]:
        return (self.cause, *self.also)

    @property
    def part(self) -> str:
        return "held" if hashlib.sha256(self.source.encode()).digest()[0] < HELD_BACK_BELOW else "dev"


@dataclass(frozen=True)
class Outcome:
    entry: Entry
    given: tuple[str, ...]  # ranked cause ids (at most three); empty: not recognised
    right: bool
    wrong_code: bool


def load_corpus(directory: Path = HERE) -> list[Entry]:
    entries: list[Entry] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "cause_map.yaml":
            continue
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            entries.append(
                Entry(item["id"], item["text"], item["client"], item["source"], item["cause"],
                      bool(item["vague"]), path.name, item.get("context_only", ""),
                      tuple(item.get("also", ())))
            )  # fmt: skip
    return entries


def judge(kb: KnowledgeBase, entry: Entry) -> Outcome:
    matches = kb.classify(entry.text)
    primary = kb.primary(matches)
    ranked = tuple(c.cause_id for c in kb.ranked(matches))
    labels = set(ranked[:3] if entry.vague else ranked[:1])
    if primary is not None and primary.cause is not None:
        labels.add(primary.cause.id)  # a vague label names the vague cause itself
    right = bool(labels.intersection(entry.causes))
    return Outcome(entry, ranked, right, _wrong_code(kb, entry, ranked, primary))


def _wrong_code(kb: KnowledgeBase, entry: Entry, ranked: tuple[str, ...], primary: Match | None) -> bool:
    if not ranked or ranked[0] in entry.causes:
        return False
    if primary is not None and primary.cause is not None and primary.cause.vague:
        return False  # ranked candidates for a catch-all code are not a confident answer
    first = kb[ranked[0]]
    aadsts = {int(c) for c in _AADSTS_RE.findall(entry.text) if kb.for_aadsts(int(c))}
    if aadsts and first.aadsts and not aadsts.intersection(first.aadsts):
        return True
    codes = {c for c in _BA_RE.findall(entry.text) if kb.for_code(c)}
    return bool(codes and first.codes and not codes.intersection(first.codes))


def score(entries: list[Entry], kb: KnowledgeBase | None = None) -> dict[str, Any]:
    kb = kb or load()
    started = time.perf_counter()
    outcomes = [judge(kb, e) for e in entries]
    elapsed = time.perf_counter() - started
    report: dict[str, Any] = {"entries": len(entries), "seconds": round(elapsed, 3)}
    for part in ("dev", "held"):
        context_only = sum(o.entry.part == part and bool(o.entry.context_only) for o in outcomes)
        mine = [o for o in outcomes if o.entry.part == part and not o.entry.context_only]
        right = sum(o.right for o in mine)
        confusion = Counter(
            (o.entry.cause, o.given[0] if o.given else "(not recognised)") for o in mine if not o.right
        )
        report[part] = {
            "entries": len(mine),
            "right": right,
            "accuracy": round(right / len(mine), 4) if mine else None,
            "vague": sum(o.entry.vague for o in mine),
            "context_only": context_only,
            "confident_wrong_code": sum(o.wrong_code for o in mine),
            "confusion": [
                {"expected": exp, "given": giv, "count": n} for (exp, giv), n in confusion.most_common()
            ],
        }
    report["clients"] = len({e.client for e in entries})
    report["_outcomes"] = outcomes
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--part", choices=("dev", "held", "all"), default="all")
    parser.add_argument("--misses", action="store_true", help="print the texts of development misses")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    entries = load_corpus()
    report = score(entries)
    outcomes: list[Outcome] = report.pop("_outcomes")
    parts = ("dev", "held") if args.part == "all" else (args.part,)
    if args.json:
        hidden = {"dev", "held"} - set(parts)
        print(json.dumps({k: v for k, v in report.items() if k not in hidden}, indent=2))
        return 0
    print(f"doctor corpus: {report['entries']} texts from {report['clients']} clients, "
          f"classified in {report['seconds']:.2f} s")  # fmt: skip
    for part in parts:
        r = report[part]
        name = "development" if part == "dev" else "held-back"
        acc = f"{100 * r['accuracy']:.1f}%" if r["accuracy"] is not None else "n/a"
        print(f"{name:12s} {r['right']:4d}/{r['entries']:<4d} right ({acc}); {r['vague']} vague; "
              f"{r['confident_wrong_code']} confident wrong on a code; "
              f"{r['context_only']} not scored (cause not in the text)")  # fmt: skip
        for row in r["confusion"]:
            print(f"    expected {row['expected']:45s} given {row['given']:45s} x{row['count']}")
    if args.misses:
        for o in outcomes:
            if o.entry.part == "dev" and not o.right and not o.entry.context_only:
                print(f"\n--- {o.entry.id} {o.entry.client} expected {o.entry.cause} vague={o.entry.vague}"
                      f" given {list(o.given)}\n{o.entry.text}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
