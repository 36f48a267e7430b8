"""Reading a pasted error text: blocks (log records, paragraphs, tracebacks), AADSTS and brickauth
codes, ANSI escapes, and the clues (client, host shape, port, environment variables, HTTP status,
content type) that rank candidate causes. The knowledge base (``knowledge``) builds on these."""

from __future__ import annotations

import re
from dataclasses import dataclass

_AADSTS_RE = re.compile(r"AADSTS(\d{5,8})")
_ERROR_CODES_RE = re.compile(r"""["']error_codes["']\s*:\s*\[([\d,\s]+)\]""")
_BA_CODE_RE = re.compile(r"(?<![A-Za-z0-9])BA(\d{3})(?![0-9])")
_LONE_CODE_RE = re.compile(r"^\s*\[?\s*(?:ba|BA|Ba)(\d{3})\s*\]?\s*$")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# A new block starts at a blank line or at a line that starts a log record.
_RECORD_START_RE = re.compile(
    r"^(\d{2}:\d{2}:\d{2}(\.\d+)?\s|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\[\d{4}-\d{2}-\d{2}|\{\"(info|data)\"|"
    r"(DEBUG|INFO|WARNING|ERROR|CRITICAL)[: ])"
)

# Clues: facts about the text as a whole that make one cause more or less likely than another.
# Causes weigh them with `clues: {name: weight}`; `explain` shows the clues it used.
CLUES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.MULTILINE)
    for name, pattern in {
        # Which client printed the text.
        "client.sdk_py": r"databricks\.sdk\b|databricks/sdk/|databricks-sdk|"
        r"ValueError: (default auth: )?cannot configure default credentials",
        "client.cli": r"^(Error: |Usage:\s+databricks )|\$ databricks |databricks-cli|"
        r"databricks (auth|configure|fs|jobs|bundle|workspace) ",
        "client.terraform": r"with databricks_|[│|]\s*Error:|terraform|registry\.terraform\.io|"
        r"databricks_[a-z_]+\.[a-z_]+|^(Error: )?cannot (create|read|update|delete) [a-z_ ]{3,40}: |^│ ",
        "client.dbt": r"Encountered an error|Runtime Error|Database Error|\bdbt[=: -]|\bdbt\.|dbt_project|"
        r"profiles\.yml|\[(info|debug|error|warn) ?\]",
        "client.sql_connector": r"databricks\.sql\b|databricks-sql-connector|databricks/sql/|thrift|"
        r"Error during request to server",
        "client.jdbc_odbc": r"\[Databricks\]\[(JDBC|ODBC|DatabricksJDBCDriver)|\[Simba\]|SparkJDBCDriver|"
        r"ODBC Driver|jdbc:(databricks|spark)://",
        "client.azure": r"azure\.identity|azure\.core|@azure/identity|Azure\.Identity|[A-Za-z]+Credential\b|"
        r"MSAL|\bmsal\b|\baz login\b|\baz account\b",
        # Go SDK wording (the CLI, Terraform, dbt Fusion): `default auth: ...` without a Python exception.
        "client.go": r"\bgithub\.com/databricks/|databricks-sdk-go|\bgo\d\.\d+|"
        r"^(\S+ )?(Error: )?default auth: |request visitor: default auth|\binner token: |"
        r"oidc: parse \.well-known",
        # Wording only releases from before the unified auth printed (the databrickslabs provider 0.x).
        "client.legacy": r"providers/databrickslabs/databricks|"
        r"Please configure it\s+through one of the following",
        "client.ci": r"##\[error\]|^\[error\]|::error::|\bvsts\b|azure-pipelines|GITHUB_ACTIONS|"
        r"\bSYSTEM_[A-Z]+\b",
        # Host names and URLs.
        "host.accounts": r"\baccounts\.(azuredatabricks\.net|cloud\.databricks\.com|gcp\.databricks\.com|"
        r"databricks\.azure\.(cn|us))",
        "host.workspace": r"\badb-\d+\.\d+\.azuredatabricks\.(net|cn|us)|\b(?!accounts\.)[a-z0-9-]+\."
        r"(cloud|gcp)\.databricks\.com",
        # A scheme inside a field that wants a bare host name (databricks-sdk's `host=https://` is fine).
        "host.scheme_in_host": r"\b(server_hostname|serverHostname|Hostname)\s*[:=]\s*[\"']?https?://|"
        r"^\s*host:\s*[\"']?https?://|https?://https?://|https?%3A%2F%2F|Failed to resolve '?https?\b",
        "host.path": r"\b(server_hostname|Hostname|host|DATABRICKS_HOST)\s*[:=]\s*[\"']?(https?://)?[\w.-]+\."
        r"(net|com|cn|us)/[^\s\"',]+|\.(azuredatabricks\.net|databricks\.com)/\\?\?o\\?=|"
        r"\.(azuredatabricks\.net|databricks\.com)/(browse|sql/editor|login\.html|#|onboarding|explore)",
        "host.port": r"\b(?:[a-z0-9-]+\.)+[a-z]{2,}:(?!443\b)\d{2,5}\b|\bport=(?!443\b)\d{2,5}\b|"
        r"\blocalhost:\d{2,5}\b|127\.0\.0\.1:\d{2,5}",
        "host.sovereign": r"\.(azuredatabricks\.cn|databricks\.azure\.cn|databricks\.azure\.us|"
        r"chinacloudapi\.cn|usgovcloudapi\.net)\b|login\.(chinacloudapi\.cn|microsoftonline\.us)",
        # Environment variables.
        "env.token": r"\bDATABRICKS_TOKEN\b|\btoken=\*+|\bpat\b",
        "env.proxy": r"\b(HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)\b|\bproxy\b|\bProxy\b",
        "env.azure": r"\b(AZURE|ARM)_(CLIENT_ID|TENANT_ID|CLIENT_SECRET|USE_MSI|USE_CLI)\b",
        "env.databricks_oauth": r"\bDATABRICKS_CLIENT_(ID|SECRET)\b",
        "env.auth_type": r"\b(DATABRICKS_AUTH_TYPE|auth_type)\b",
        "env.config_profile": r"\bDATABRICKS_CONFIG_PROFILE\b|\.databrickscfg|\bprofile[= ]",
        # HTTP status and content type.
        "status.400": r"\b400\b|Bad Request",
        "status.401": r"\b401\b|Unauthori[sz]ed|UNAUTHENTICATED|Unauthenticated",
        "status.403": r"\b403\b|Forbidden|PERMISSION_DENIED|PermissionDenied",
        "status.404": r"\b404\b|Not Found\b|NOT_FOUND|ENDPOINT_NOT_FOUND",
        "status.407": r"\b407\b|Proxy Authentication Required",
        "status.429": r"\b429\b|\bToo Many Requests\b|\brate.?limit|\bthrottl",
        "status.5xx": r"\b50[0234]\b|Bad Gateway|Service Unavailable|Gateway Time-?out",
        # An HTML body, or a JSON parser that met one: Go's "invalid character '<'", JavaScript's
        # "Unexpected token '<'".
        "content.html": r"<html|<!DOCTYPE|text/html|<title>|<body|"
        r"invalid character '<' looking for beginning|Unexpected token '?<'?",
        "content.json": r"application/json|\"error_code\"\s*:|\"error\"\s*:\s*\"",
    }.items()
}

