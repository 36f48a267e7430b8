"""Validate the gatherers' staging corpus and copy it into tests/doctor/corpus/*.yaml.

    python tests/doctor/corpus/import_staging.py [STAGING_DIR]   (default /work/staging/corpus)

Each staging file (a YAML list; schema in GATHERING.md) becomes a file of the same name here.
Kept: entries with a text, a known client, an http(s) source URL, settled evidence (maintainer,
reporter-confirmed, merged-pr, docs) and a cause that is in the knowledge base, or a proposed
``new:<id>`` cause that ``cause_map.yaml`` maps to one. Dropped (and counted): everything else, and
duplicates (same text, whitespace-insensitive, within or across files). Secret-looking values the
source left in are masked with doctor's redactor. A file whose YAML is broken as a whole is read
entry by entry, so one bad entry costs only itself.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from brickauth.doctor.knowledge import load
from brickauth.doctor.redact import redact

HERE = Path(__file__).resolve().parent
DEFAULT_STAGING = Path("/work/staging/corpus")
CAUSE_MAP = HERE / "cause_map.yaml"
EVIDENCE = ("maintainer", "reporter-confirmed", "merged-pr", "docs")
CLIENTS = frozenset(
    """databricks-cli databricks-sdk-py databricks-sdk-go databricks-sdk-java terraform-provider-databricks
    databricks-sql-python databricks-sql-nodejs databricks-sql-go databricks-jdbc databricks-odbc
    databricks-connect dbt-databricks dbt-fusion vscode-databricks airflow-databricks azure-identity-py
    azure-identity-js azure-identity-net msal-py msal-net msal-js azure-cli azure-login-action
    azure-devops keyring powerbi spark browser""".split()
)


def entry_id(source: str, text: str) -> str:
    return hashlib.sha256(f"{source}\n{_norm(text)}".encode()).hexdigest()[:12]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def read_entries(path: Path) -> tuple[list[Any], int]:
    """The file's entries, and how many chunks could not be parsed."""
    raw = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(raw)
        return (data if isinstance(data, list) else []), 0
    except yaml.YAMLError:
        pass
    chunks = re.split(r"(?m)^(?=- )", raw)
    entries: list[Any] = []
    broken = 0
    for chunk in chunks:
        if not chunk.strip():
            continue
        try:
            parsed = yaml.safe_load(chunk)
        except yaml.YAMLError:
            broken += 1
            continue
        if isinstance(parsed, list):
            entries.extend(parsed)
    return entries, broken


def settle_cause(entry: dict[str, Any], cause_map: dict[str, Any]) -> tuple[list[str] | None, str | None]:
    """(knowledge-base cause ids, the first the label, proposed id) or (None, reason)."""
    cause = str(entry.get("cause") or "").strip()
    kb = load()
    if cause.startswith("new:"):
        mapped = cause_map.get(cause)
        if mapped is None:
            return None, f"unmapped {cause}"
        ids = [mapped] if isinstance(mapped, str) else list(mapped)
        unknown = [i for i in ids if i not in kb]
        if unknown:
            return None, f"{cause} maps to unknown {unknown[0]}"
        return ids, cause
    if cause in kb:
        return [cause], None
    return None, f"unknown cause {cause or '(none)'}"


def convert(staging: Path, out_dir: Path = HERE) -> Counter[str]:
    mapping: dict[str, Any] = yaml.safe_load(CAUSE_MAP.read_text(encoding="utf-8")) or {}
    cause_map: dict[str, str] = mapping.get("new_causes") or {}
    overrides = {str(k): v for k, v in (mapping.get("entries") or {}).items()}  # ids are quoted strings
    stats: Counter[str] = Counter()
    staged = {path.name for path in staging.glob("*.yaml")}
    seen: set[str] = set(_texts_not_from(staged, out_dir))
    for path in sorted(staging.glob("*.yaml")):
        entries, broken = read_entries(path)
        stats["unparseable chunk"] += broken
        kept: list[dict[str, Any]] = []
        for entry in entries:
            stats["read"] += 1
            reason = _problem(entry)
            if reason:
                stats[f"dropped: {reason}"] += 1
                continue
            causes, proposed = settle_cause(entry, cause_map)
            if causes is None:
                stats[f"dropped: {proposed}"] += 1
                continue
            text = redact(str(entry["text"]).strip("\n"))
            key = _norm(text)
            if key in seen:
                stats["dropped: duplicate"] += 1
                continue
            seen.add(key)
            source = str(entry["source"]).strip()
            override = overrides.get(entry_id(source, text), {})
            kept.append(
                {
                    "id": entry_id(source, text),
                    "text": text,
                    "client": str(entry["client"]).strip(),
                    "source": source,
                    "cause": causes[0],
                    **({"also": causes[1:]} if len(causes) > 1 else {}),
                    "proposed_cause": proposed,
                    "evidence": str(entry["evidence"]).strip(),
                    "fix": str(entry.get("fix") or "").strip(),
                    "vague": bool(override.get("vague", entry.get("vague"))),
                    **({"context_only": str(override["context_only"])} if "context_only" in override else {}),
                }
            )
        stats["kept"] += len(kept)
        write(out_dir / path.name, kept, path)
    for name in sorted(stats):
        if name.startswith("dropped: unmapped new:"):
            stats["unmapped new causes"] += 1
    return stats


def _texts_not_from(staged: set[str], out_dir: Path) -> set[str]:
    """Normalised texts of corpus files that no staging file regenerates (earlier rounds' imports)."""
    texts: set[str] = set()
    for path in out_dir.glob("*.yaml"):
        if path.name in staged or path.name == CAUSE_MAP.name:
            continue
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        texts.update(_norm(str(item["text"])) for item in items)
    return texts


def _problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "not a mapping"
    if not isinstance(entry.get("text"), str) or not entry["text"].strip():
        return "no text"
    if not re.match(r"https?://\S+$", str(entry.get("source") or "").strip()):
        return "no source URL"
    client = str(entry.get("client") or "").strip()
    if client not in CLIENTS and not re.fullmatch(r"other:\S+", client):
        return "unknown client"
    evidence = str(entry.get("evidence") or "").strip().lower()
    if not evidence.startswith(EVIDENCE):
        return "unsettled evidence"
    if not isinstance(entry.get("vague"), bool):
        return "vague not a boolean"
    return None


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data or len(data) > 100:
        if not re.search(r"[ \t]$|[ \t]\n|[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ufeff]", data):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def write(path: Path, entries: list[dict[str, Any]], staging: Path) -> None:
    header = (
        f"# Field corpus: real error texts with their established cause (see README.md here).\n"
        f"# Generated by import_staging.py from {staging.name}; re-run it rather than editing by hand.\n"
    )
    body = yaml.dump(entries, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    path.write_text(header + body, encoding="utf-8")


def main(argv: list[str]) -> int:
    staging = Path(argv[0]) if argv else DEFAULT_STAGING
    stats = convert(staging)
    for key, count in sorted(stats.items()):
        print(f"{count:5d}  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
