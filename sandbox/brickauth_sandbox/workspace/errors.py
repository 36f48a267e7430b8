"""How the workspace says no: REST JSON, OAuth JSON and Thrift-path headers, as Databricks sends them.

Texts marked "seen" are copied from real responses (issue trackers, forum posts), with the source;
"unconfirmed" texts follow the same shapes but no real wording was found, so the doctor matches them
on their stable parts (status, error_code), never on the sentence. One ``Refusal`` renders on both
paths: REST gets ``{"error_code", "message"}`` (front door refusals carry a numeric ``error_code`` and
``X-Databricks-Reason-Phrase``, service refusals a string code), the Thrift path gets headers the SQL
connector turns into ``Error during request to server: : <reason>``.
"""

from __future__ import annotations

import html
import json
from typing import Any, Literal

from werkzeug.wrappers import Response

from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID

ThriftHeader = Literal["reason", "thrift"]


class Refusal(Exception):
    """A request the workspace refuses. ``code`` is the stable name logged as ``error_code``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        error_code: str | int | None = None,
        html_body: bool = False,
        thrift_header: ThriftHeader = "reason",
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.error_code: str | int = status if error_code is None else error_code
        self.html_body = html_body
        self.thrift_header = thrift_header
        self.retry_after = retry_after

    def rest_response(self) -> Response:
        headers: list[tuple[str, str]] = []
        if isinstance(self.error_code, int):  # front-door refusals carry the reason phrase too
            headers.append(("X-Databricks-Reason-Phrase", self.message))
        if self.retry_after is not None:
            headers.append(("Retry-After", str(self.retry_after)))
        if self.html_body:
            return Response(
                _jetty_page(self.status, self.message),
                self.status,
                headers,
                content_type="text/html;charset=utf-8",
            )
        body = json.dumps({"error_code": self.error_code, "message": self.message})
        return Response(body, self.status, headers, content_type="application/json; charset=utf-8")

    def thrift_response(self) -> Response:
        name = (
            "x-thriftserver-error-message" if self.thrift_header == "thrift" else "x-databricks-reason-phrase"
        )
        headers = [(name, self.message)]
        if self.retry_after is not None:
            headers.append(("Retry-After", str(self.retry_after)))
        return Response(b"", self.status, headers, content_type="text/plain")


def _jetty_page(status: int, message: str) -> str:
    m = html.escape(message)
    return (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
        f"<title>Error {status} {m}</title>\n</head>\n<body><h2>HTTP ERROR {status}</h2>\n"
        f"<p>Problem accessing the API. Reason:\n<pre>    {m}</pre></p>\n</body>\n</html>\n"
    )


# --- front door: authentication, network policy ---------------------------------------------------


def no_credentials() -> Refusal:
    return Refusal(
        401, "Credential was not sent or was of an unsupported type for this API.", code="NO_CREDENTIALS"
    )


def invalid_token() -> Refusal:  # seen (REST 403 + reason phrase)
    return Refusal(403, "Invalid access token.", code="INVALID_TOKEN")


def token_expired() -> Refusal:  # seen (REST 403 + reason phrase)
    return Refusal(403, "JWT has expired", code="TOKEN_EXPIRED")


def token_rejected() -> Refusal:  # emulated: an unexpired token the workspace no longer accepts
    return Refusal(401, "Invalid access token.", code="INVALID_TOKEN")


def token_expiring(margin: float) -> Refusal:  # seen with a 30 s margin
    return Refusal(
        403, f"Token is expiring within {margin:.0f} seconds. (token expired)", code="TOKEN_EXPIRED"
    )


def wrong_audience(aud: object) -> Refusal:  # seen (Azure gateway, HTML body)
    return Refusal(
        400,
        f"io.jsonwebtoken.IncorrectClaimException: Expected aud claim to be: {AZURE_DATABRICKS_RESOURCE_ID}, "
        f"but was: {aud}.",
        code="WRONG_AUDIENCE",
        html_body=True,
    )


# seen: https://github.com/databricks/databricks-sdk-py/pull/638 and
# https://github.com/databricks/terraform-provider-databricks/issues/4262 (the same Jetty 400 page as the
# audience check; the expected issuer is always the v1 ``sts.windows.net`` form).
def wrong_tenant(expected_iss: str, iss: object) -> Refusal:
    return Refusal(
        400,
        f"io.jsonwebtoken.IncorrectClaimException: Expected iss claim to be: {expected_iss}, but was: {iss}.",
        code="WRONG_TENANT",
        html_body=True,
    )


def ip_blocked(ip: str, workspace_id: str) -> Refusal:  # seen
    return Refusal(
        403,
        f"Source IP address: {ip} is blocked by Databricks IP ACL for workspace: {workspace_id}",
        code="IP_BLOCKED",
    )


def not_in_workspace() -> Refusal:  # seen: the connector shows "...server: : User not authorized."
    return Refusal(403, "User not authorized", code="NOT_IN_WORKSPACE")


def inactive(principal: str) -> Refusal:  # unconfirmed: no real wording found
    return Refusal(403, f"User {principal} is not active in this workspace", code="PRINCIPAL_INACTIVE")


def invalid_scope() -> Refusal:  # seen ("Invalid scope")
    return Refusal(403, "Invalid scope", code="INVALID_SCOPE")


# --- services: permissions and resources -----------------------------------------------------------


# seen (SQL APIs, PermissionDenied): databrickslabs/ucx tests/unit/account/test_workspaces.py and several
# public repos quoting the Statement Execution API. The message does not name the principal. Workspace
# APIs say "...without the databricks-sql-access or workspace-access [or workspace-consume] entitlements".
def no_sql_entitlement(principal: str) -> Refusal:
    del principal  # not named in the real message
    return Refusal(
        403,
        "This API is disabled for users without the databricks-sql-access entitlement.",
        code="NO_SQL_ENTITLEMENT",
        error_code="PERMISSION_DENIED",
    )


def no_workspace_access(principal: str) -> Refusal:  # unconfirmed (see no_sql_entitlement)
    return Refusal(
        403,
        f"{principal} does not have the 'workspace-access' entitlement in this workspace",
        code="NO_WORKSPACE_ACCESS",
        error_code="PERMISSION_DENIED",
    )


# seen in part: https://github.com/databricks/databricks-sql-python/issues/729 ("Service Principal does
# not have permission to use warehouse", paraphrased by the user); the exact sentence with the id is
# quoted in public app tests. The principal is not named.
def no_can_use(principal: str, warehouse_id: str) -> Refusal:
    del principal
    return Refusal(
        403,
        f"PERMISSION_DENIED: User does not have permission to use warehouse {warehouse_id}.",
        code="NO_CAN_USE",
        error_code="PERMISSION_DENIED",
    )


def no_can_manage(principal: str, warehouse_id: str) -> Refusal:
    return Refusal(
        403,
        f"User {principal} does not have CAN_MANAGE permission on SQL warehouse {warehouse_id}",
        code="NO_CAN_MANAGE",
        error_code="PERMISSION_DENIED",
    )


# seen (REST): https://github.com/databrickslabs/ucx/issues/1467 "databricks.sdk.errors.platform.NotFound:
# The warehouse 1c419929a853c89b was not found." The SDK raised plain NotFound, not ResourceDoesNotExist,
# so the error_code is not RESOURCE_DOES_NOT_EXIST: NOT_FOUND is inferred. The Thrift path is unconfirmed.
def warehouse_not_found(warehouse_id: str) -> Refusal:
    return Refusal(
        404,
        f"The warehouse {warehouse_id} was not found.",
        code="WAREHOUSE_NOT_FOUND",
        error_code="NOT_FOUND",
    )


def warehouse_starting(warehouse_id: str, retry_after: int) -> Refusal:  # seen (Thrift header, 503)
    return Refusal(
        503,
        f"TEMPORARILY_UNAVAILABLE: Cluster {warehouse_id} is temporarily unavailable.",
        code="WAREHOUSE_STARTING",
        error_code="TEMPORARILY_UNAVAILABLE",
        thrift_header="thrift",
        retry_after=retry_after,
    )


# seen in part: "Command failed because warehouse <id> was stopped." (quoted from a run log in a public
# repo, followed by the stop reason; https://github.com/PostHog/posthog/pull/49614 confirms "was stopped").
# Real Databricks reports it as a failed statement; the status, error_code and header here are unconfirmed.
def warehouse_stopped(warehouse_id: str) -> Refusal:
    return Refusal(
        400,
        f"Command failed because warehouse {warehouse_id} was stopped.",
        code="WAREHOUSE_STOPPED",
        error_code="INVALID_STATE",
        thrift_header="thrift",
    )


def path_not_found(path: str) -> Refusal:
    return Refusal(
        404, f"Path ({path}) doesn't exist.", code="PATH_NOT_FOUND", error_code="RESOURCE_DOES_NOT_EXIST"
    )


def resource_exists(path: str) -> Refusal:
    return Refusal(
        400, f"Path ({path}) already exists.", code="PATH_EXISTS", error_code="RESOURCE_ALREADY_EXISTS"
    )


def bad_request(message: str) -> Refusal:
    return Refusal(400, message, code="INVALID_PARAMETER_VALUE", error_code="INVALID_PARAMETER_VALUE")


def endpoint_not_found(path: str) -> Refusal:
    return Refusal(
        404, f"No API found for '{path}'", code="ENDPOINT_NOT_FOUND", error_code="ENDPOINT_NOT_FOUND"
    )


# --- OAuth (/oidc/v1/authorize and /oidc/v1/token) --------------------------------------------------


class OAuthError(Exception):
    """An RFC 6749 error answer: ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> Response:
        # Databricks puts error_description first (seen).
        body: dict[str, Any] = {"error_description": self.description, "error": self.error}
        headers = [("Cache-Control", "no-store")]
        if self.status == 401:
            headers.append(("WWW-Authenticate", 'Basic realm="oidc"'))
        return Response(json.dumps(body), self.status, headers, content_type="application/json")


def invalid_client() -> OAuthError:  # seen ("invalid_client (Client authentication failed)")
    return OAuthError("invalid_client", "Client authentication failed", 401)


def unknown_oauth_app(client_id: str, account_id: str) -> OAuthError:  # seen
    return OAuthError(
        "invalid_request",
        f"OAuth application with client_id: '{client_id}' not available in Databricks account "
        f"'{account_id}'.",
    )


def redirect_not_registered(redirect_uri: str, app_name: str) -> OAuthError:  # seen
    return OAuthError(
        "invalid_request", f"redirect_uri '{redirect_uri}' not registered for OAuth application '{app_name}'"
    )
