"""Mask secrets in text before doctor prints it: pasted errors, log files, probe responses.

Masks what looks like a credential (JWTs, bearer tokens, Databricks PATs/OAuth secrets/refresh tokens,
Entra client secret values, ``key=value`` pairs of secret-named keys, URL passwords) and any literal
value the caller knows to be secret (the configured client secret, a fetched token).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

MASK = "***"

_SECRET_KEYS = (
    r"client_secret|clientsecret|client-secret|secret|password|passwd|pwd|access_token|refresh_token|"
    r"id_token|token|code_verifier|client_assertion|assertion|api_key|apikey|authorization|"
    r"(?:AZURE|ARM|DATABRICKS)_CLIENT_SECRET|DATABRICKS_TOKEN|BRICKAUTH_SANDBOX_PASSWORD"
)

# After a token-named key, a few ordinary words are prose, not a credential ("token: Error:",
# "id-token: write", "token: cannot ..."). Only these words, never after a password- or secret-named
# key, and never quoted: a plain-word password is still masked.
_PROSE = frozenset(
    "error errors failed failure cannot could invalid expired missing empty none null undefined true false "
    "write read open token tokens request required denied permission permissions yield await "
    "most no not unable the".split()
)
_PROSE_VALUE = re.compile(r"([A-Za-z]+)[:.;,`)]*")


# A Go-style error chain names its layers ("token: oauth2: cannot fetch token: Response: ..."): a short
# identifier followed by a colon, after a token-named key, is the next layer's name, not a value.
_CHAIN_LINK = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,15}:")


def _is_plain_word(match: re.Match[str]) -> bool:
    if match.group("quote") or re.search(r"(?i)pass|secret|pwd", match.group("key")):
        return False
    value = match.group("value")
    word = _PROSE_VALUE.fullmatch(value)
    return (word is not None and word.group(1).lower() in _PROSE) or _CHAIN_LINK.fullmatch(value) is not None


_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # A JWT: three base64url parts, the first one a JSON header ("eyJ").
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "eyJ" + MASK),
    # HTTP authorization header values.
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    # Databricks personal access tokens, OAuth secrets and refresh tokens.
    (re.compile(r"\bdapi[0-9a-f]{20,}(?:-\d+)?"), "dapi" + MASK),
    (re.compile(r"\bdose[0-9A-Za-z]{8,}"), "dose" + MASK),
    (re.compile(r"\bdoau[0-9A-Za-z]{8,}"), "doau" + MASK),
    # Entra ID client secret values: "xxx8Q~..." (40 characters, a tilde after a digit and Q).
    (re.compile(r"(?<![A-Za-z0-9_.~-])[A-Za-z0-9_.-]{3}\d[A-Za-z]~[A-Za-z0-9_.~-]{20,}"), MASK),
    # key=value / "key": "value" / key: value for secret-named keys (JSON, dict reprs, env, YAML, URLs).
    (
        re.compile(
            r"""(?ix)
            (?P<key>["']?\b(?:"""
            + _SECRET_KEYS
            + r""")\b["']?\s*[:=]\s*)
            (?P<quote>["']?)
            (?P<value>(?!\*\*\*)[^"'\s,&}\]]{4,})
            """
        ),
        lambda m: m.group(0) if _is_plain_word(m) else m.group("key") + m.group("quote") + MASK,
    ),
    # user:password@host in URLs.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"), r"\1:" + MASK + "@"),
)


class Redactor:
    """Masks secrets in text; ``known`` values (configured secrets, fetched tokens) are masked verbatim."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known = sorted({k for k in known if k and len(k) >= 4}, key=len, reverse=True)

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4 and value not in self._known:
            self._known.append(value)
            self._known.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._known:
            text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def redact(text: str, known: Iterable[str] = ()) -> str:
    return Redactor(known)(text)
