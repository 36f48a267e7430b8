"""The field corpus (tests/doctor/corpus): real error texts with their established cause (issue 11).

The development part must be classified fully; the held-back part is scored by `nox -s doctor-score`
and never asserted here (asserting it would invite tuning on it).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from brickauth.doctor.knowledge import load

CORPUS = Path(__file__).resolve().parent / "corpus"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"doctor_corpus_{name}", CORPUS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


score = _module("score")
ENTRIES = score.load_corpus(CORPUS)
DEV = [e for e in ENTRIES if e.part == "dev" and not e.context_only]
KB = load()


def test_corpus_is_sourced_and_labelled_with_known_causes() -> None:
    assert len(ENTRIES) >= 80
    assert len({e.id for e in ENTRIES}) == len(ENTRIES)
    texts = [re.sub(r"\s+", " ", e.text).strip().lower() for e in ENTRIES]
    assert len(set(texts)) == len(texts), "duplicate texts"
    for entry in ENTRIES:
        assert re.match(r"https?://\S+$", entry.source), entry.id
        assert all(cause in KB for cause in entry.causes), (entry.id, entry.causes)
        assert entry.text.strip()


def test_split_is_fixed_by_the_source_url_and_holds_back_about_thirty_percent() -> None:
    held = sum(e.part == "held" for e in ENTRIES)
    assert 0.15 < held / len(ENTRIES) < 0.45
    sources: dict[str, str] = {}
    for entry in ENTRIES:  # every text of one thread is on the same side
        assert sources.setdefault(entry.source, entry.part) == entry.part


@pytest.mark.parametrize("entry", DEV, ids=lambda e: f"{e.id}-{e.cause}")
def test_development_part_is_classified_right(entry: score.Entry) -> None:
    outcome = score.judge(KB, entry)
    where = "first" if not entry.vague else "among the top three"
    assert outcome.right, f"expected {entry.cause} {where}, got {list(outcome.given)}:\n{entry.text}"


def test_corrections_touch_only_development_entries_and_stay_few() -> None:
    import yaml

    corrections = yaml.safe_load((CORPUS / "cause_map.yaml").read_text())["entries"] or {}
    parts = {e.id: e.part for e in ENTRIES}
    assert all(parts.get(str(entry_id)) == "dev" for entry_id in corrections)
    context_only = [e for e in ENTRIES if e.context_only]
    assert all(e.part == "dev" for e in context_only)
    assert len(context_only) <= 0.06 * len([e for e in ENTRIES if e.part == "dev"])


def test_no_confident_wrong_answer_on_a_specific_code_anywhere() -> None:
    wrong = [e.id for e in ENTRIES if score.judge(KB, e).wrong_code]
    assert wrong == []


def test_converter_validates_dedupes_and_maps_new_causes(tmp_path: Path) -> None:
    importer = _module("import_staging")
    staging = tmp_path / "staging"
    staging.mkdir()
    good = {
        "text": "AADSTS7000215: Invalid client secret provided.",
        "client": "msal-py",
        "source": "https://github.com/example/repo/issues/1",
        "cause": "entra.invalid_client_secret",
        "evidence": "maintainer: secret id used",
        "fix": "Use the value.",
        "vague": False,
    }
    import yaml

    entries = [
        good,
        {**good, "text": "AADSTS7000215:  Invalid client secret   provided."},  # duplicate text
        {**good, "text": "x", "source": ""},  # no source
        {**good, "text": "y", "evidence": "guess: maybe"},  # unsettled
        {**good, "text": "z", "cause": "new:local.unheard_of", "cause_title": "t"},  # unmapped new cause
        {
            **good,
            "text": "listen EADDRINUSE: address already in use :::8020",
            "cause": "new:local.loopback_port_in_use",
        },
        {**good, "text": "w", "client": "notepad"},
    ]
    (staging / "sample.yaml").write_text(yaml.safe_dump(entries) + "- text: [broken\n")
    out = tmp_path / "out"
    out.mkdir()
    stats = importer.convert(staging, out)
    kept = yaml.safe_load((out / "sample.yaml").read_text())
    assert [(e["cause"], e["proposed_cause"]) for e in kept] == [
        ("entra.invalid_client_secret", None),
        ("local.loopback_port_in_use", "new:local.loopback_port_in_use"),
    ]
    assert stats["dropped: duplicate"] == 1 and stats["dropped: no source URL"] == 1
    assert stats["dropped: unsettled evidence"] == 1 and stats["dropped: unknown client"] == 1
    assert stats["dropped: unmapped new:local.unheard_of"] == 1
    assert all(e["source"].startswith("https://") for e in kept)
