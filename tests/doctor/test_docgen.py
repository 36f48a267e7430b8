"""docs/troubleshooting.md is generated from the knowledge base and kept in sync."""

from __future__ import annotations

from pathlib import Path

from brickauth.doctor import docgen
from brickauth.doctor.knowledge import load

DOC = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"


def test_committed_troubleshooting_doc_equals_a_fresh_generation() -> None:
    assert DOC.read_text(encoding="utf-8") == docgen.generate(), (
        "docs/troubleshooting.md is stale: run `python -m brickauth.doctor.docgen`"
    )


def test_every_cause_has_a_section() -> None:
    text = docgen.generate()
    for cause in load().causes:
        assert f"ID: `{cause.id}`" in text


def test_check_mode(tmp_path: Path) -> None:
    target = tmp_path / "t.md"
    assert docgen.main([str(target), "--check"]) == 1
    assert docgen.main([str(target)]) == 0
    assert docgen.main([str(target), "--check"]) == 0
