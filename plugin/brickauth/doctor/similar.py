"""Wording similarity: which causes' documented texts an unrecognised error text reads most like.

When no matcher fires anywhere in a text, its words still say something: "Socket is closed" reads like
the connection-reset examples, "User is not an owner of ..." like the table-owner ones. This ranks
causes by the TF-IDF cosine between the text and each cause's own words in ``causes.yaml`` (its
``examples``, ``title`` and ``tell``), best match per cause. Features: words (camelCase and snake_case
split, ids and long numbers dropped, HTTP 4xx/5xx kept, a light suffix stem), word pairs, and
4-character pieces of longer words (so *authenticate* meets *authentication*).

Used only for texts nothing else recognises, as candidates (``fallback``), never as a diagnosis. The
index is built once per process, on first use (a few milliseconds).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

MIN_SIMILARITY = 0.2  # below this a cause shares too little wording to be named

_STOP = frozenset(
    "the a an of to in is for on and or be was not this that with by at as it from are your you has have "
    "error errors exception".split()
)  # fmt: skip
# A dotted module path (databricks.sql.exc.RequestError) says which client printed the text, not why:
# only its last part is read.
_MODULE_PATH_RE = re.compile(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.){2,}(?=[A-Za-z_])")
_ID_RE = re.compile(r"(?:[0-9a-f]{8,}|[0-9a-f-]{20,}|\d+|[0-9a-z]{20,})")
_SUFFIXES = ("ations", "ation", "ing", "ed", "es", "s")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", _MODULE_PATH_RE.sub("", text))
    words: list[str] = []
    for word in re.split(r"[^A-Za-z0-9]+", text.lower()):
        if len(word) < 2:
            continue
        if re.fullmatch(r"[45]\d\d", word):
            words.append(word)  # an HTTP status says something
        elif not _ID_RE.fullmatch(word) and not (len(word) > 6 and any(c.isdigit() for c in word)):
            words.append(_stem(word))
    return words


def features(text: str) -> Counter[str]:
    words = _words(text)
    content = [w for w in words if w not in _STOP]
    found = Counter(content)
    found.update(f"{a}_{b}" for a, b in pairwise(words))
    for word in content:
        if len(word) >= 5:
            found.update(f"#{word[i : i + 4]}" for i in range(len(word) - 3))
    return found


class WordingIndex:
    """TF-IDF vectors of each cause's documented wording; ``rank`` scores a text against them."""

    def __init__(self, documents: Iterable[tuple[str, str]]) -> None:
        counted = [(cause_id, features(text)) for cause_id, text in documents]
        frequency: Counter[str] = Counter()
        for _, found in counted:
            frequency.update(set(found))
        total = len(counted)
        self._unseen = math.log(total + 1)
        self._idf = {term: math.log((total + 1) / (n + 0.5)) for term, n in frequency.items()}
        self._postings: dict[str, list[tuple[int, float]]] = {}
        self._causes: list[str] = []
        for number, (cause_id, found) in enumerate(counted):
            self._causes.append(cause_id)
            for term, weight in self._unit(found).items():
                self._postings.setdefault(term, []).append((number, weight))

    def _unit(self, found: Counter[str]) -> dict[str, float]:
        vector = {t: (1 + math.log(n)) * self._idf.get(t, self._unseen) for t, n in found.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {t: v / norm for t, v in vector.items()}

    def rank(self, text: str) -> list[tuple[str, float]]:
        """(cause id, cosine) for every cause sharing wording with ``text``, best first."""
        scores: dict[int, float] = {}
        for term, weight in self._unit(features(text)).items():
            for number, other in self._postings.get(term, ()):
                scores[number] = scores.get(number, 0.0) + weight * other
        best: dict[str, float] = {}
        for number, value in scores.items():
            cause_id = self._causes[number]
            best[cause_id] = max(best.get(cause_id, 0.0), value)
        return sorted(best.items(), key=lambda item: -item[1])
