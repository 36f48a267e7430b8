"""The Databricks workspace emulator as a WSGI app: discovery, OIDC, REST and the Thrift (SQL) path.

Requests are annotated for the request log through ``environ["brickauth.log"]`` (when present) with
``principal``, ``grant_type``, ``client_id`` and ``error_code``: never a token, code or secret.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from brickauth.clock import Clock
from brickauth.entra import AZURE_DATABRICKS_RESOURCE_ID
from brickauth_sandbox.lifetimes import TokenLifetimes
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.workspace import errors
from brickauth_sandbox.workspace.auth import Authenticator, Caller, EntraTrust
from brickauth_sandbox.workspace.errors import Refusal
from brickauth_sandbox.workspace.model import Workspace
from brickauth_sandbox.workspace.oidc import OidcServer
from brickauth_sandbox.workspace.rest import Warehouses, WorkspaceFiles, require_sql, scim_me

if TYPE_CHECKING:
    from brickauth_sandbox.warehouse.engine import WarehouseEngine
    from brickauth_sandbox.workspace.sea import StatementExecution

StartResponse = Callable[..., Any]


class ThriftWarehouse(Protocol):
    def handle(self, body: bytes, *, principal: str, warehouse_id: str) -> bytes: ...


_URLS = Map(
    [
        Rule("/.well-known/databricks-config", endpoint="databricks_config", methods=["GET"]),
        Rule("/oidc/.well-known/oauth-authorization-server", endpoint="oidc_metadata", methods=["GET"]),
        Rule("/oidc/.well-known/openid-configuration", endpoint="oidc_metadata", methods=["GET"]),
        Rule("/oidc/jwks.json", endpoint="jwks", methods=["GET"]),
        Rule("/oidc/v1/keys", endpoint="jwks", methods=["GET"]),
        Rule("/oidc/v1/authorize", endpoint="authorize", methods=["GET", "POST"]),
        Rule("/oidc/v1/token", endpoint="token", methods=["POST", "GET"]),
        Rule("/oidc/v1/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/aad/auth", endpoint="aad_auth", methods=["GET"]),
        Rule("/api/2.0/preview/scim/v2/Me", endpoint="me", methods=["GET"]),
        Rule("/api/2.0/sql/warehouses", endpoint="warehouse_list", methods=["GET"]),
        Rule("/api/2.0/sql/warehouses/<warehouse_id>", endpoint="warehouse_get", methods=["GET"]),
        Rule("/api/2.0/sql/warehouses/<warehouse_id>/start", endpoint="warehouse_start", methods=["POST"]),
        Rule("/api/2.0/sql/warehouses/<warehouse_id>/stop", endpoint="warehouse_stop", methods=["POST"]),
        Rule(
            "/api/2.0/permissions/warehouses/<warehouse_id>",
            endpoint="warehouse_permissions",
            methods=["GET"],
        ),
        Rule(
            "/api/2.0/permissions/sql/warehouses/<warehouse_id>",
            endpoint="warehouse_permissions",
            methods=["GET"],
        ),
        Rule("/api/2.0/workspace/get-status", endpoint="ws_get_status", methods=["GET"]),
        Rule("/api/2.0/workspace/list", endpoint="ws_list", methods=["GET"]),
        Rule("/api/2.0/workspace/mkdirs", endpoint="ws_mkdirs", methods=["POST"]),
        Rule("/api/2.0/workspace/import", endpoint="ws_import", methods=["POST"]),
        Rule("/api/2.0/workspace/delete", endpoint="ws_delete", methods=["POST"]),
        # Statement Execution API (the SQL connector's use_sea=True path): workspace/sea.py
        Rule("/api/2.0/sql/sessions", endpoint="sea_session_create", methods=["POST"]),
        Rule("/api/2.0/sql/sessions/<session_id>", endpoint="sea_session_delete", methods=["DELETE"]),
        Rule("/api/2.0/sql/statements", endpoint="sea_execute", methods=["POST"]),
        Rule("/api/2.0/sql/statements/<statement_id>", endpoint="sea_statement", methods=["GET", "DELETE"]),
        Rule("/api/2.0/sql/statements/<statement_id>/cancel", endpoint="sea_cancel", methods=["POST"]),
        Rule(
            "/api/2.0/sql/statements/<statement_id>/result/chunks/<int:chunk_index>",
            endpoint="sea_chunk",
            methods=["GET"],
        ),
        Rule("/sandbox-results/<token>", endpoint="sea_download", methods=["GET"]),
        Rule("/sql/1.0/warehouses/<warehouse_id>", endpoint="thrift", methods=["POST"]),
        Rule("/sql/1.0/endpoints/<warehouse_id>", endpoint="thrift", methods=["POST"]),
    ]
)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


class WorkspaceService:
    """One workspace at ``base_url`` (``https://127.x.y.z``): call it as a WSGI app."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        base_url: str,
        entra: EntraTrust,
        signing_key: SigningKey,
        warehouse: ThriftWarehouse,
        clock: Clock,
        lifetimes: TokenLifetimes,
        engine: Callable[[], WarehouseEngine] | None = None,
    ) -> None:
        self.workspace = workspace
        self.base_url = base_url.rstrip("/")
        self.entra = entra
        self.signing_key = signing_key
        self.warehouse = warehouse
        self.clock = clock
        self.lifetimes = lifetimes
        self.issuer = f"{self.base_url}/oidc"
        self.authenticator = Authenticator(
            workspace=workspace, entra=entra, signing_key=signing_key, issuer=self.issuer, clock=clock
        )
        self.oidc = OidcServer(
            workspace=workspace,
            base_url=self.base_url,
            signing_key=signing_key,
            authenticator=self.authenticator,
            clock=clock,
            lifetimes=lifetimes,
        )
        self.warehouses = Warehouses(workspace, clock, self.base_url)
        self.files = WorkspaceFiles(workspace)
        self._engine = engine  # the SQL engine, for the Statement Execution API (None: not served)
        self._sea: StatementExecution | None = None
        self._sea_lock = threading.Lock()

    def reset(self) -> None:
        """Forget issued codes, refresh tokens and pending sign-ins."""
        self.oidc.reset()

    def mint_token(
        self, principal: str, *, client_id: str = "databricks-cli", scopes: tuple[str, ...] = ("all-apis",)
    ) -> str:
        """A workspace OAuth access token for ``principal`` (for tests and the control API)."""
        return self.oidc.mint_access_token(principal, client_id, scopes)[0]

    # --- WSGI --------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        log = environ.get("brickauth.log")
        if not isinstance(log, dict):
            log = {}
        response = self.dispatch(request, log)
        return response(environ, start_response)

    def dispatch(self, request: Request, log: dict[str, Any]) -> Response:
        adapter = _URLS.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except MethodNotAllowed as exc:
            return exc.get_response(request.environ)
        except NotFound:
            if request.path.startswith("/api/"):
                refusal = errors.endpoint_not_found(request.path)
                log["error_code"] = refusal.code
                return refusal.rest_response()
            return Response("Not Found", 404, content_type="text/plain")
        except HTTPException as exc:
            return exc.get_response(request.environ)
        handler: Callable[..., Response] = getattr(self, f"_on_{endpoint}")
        return handler(request, log, **values)

    # --- discovery and OIDC ------------------------------------------------------------------------

    def _on_databricks_config(self, request: Request, log: dict[str, Any]) -> Response:
        return _json(
            {
                "oidc_endpoint": self.issuer,
                "account_id": self.workspace.account_id,
                "workspace_id": self.workspace.workspace_id,
                "cloud": "AZURE",
                "host_type": "workspace",
                "token_federation_default_oidc_audiences": [self.workspace.account_id],
            }
        )

    def _on_oidc_metadata(self, request: Request, log: dict[str, Any]) -> Response:
        return _json(self.oidc.metadata())

    def _on_jwks(self, request: Request, log: dict[str, Any]) -> Response:
        return _json(self.oidc.jwks())

    def _on_authorize(self, request: Request, log: dict[str, Any]) -> Response:
        return self.oidc.authorize(request, log)

    def _on_token(self, request: Request, log: dict[str, Any]) -> Response:
        return self.oidc.token(request, log)

    def _on_revoke(self, request: Request, log: dict[str, Any]) -> Response:
        return self.oidc.revoke(request, log)

    def _on_aad_auth(self, request: Request, log: dict[str, Any]) -> Response:
        """Azure workspaces redirect here to their tenant's sign-in: SDKs read the tenant from it."""
        authority = self.entra.issuer_v2(self.workspace.tenant_id).removesuffix("/v2.0")
        query = urlencode(
            {
                "client_id": AZURE_DATABRICKS_RESOURCE_ID,
                "response_type": "code",
                "redirect_uri": f"{self.base_url}/aad/redirect",
            }
        )
        return Response("", 302, [("Location", f"{authority}/oauth2/authorize?{query}")])

    # --- REST --------------------------------------------------------------------------------------

    def _rest(self, log: dict[str, Any], request: Request, fn: Callable[[Caller], Any]) -> Response:
        try:
            caller = self.authenticator.authenticate(request.environ)
            log["principal"] = caller.key
            if caller.source == "databricks" and "all-apis" not in caller.scopes:
                raise errors.invalid_scope()
            return _json(fn(caller))
        except Refusal as refusal:
            log["error_code"] = refusal.code
            return refusal.rest_response()

    def _on_me(self, request: Request, log: dict[str, Any]) -> Response:
        return self._rest(log, request, lambda c: scim_me(c.principal))

    def _visible_warehouse(self, caller: Caller, warehouse_id: str) -> Any:
        wh = self.warehouses.get(warehouse_id)
        require_sql(caller)
        if not self.warehouses.can_use(caller.principal, wh):
            raise errors.no_can_use(caller.key, warehouse_id)
        return wh

    def _on_warehouse_list(self, request: Request, log: dict[str, Any]) -> Response:
        def run(caller: Caller) -> Any:
            require_sql(caller)
            visible = []
            for wh in self.workspace.warehouses.values():
                if wh.state != "DELETED" and self.warehouses.can_use(caller.principal, wh):
                    self.warehouses.settle(wh)
                    visible.append(self.warehouses.view(wh))
            return {"warehouses": visible}

        return self._rest(log, request, run)

    def _on_warehouse_get(self, request: Request, log: dict[str, Any], warehouse_id: str) -> Response:
        return self._rest(
            log, request, lambda c: self.warehouses.view(self._visible_warehouse(c, warehouse_id))
        )

    def _on_warehouse_start(self, request: Request, log: dict[str, Any], warehouse_id: str) -> Response:
        def run(caller: Caller) -> Any:
            self.warehouses.start(self._visible_warehouse(caller, warehouse_id))
            return {}

        return self._rest(log, request, run)

    def _on_warehouse_stop(self, request: Request, log: dict[str, Any], warehouse_id: str) -> Response:
        def run(caller: Caller) -> Any:
            wh = self._visible_warehouse(caller, warehouse_id)
            if not self.warehouses.can_manage(caller.principal, wh):
                raise errors.no_can_manage(caller.key, warehouse_id)
            self.warehouses.stop(wh)
            return {}

        return self._rest(log, request, run)

    def _on_warehouse_permissions(self, request: Request, log: dict[str, Any], warehouse_id: str) -> Response:
        def run(caller: Caller) -> Any:
            wh = self.warehouses.get(warehouse_id)
            if not self.warehouses.can_use(caller.principal, wh):
                raise errors.no_can_use(caller.key, warehouse_id)
            return self.warehouses.permissions(wh)

        return self._rest(log, request, run)

    def _on_ws_get_status(self, request: Request, log: dict[str, Any]) -> Response:
        return self._rest(log, request, lambda c: self.files.get_status(c, request.args.get("path", "")))

    def _on_ws_list(self, request: Request, log: dict[str, Any]) -> Response:
        return self._rest(log, request, lambda c: self.files.list(c, request.args.get("path", "")))

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise errors.bad_request("Malformed JSON request body") from None
        if not isinstance(body, dict):
            raise errors.bad_request("Request body must be a JSON object")
        return body

    def _on_ws_mkdirs(self, request: Request, log: dict[str, Any]) -> Response:
        return self._rest(
            log, request, lambda c: self.files.mkdirs(c, str(self._body(request).get("path", "")))
        )

    def _on_ws_import(self, request: Request, log: dict[str, Any]) -> Response:
        return self._rest(log, request, lambda c: self.files.import_(c, self._body(request)))

    def _on_ws_delete(self, request: Request, log: dict[str, Any]) -> Response:
        return self._rest(log, request, lambda c: self.files.delete(c, self._body(request)))

    # --- SQL: Thrift and the Statement Execution API ----------------------------------------------

    def _sql_caller(self, request: Request, log: dict[str, Any]) -> Caller:
        """The caller of a SQL request (Thrift or Statement Execution API): ``sql`` or ``all-apis``."""
        caller = self.authenticator.authenticate(request.environ)
        log["principal"] = caller.key
        if caller.source == "databricks" and not caller.scopes & {"sql", "all-apis"}:
            raise errors.invalid_scope()
        require_sql(caller)
        return caller

    def _use_warehouse(self, caller: Caller, warehouse_id: str) -> None:
        """CAN USE on a running warehouse (a stopped one with auto-start starts; a starting one: 503)."""
        wh = self.warehouses.get(warehouse_id)
        if not self.warehouses.can_use(caller.principal, wh):
            raise errors.no_can_use(caller.key, warehouse_id)
        if wh.state == "STOPPED":
            if not wh.auto_start:
                raise errors.warehouse_stopped(warehouse_id)
            self.warehouses.start(wh)
        self.warehouses.settle(wh)
        if wh.state == "STARTING":
            raise errors.warehouse_starting(warehouse_id, self.warehouses.retry_after(wh))

    # --- Statement Execution API -------------------------------------------------------------------

    def _statement_execution(self) -> StatementExecution:
        if self._engine is None:
            raise errors.endpoint_not_found("/api/2.0/sql/statements")
        with self._sea_lock:
            if self._sea is None:
                from brickauth_sandbox.workspace.sea import (
                    StatementExecution,  # duckdb, pyarrow: on first use
                )

                self._sea = StatementExecution(self._engine, base_url=self.base_url, clock=self.clock)
            return self._sea

    def _sea_call(self, request: Request, log: dict[str, Any],
                  fn: Callable[[StatementExecution, Caller, dict[str, Any]], Any]) -> Response:
        try:
            sea = self._statement_execution()
            caller = self._sql_caller(request, log)
            body = self._body(request) if request.method in ("POST", "DELETE") else {}
            return _json(fn(sea, caller, body))
        except Refusal as refusal:
            log["error_code"] = refusal.code
            return refusal.rest_response()

    def _sea_warehouse(self, caller: Caller, body: dict[str, Any]) -> str:
        """The request's ``warehouse_id``, once the caller may use it (as on the Thrift path)."""
        warehouse_id = body.get("warehouse_id")
        if not isinstance(warehouse_id, str) or not warehouse_id:
            raise errors.bad_request("warehouse_id is required.")
        self._use_warehouse(caller, warehouse_id)
        return warehouse_id

    def _on_sea_session_create(self, request: Request, log: dict[str, Any]) -> Response:
        return self._sea_call(
            request, log, lambda sea, c, body: sea.create_session(c.key, self._sea_warehouse(c, body), body)
        )

    def _on_sea_session_delete(self, request: Request, log: dict[str, Any], session_id: str) -> Response:
        return self._sea_call(request, log, lambda sea, c, body: sea.delete_session(c.key, session_id))

    def _on_sea_execute(self, request: Request, log: dict[str, Any]) -> Response:
        return self._sea_call(
            request, log, lambda sea, c, body: sea.execute(c.key, self._sea_warehouse(c, body), body)
        )

    def _on_sea_statement(self, request: Request, log: dict[str, Any], statement_id: str) -> Response:
        if request.method == "DELETE":
            return self._sea_call(request, log, lambda sea, c, body: sea.close(c.key, statement_id))
        return self._sea_call(
            request, log, lambda sea, c, body: sea.describe(sea.statement(c.key, statement_id))
        )

    def _on_sea_cancel(self, request: Request, log: dict[str, Any], statement_id: str) -> Response:
        return self._sea_call(request, log, lambda sea, c, body: sea.cancel(c.key, statement_id))

    def _on_sea_chunk(
        self, request: Request, log: dict[str, Any], statement_id: str, chunk_index: int
    ) -> Response:
        return self._sea_call(request, log, lambda sea, c, body: sea.chunk(c.key, statement_id, chunk_index))

    def _on_sea_download(self, request: Request, log: dict[str, Any], token: str) -> Response:
        """A presigned-style result link: no Authorization (as cloud storage), the token is the key."""
        data = self._sea.download(token) if self._sea is not None else None
        if data is None:  # Azure Blob Storage's answer to a bad or expired SAS
            log["error_code"] = "AuthenticationFailed"
            body = (
                '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
                "<Message>Server failed to authenticate the request. Make sure the value of Authorization "
                "header is formed correctly including the signature.</Message></Error>"
            )
            return Response(body, 403, content_type="application/xml")
        return Response(data, 200, content_type="application/octet-stream")

    # --- Thrift (SQL) ------------------------------------------------------------------------------

    def _on_thrift(self, request: Request, log: dict[str, Any], warehouse_id: str) -> Response:
        try:
            caller = self._sql_caller(request, log)
            self._use_warehouse(caller, warehouse_id)
        except Refusal as refusal:
            log["error_code"] = refusal.code
            return refusal.thrift_response()
        answer = self.warehouse.handle(request.get_data(), principal=caller.key, warehouse_id=warehouse_id)
        return Response(answer, 200, content_type="application/x-thrift")
