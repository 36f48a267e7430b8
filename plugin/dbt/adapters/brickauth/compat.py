"""The one interception of dbt-databricks internals, guarded by version and by shape.

dbt-databricks builds its ``DatabricksCredentialManager`` through the classmethod ``create_from`` on
every path that authenticates:

- ``DatabricksCredentials.__post_init__`` (profile parsing; 1.10/1.11 sign in right there),
- the REST client: ``DatabricksApiClient.create`` (1.10) asks ``credentials.authenticate()``, which is
  the manager made in ``__post_init__``; ``DatabricksApiClient.__init__`` (1.11, 1.12) calls
  ``DatabricksCredentialManager.create_from(credentials)`` again.

We wrap ``create_from`` so that, for brickauth credentials only, it returns our manager (the brickauth
provider). Every other credentials object goes to the original. On a dbt-databricks line we have not
tested, or when the code no longer has the shape above, we refuse to load instead of letting
dbt-databricks fall back to its own (browser) login.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import CodeType
from typing import Any

from dbt_common.exceptions import DbtRuntimeError

from brickauth.errors import ConfigurationError

SUPPORTED_LINES: tuple[tuple[int, int], ...] = ((1, 10), (1, 11), (1, 12))
_MARK = "__brickauth_wrapped__"
_lock = threading.Lock()


class UnsupportedDatabricksAdapter(DbtRuntimeError):
    """dbt shows this through its own error display (profile loading catches DbtRuntimeError)."""

    def __str__(self, *_: Any) -> str:
        return str(self.msg)


def databricks_version() -> str:
    from dbt.adapters.databricks.__version__ import version

    return str(version)


def parse_line(version: str) -> tuple[int, int]:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)


def check_supported(version: str) -> None:
    if parse_line(version) not in SUPPORTED_LINES:
        lines = ", ".join(f"{a}.{b}.x" for a, b in SUPPORTED_LINES)
        raise UnsupportedDatabricksAdapter(
            str(
                ConfigurationError(
                    f"type: brickauth cannot run on dbt-databricks {version}: brickauth supports {lines}, "
                    "and will not let an untested adapter fall back to its own login.",
                    fix='install a supported line, e.g. pip install "dbt-databricks>=1.10,<1.13", '
                    "or upgrade brickauth.",
                    code="BA171",
                )
            )
        )


def _names(func: Any) -> set[str]:
    code: CodeType | None = getattr(func, "__code__", None)
    return set(code.co_names) if code is not None else set()


def _shape_problems(line: tuple[int, int]) -> list[str]:
    """What the interception relies on, checked on the installed code (no source needed)."""
    from dbt.adapters.databricks import api_client, credentials

    problems = []
    manager_cls = credentials.DatabricksCredentialManager
    if not isinstance(manager_cls.__dict__.get("create_from"), classmethod):
        problems.append("DatabricksCredentialManager.create_from is not a classmethod")
    if "create_from" not in _names(credentials.DatabricksCredentials.__post_init__):
        problems.append("DatabricksCredentials.__post_init__ no longer calls create_from")
    client = api_client.DatabricksApiClient
    if line == (1, 10):
        create = client.__dict__.get("create")
        if not {"authenticate", "credentials_provider"} <= _names(getattr(create, "__func__", create)):
            problems.append("DatabricksApiClient.create no longer uses credentials.authenticate()")
    elif "create_from" not in _names(client.__init__):
        problems.append("DatabricksApiClient.__init__ no longer calls create_from")
    return problems


def install(make_manager: Callable[[Any], Any], is_ours: Callable[[Any], bool]) -> None:
    """Wrap ``DatabricksCredentialManager.create_from`` once; idempotent."""
    version = databricks_version()
    check_supported(version)
    from dbt.adapters.databricks.credentials import DatabricksCredentialManager

    with _lock:
        current = DatabricksCredentialManager.__dict__["create_from"]
        if getattr(current.__func__, _MARK, False):
            return
        problems = _shape_problems(parse_line(version))
        if problems:
            raise UnsupportedDatabricksAdapter(
                str(
                    ConfigurationError(
                        f"type: brickauth cannot hook dbt-databricks {version}: {'; '.join(problems)}.",
                        fix="install a dbt-databricks release brickauth was tested with "
                        "(see docs/dbt.md), or upgrade brickauth.",
                        code="BA172",
                    )
                )
            )
        original = current.__func__

        def create_from(cls: type, credentials: Any) -> Any:
            if is_ours(credentials):
                return make_manager(credentials)
            return original(cls, credentials)

        setattr(create_from, _MARK, True)
        create_from.__wrapped__ = original  # type: ignore[attr-defined]
        DatabricksCredentialManager.create_from = classmethod(create_from)  # type: ignore[assignment,method-assign]


def install_reauth(is_ours: Callable[[Any], bool]) -> None:
    """A connection refused with 401 for a token we believed valid (revoked, sessions reset): forget
    the token (``provider.invalidate()``, the token store too) and open the connection once more with
    a new one. Only for brickauth credentials; idempotent (issue 10)."""
    from dbt.adapters.databricks.connections import DatabricksConnectionManager

    from brickauth.provider import is_unauthorized

    with _lock:
        current = DatabricksConnectionManager.__dict__["open"]
        if getattr(current.__func__, _MARK, False):
            return
        original = current.__func__

        def open(cls: type, connection: Any) -> Any:
            try:
                return original(cls, connection)
            except Exception as exc:
                credentials = getattr(connection, "credentials", None)
                manager = getattr(credentials, "_credentials_manager", None)
                if not is_ours(credentials) or manager is None or not is_unauthorized(exc):
                    raise
                _dbt_debug("the workspace refused the token (HTTP 401); opening the connection again "
                           "with a new token")
                manager.provider.invalidate()
                return original(cls, connection)

        setattr(open, _MARK, True)
        open.__wrapped__ = original  # type: ignore[attr-defined]
        DatabricksConnectionManager.open = classmethod(open)  # type: ignore[assignment,method-assign]


def _dbt_debug(message: str) -> None:
    from dbt.adapters.events.logging import AdapterLogger

    AdapterLogger("brickauth").debug(message)
