"""Errors with stable codes.

Every error brickauth raises for a user-facing problem is a ``BrickauthError``: one short line that
says what failed, why, and the exact fix, plus a stable ``code`` (``BA1xx`` configuration, ``BA2xx``
identity provider, ``BA3xx`` workspace, ``BA4xx`` token store, ``BA5xx`` network, ``BA6xx`` login).
Messages never contain a secret: callers pass only names, ids and public facts.
"""

from __future__ import annotations


class BrickauthError(Exception):
    """Base class. ``str(err)`` is ``"[CODE] what failed: why. Fix: how."``."""

    code: str = "BA000"

    def __init__(self, message: str, *, fix: str | None = None, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:  # survive pickling across processes
        return (_rebuild, (type(self), self.message, self.fix, self.code))


def _rebuild(cls: type[BrickauthError], message: str, fix: str | None, code: str) -> BrickauthError:
    return cls(message, fix=fix, code=code)


class ConfigurationError(BrickauthError, ValueError):
    """A setting is missing, malformed or contradicts another (never retried)."""

    code = "BA100"


class IdentityProviderError(BrickauthError):
    """The identity provider (Entra ID or Databricks OIDC) refused a token request."""

    code = "BA200"

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        code: str | None = None,
        idp_error: str | None = None,
        idp_error_codes: tuple[int, ...] = (),
        transient: bool = False,
    ) -> None:
        self.idp_error = idp_error
        self.idp_error_codes = idp_error_codes
        self.transient = transient
        super().__init__(message, fix=fix, code=code)


class InvalidClientError(IdentityProviderError):
    """Client authentication failed (wrong secret, unknown client, bad assertion): permanent."""

    code = "BA201"


class InvalidGrantError(IdentityProviderError):
    """A refresh token or code is expired, revoked or already used: sign in again."""

    code = "BA202"


class WorkspaceError(BrickauthError):
    """The Databricks workspace refused an authenticated request."""

    code = "BA300"


class TokenStoreError(BrickauthError):
    """The token store (keyring or file) could not be read or written."""

    code = "BA400"


class NetworkError(BrickauthError, ConnectionError):
    """A network call failed or timed out after its retries."""

    code = "BA500"


class LoginRequiredError(BrickauthError):
    """An interactive sign-in is needed but this run cannot ask a person."""

    code = "BA600"


class LoginError(BrickauthError):
    """An interactive sign-in failed or was abandoned."""

    code = "BA601"
