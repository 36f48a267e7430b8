"""Write a named profile into ``~/.databrickscfg`` after ``brickauth login``, as ``databricks auth login``
does, so that later commands (``brickauth token --profile NAME``, doctor, dbt's ``profile:`` key) need
no repeated flags. Never a secret: host, auth type, sign-in app, tenant, authority host.

Edits are line-based: other profiles, comments and key order stay as they are; the file is replaced
atomically and created 0600.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_KEY = re.compile(r"^\s*([^=:#;\s][^=:]*?)\s*[=:]")

# How each U2M flow is written as ``auth_type`` (databricks-cli is what the Databricks CLI writes and
# brickauth reads as databricks-u2m; the Databricks CLI does not know azure-u2m).
PROFILE_AUTH_TYPE = {"databricks-u2m": "databricks-cli", "azure-u2m": "azure-u2m"}


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    """Section -> keys (lower-cased names, stripped values); {} when the file does not exist."""
    profiles: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    for line in lines:
        section = _SECTION.match(line)
        if section:
            current = profiles.setdefault(section.group(1).strip(), {})
            continue
        key = _KEY.match(line)
        if key and current is not None:
            current[key.group(1).strip().lower()] = re.split(r"[=:]", line, maxsplit=1)[1].strip()
    return profiles


def default_profile_name(
    hostname: str, flow: str, existing: Mapping[str, Mapping[str, str]], host_url: str
) -> str:
    """The host's first label (``adb-1234567890123456``), as the Databricks CLI names it; an IP address
    is kept whole. A profile of that name for another host or auth type is left alone: then
    ``<name>-<flow>``."""
    try:
        ipaddress.ip_address(hostname)
        name = hostname.replace(".", "-")
    except ValueError:
        name = hostname.split(".", 1)[0]
    current = existing.get(name)
    if current is None or _same_sign_in(current, flow, host_url):
        return name
    return f"{name}-{flow}"


def _same_sign_in(profile: Mapping[str, str], flow: str, host_url: str) -> bool:
    return (profile.get("host", "").rstrip("/") == host_url.rstrip("/")
            and profile.get("auth_type") == PROFILE_AUTH_TYPE[flow]
            and not profile.get("client_secret"))  # fmt: skip


def save_profile(path: Path, name: str, values: Mapping[str, str]) -> None:
    """Set ``values`` in section ``[name]`` (created when missing); everything else stays."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    headers = [i for i, line in enumerate(lines)
               if (m := _SECTION.match(line)) and m.group(1).strip() == name]
    start = headers[0] if headers else None
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
    else:
        end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])), len(lines))
        pending = dict(values)
        for i in range(start + 1, end):
            key = _KEY.match(lines[i])
            if key and key.group(1).strip().lower() in pending:
                name_ = key.group(1).strip().lower()
                lines[i] = f"{name_} = {pending.pop(name_)}"
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # new keys go before the blank lines that separate sections
        lines[end:end] = [f"{key} = {value}" for key, value in pending.items()]
    _write(path, "\n".join(lines) + "\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
