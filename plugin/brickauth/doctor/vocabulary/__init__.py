"""The clients' own error vocabulary: the messages their code builds, each mapped to the cause it names.

Users paste what *their* tool printed, and every such text comes from a message its code builds: the
Databricks CLI and SDKs, the SQL connectors and drivers, dbt-databricks, azure-identity, msal, azure-cli,
keyring. The YAML files of this package list those messages, read from each client's source (the file
names the repository, the commit and the path of every message; ``commit: mixed`` where a monorepo too
large to copy whole was read file by file, at versions of different ages), so a wording we never saw in
a bug report is still known when the client can print it. A service whose code is not public (the
Databricks workspace's own errors) is read from its vendor documentation instead (``docs:`` a URL, and
``at`` the entry on that page). Only sources and docs are read, never a corpus text.

A message is a template: its literal text with ``{}`` where the client inserts a value (a host, an
error, a path). It becomes a pattern of its cause (``knowledge.load``): literal words in order, any
whitespace or line wrap between them, up to ``GAP`` characters for each ``{}``. A template needs
``MIN_WORDS`` literal words, so a bare wrapper ("{}: {}", "failed to {}") never names a cause, and one
paragraph: a text is matched block by block (``text_clues.split_blocks``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

MIN_WORDS = 4  # literal words a template needs to name a cause
GAP = 300  # most characters a client inserts for one ``{}``
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]+")


class VocabularyError(ValueError):
    """A vocabulary file is malformed (a bug in brickauth, caught by the test suite)."""


@dataclass(frozen=True)
class Message:
    """One message a client builds: its template, the cause it names, and where the client builds it."""

    client: str
    repo: str  # owner/name of the client's source, or the URL of the vendor page that documents it
    cause: str
    text: str
    at: str
    commit: str = "mixed"

    @property
    def pattern(self) -> str:
        return template_regex(self.text)


def literal_words(template: str) -> list[str]:
    return [w for part in template.split("{}") for w in _WORD_RE.findall(part)]


def template_regex(template: str) -> str:
    """The regex of a template: its literal parts escaped, whitespace flexible, ``{}`` a bounded gap."""
    parts = []
    for literal in template.split("{}"):
        words = literal.split()
        escaped = r"\s+".join(re.escape(w) for w in words)
        if literal[:1].isspace() and escaped:
            escaped = r"\s*" + escaped
        if literal[-1:].isspace() and escaped:
            escaped += r"\s*"
        parts.append(escaped)
    regex = f".{{0,{GAP}}}?".join(parts)
    # A template that starts or ends with a value: the gap there is the rest of the line, not needed.
    return regex.removeprefix(f".{{0,{GAP}}}?").removesuffix(f".{{0,{GAP}}}?")


def _messages_of(data: Any, where: str) -> list[Message]:
    if not isinstance(data, list):
        raise VocabularyError(f"{where}: must be a list of clients")
    found: list[Message] = []
    for block in data:
        if not isinstance(block, dict) or not isinstance(block.get("client"), str):
            raise VocabularyError(f"{where}: each client needs 'client' and 'repo' (or 'docs')")
        if not isinstance(block.get("repo", block.get("docs")), str):
            raise VocabularyError(f"{where}: each client needs 'client' and 'repo' (or 'docs')")
        for item in block.get("messages") or []:
            text, cause, at = item.get("text"), item.get("cause"), item.get("at")
            if not all(isinstance(v, str) and v.strip() for v in (text, cause, at)):
                raise VocabularyError(f"{where}: {block['client']}: each message needs text, cause and at")
            if re.search(r"\n\s*\n", text.strip()):
                raise VocabularyError(f"{where}: {block['client']}: {text[:40]!r}... spans paragraphs; "
                                      "a message is matched within one block: keep its first")  # fmt: skip
            if len(literal_words(text)) < MIN_WORDS:
                raise VocabularyError(f"{where}: {block['client']}: {text!r} has fewer than {MIN_WORDS} "
                                      "literal words; it cannot name a cause")  # fmt: skip
            commit = str(block.get("commit") or "mixed")
            origin = block.get("repo") or block["docs"]
            found.append(Message(block["client"], origin, cause, text, at, commit))
    return found


def parse(text: str, where: str = "vocabulary") -> tuple[Message, ...]:
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(_messages_of(yaml.load(text, Loader=loader), where))  # noqa: S506 (safe loader)


@lru_cache(maxsize=1)
def messages() -> tuple[Message, ...]:
    """Every message of every vocabulary file shipped with brickauth, file by file."""
    found: list[Message] = []
    folder = resources.files(__name__)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            found.extend(parse(entry.read_text(encoding="utf-8"), entry.name))
    return tuple(found)