# Lines that look like an error even when no cause matched them.
ERRORISH_RE = re.compile(
    r"(Error\b(?!=)|Exception\b|Traceback \(most recent call last\)|\berror_description\b|\bERROR\b(?!=)|"
    r"\bfailed\b|\bdenied\b|Unauthori[sz]ed|Forbidden|HTTP ERROR \d{3}|\[Errno|AADSTS\d+)"
)
NOT_AN_ERROR_RE = re.compile(
    r"ERROR=0|\b0 errors?\b|PASS=\d+ WARN=\d+ ERROR=0|"
    # dbt's ordinary lines: logger set-up, thrift transport chatter, `dbt debug` summaries.
    r"\bSetting [\w.]+ logging to \w+|\bthrift\.transport\b|\bT(Sasl)?(Socket|HttpClient|ClientTransport)\b|"
    r"\b\d+ checks? failed\b|\bAll checks passed\b|\bConnection test: \[ERROR\]|"
    r"^\S*\s*\[?(info|debug)\s*\]?\s",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Block:
    text: str
    line: int  # 1-based number of the block's first line


_META = set(".^$*+?{}[]|()")


def _needle(pattern: str) -> str:
    """The longest literal run that every match of ``pattern`` must contain, lower-cased ('' if none).

    Only the top level counts: groups, classes, escapes other than an escaped punctuation character and
    any quantified character end a run; a top-level alternation gives no needle.
    """
    runs: list[str] = []
    run: list[str] = []
    depth, i = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            piece = nxt if (not nxt.isalnum() and nxt != "_") else None
            i += 2
        elif ch == "[":
            end = i + 1
            end += 1 if end < len(pattern) and pattern[end] == "]" else 0
            while end < len(pattern) and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            piece, i = None, end + 1
        elif ch == "{":
            close = pattern.find("}", i)
            piece, i = None, (close + 1 if close != -1 else len(pattern))
        elif ch == "(":
            depth, piece, i = depth + 1, None, i + 1
        elif ch == ")":
            depth, piece, i = depth - 1, None, i + 1
        elif ch == "|":
            if depth == 0:
                return ""
            piece, i = None, i + 1
        elif ch in _META:
            piece, i = None, i + 1
        else:
            piece, i = ch, i + 1
        quantified = i < len(pattern) and pattern[i] in "?*{"
        if piece is not None and depth == 0 and not quantified:
            run.append(piece)
        else:
            if piece is not None and quantified and run:
                pass  # the quantified character itself is optional: drop it
            runs.append("".join(run))
            run = []
    runs.append("".join(run))
    best = max(runs, key=len)
    return best.lower() if len(best) >= 3 else ""


def _needle_set(pattern: str) -> tuple[str, ...]:
    """One needle per top-level alternative of ``pattern`` (empty when one of them has none)."""
    alternatives: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            end = i + 1
            end += 1 if end < len(pattern) and pattern[end] == "]" else 0
            while end < len(pattern) and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            i = end + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
        i += 1
    alternatives.append(pattern[start:])
    needles = tuple(_needle(alt) for alt in alternatives)
    return needles if all(needles) else ()


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes (dbt and the CLIs colour their logs)."""
    return _ANSI_RE.sub("", text) if "\x1b" in text else text


def clues_in(text: str) -> frozenset[str]:
    """The names of the ``CLUES`` found in ``text``."""
    lowered = text.lower()
    found = {
        name
        for name, pattern in CLUES.items()
        if (not _CLUE_NEEDLES[name] or any(n in lowered for n in _CLUE_NEEDLES[name]))
        and pattern.search(text)
    }
    if "client.terraform" in found:
        found.discard("client.cli")
    if "host.accounts" in found and not CLUES["host.workspace"].search(text):
        found.discard("host.workspace")
    return frozenset(found)


_CLUE_NEEDLES = {name: _needle_set(pattern.pattern) for name, pattern in CLUES.items()}


def _codes_in(text: str) -> frozenset[int]:
    codes = {int(c) for c in _AADSTS_RE.findall(text)}
    for group in _ERROR_CODES_RE.findall(text):
        codes.update(int(c) for c in re.findall(r"\d+", group))
    return frozenset(codes)


def error_line(block: Block) -> tuple[int, str] | None:
    """The number and text of the first line of ``block`` that reads like an error, or None."""
    for offset, line in enumerate(block.text.splitlines()):
        if ERRORISH_RE.search(line) and not NOT_AN_ERROR_RE.search(line):
            return block.line + offset, line.strip()
    return None


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


def excerpt(
    text: str, codes: tuple[str, ...], literals: tuple[str, ...], patterns: tuple[re.Pattern[str], ...]
) -> str:
    """The line of ``text`` that shows why a cause matched: its first code, literal or pattern hit."""
    for needle in (*codes, *literals):
        if needle in text:
            return _line_around(text, max(text.find(needle), 0))
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return _line_around(text, found.start())
    return _line_around(text, 0)


def _line_around(text: str, pos: int, width: int = 300) -> str:
    begin = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[begin : end if end != -1 else len(text)].strip()
    if len(line) > width:
        offset = max(pos - begin - width // 3, 0)
        line = ("..." if offset else "") + line[offset : offset + width] + "..."
    return line
