"""dbt-side errors: dbt's own exception types carrying brickauth's one-line message."""

from __future__ import annotations

from typing import Any

from dbt_common.exceptions import DbtConfigError

from brickauth.errors import ConfigurationError


class BrickauthProfileError(DbtConfigError):
    """Shown by dbt as ``Credentials in profile "p", target "t" invalid: [BA18x] ... Fix: ...``."""

    def __str__(self, *_: Any) -> str:
        return str(self.msg)


def profile_error(message: str, fix: str, code: str) -> BrickauthProfileError:
    return BrickauthProfileError(str(ConfigurationError(message, fix=fix, code=code)))
