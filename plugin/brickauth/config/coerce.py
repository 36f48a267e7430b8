"""Typed values from raw setting values (text from the environment or a file, or Python objects), each
checked with a one-line ``ConfigurationError`` that names the setting's source."""

from __future__ import annotations

import re
from typing import Any

from brickauth.config.fields import SECRET_FIELDS
from brickauth.errors import ConfigurationError
from brickauth.hosts import normalize_authority_host
from brickauth.secret import Secret

PLACEHOLDER = re.compile(r"^(\$\{.*\}|\$\(.*\)|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|<[^<>]+>|%[A-Z_][A-Z0-9_]*%)$")


def maybe_str(value: Any) -> str | None:
    if isinstance(value, Secret):
        return value.reveal()
    return value if isinstance(value, str) else None


def source_label(name: str, source: str) -> str:
    if source.startswith("env:"):
        return source[4:]
    if source.startswith("profile:"):  # the key as written in the file (azure_client_id, not client_id)
        where, _, key = source[8:].rpartition(":")
        return f"{key or name} in {where}"
    return name


def text_value(name: str, value: Any, source: str) -> str:
    """A string setting, checked for blanks, quotes and unexpanded placeholders."""
    if isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ConfigurationError(
            f"{source_label(name, source)} must be text, not {type(value).__name__}.",
            fix=f"Pass {name} as a string.",
            code="BA104",
        )
    text = str(value).strip()
    shown = "the value" if name in SECRET_FIELDS else f"'{text}'"
    if not text:
        raise ConfigurationError(
            f"{source_label(name, source)} is set but blank.",
            fix=f"Set {source_label(name, source)} to a value, or unset it.",
            code="BA101",
        )
    if text[0] in "\"'" or text[-1] in "\"'":
        raise ConfigurationError(
            f"{source_label(name, source)} has quote characters around it.",
            fix=f"Remove the quotes from {source_label(name, source)} (in .env files and profiles, write "
            "KEY=value without quotes).",
            code="BA102",
        )
    if PLACEHOLDER.match(text):
        where = "" if name in SECRET_FIELDS else f" {shown}"
        raise ConfigurationError(
            f"{source_label(name, source)} holds an unexpanded placeholder{where}.",
            fix=f"Replace the placeholder in {source_label(name, source)} with the real value "
            "(is the variable exported / the template rendered?).",
            code="BA103",
        )
    return text


def bool_value(name: str, value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = text_value(name, value, source).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(
        f"{source_label(name, source)} must be true or false, not '{text}'.",
        fix=f"Set {source_label(name, source)} to true or false.",
        code="BA162",
    )


def typed_value(name: str, value: Any, source: str) -> Any:
    """One setting's value, typed and checked."""
    if name in ("profile", "config_file"):
        return value
    if name in SECRET_FIELDS:
        return Secret(text_value(name, value, source))
    if name in ("allow_plaintext_store", "interactive", "no_browser", "use_msi", "token_cache"):
        return bool_value(name, value, source)
    if name in ("timeout", "login_timeout"):
        return _positive_float(name, value, source)
    if name == "browser":
        return _command(name, value, source)
    if name == "redirect_port":
        return _port(name, value, source)
    if name == "scopes":
        return _scopes(name, value, source)
    if name == "token_store":
        store = text_value(name, value, source).lower()
        if store not in ("auto", "keyring", "file", "memory"):
            raise ConfigurationError(
                f"{source_label(name, source)} must be auto, keyring, file or memory, not '{store}'.",
                fix=f"Set {source_label(name, source)} to one of auto, keyring, file, memory.",
                code="BA163",
            )
        return store
    if name == "authority_host":
        return normalize_authority_host(text_value(name, value, source))
    return text_value(name, value, source)


def _positive_float(name: str, value: Any, source: str) -> float:
    try:
        number = float(value if isinstance(value, (int, float)) and not isinstance(value, bool) else
                       text_value(name, value, source))  # fmt: skip
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ConfigurationError(
            f"{source_label(name, source)} must be a positive number of seconds, not '{value}'.",
            fix=f"Set {source_label(name, source)} to e.g. 30.",
            code="BA160",
        )
    return number


def _command(name: str, value: Any, source: str) -> str:
    """A command line (quotes allowed, unlike ``text_value``) that splits into words."""
    from brickauth.browser import split_command

    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{source_label(name, source)} must be a command line, e.g. 'firefox %s'.",
            fix=f"Set {source_label(name, source)} to the command that opens a URL, or unset it.",
            code="BA164",
        )
    try:
        split_command(value)
    except ValueError:
        raise ConfigurationError(
            f"{source_label(name, source)} cannot be split into a command (unbalanced quotes).",
            fix=f"Quote the program path in {source_label(name, source)} as in a shell, e.g. "
            "'\"/path with spaces/browser\" %s'.",
            code="BA164",
        ) from None
    return value.strip()


def _port(name: str, value: Any, source: str) -> int:
    text = (
        str(value).strip()
        if isinstance(value, int) and not isinstance(value, bool)
        else text_value(name, value, source)
    )
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ConfigurationError(
            f"{source_label(name, source)} must be a port number from 0 to 65535, not '{text}'.",
            fix=f"Set {source_label(name, source)} to a free port such as 8020 (0 picks any free port).",
            code="BA161",
        )
    return int(text)


def _scopes(name: str, value: Any, source: str) -> tuple[str, ...]:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [text_value(name, v, source) for v in value]
    else:
        items = re.split(r"[\s,]+", text_value(name, value, source))
    return tuple(s for s in items if s)
