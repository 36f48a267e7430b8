"""The sandbox's admin HTTP endpoint (JSON, on its own loopback address): the control API over HTTP.

Routes (all under ``/admin``)::

    GET    /admin                          summary (ids, URLs; no secrets)
    GET    /admin/env                      the client environment (sandbox-only secrets included)
    POST   /admin/reset                    back to the baseline
    GET    /admin/requests?service=entra&path_prefix=/x&status=200&since=T&grant_type=...
    DELETE /admin/requests                 clear the request log
    GET    /admin/faults                   rules per service
    POST   /admin/faults/{service}         {"kind": "fail", "remaining": 2, "status": 503, "path_prefix": ...}
    POST   /admin/faults/{service}/release release hung requests
    DELETE /admin/faults/{service}[/{id}]  clear all rules, or one
    GET    /admin/lifetimes                token lifetimes; PUT/POST sets some {"access_token_seconds": 5}
    POST   /admin/call/{action}            a control-API method with JSON keyword arguments (see ACTIONS)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from brickauth.secret import Secret

if TYPE_CHECKING:
    from brickauth_sandbox.core import Sandbox

# Control-API methods the admin endpoint may call (name -> Sandbox method name).
ACTIONS = (
    "add_user", "add_entra_app", "add_databricks_service_principal", "add_to_workspace",
    "remove_from_workspace", "set_sql_access", "set_active", "grant_can_use", "revoke_can_use",
    "set_warehouse_state", "stop_warehouse", "start_warehouse", "set_token_lifetime", "set_lifetimes",
    "expire_client_secrets", "remove_entra_service_principal", "expire_databricks_secrets",
    "set_ip_access_list", "set_user_mfa", "revoke_admin_consent", "grant_uc", "revoke_uc",
    "reject_access_token",
)
_LOG_FILTERS = ("service", "method", "path", "path_prefix", "path_contains")


def _default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if not f.name.startswith("_")}
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    if isinstance(obj, Secret):
        return obj.reveal()  # only sandbox-generated values reach here
    if isinstance(obj, bytes):
        return obj.decode(errors="replace")
    return str(obj)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=_default, indent=1), status=status, mimetype="application/json")


class AdminApp:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.url_map = Map([
            Rule("/admin", endpoint="summary", methods=["GET"]),
            Rule("/admin/env", endpoint="env", methods=["GET"]),
            Rule("/admin/reset", endpoint="reset", methods=["POST"]),
            Rule("/admin/requests", endpoint="requests", methods=["GET", "DELETE"]),
            Rule("/admin/faults", endpoint="faults", methods=["GET"]),
            Rule("/admin/faults/<service>", endpoint="service_faults", methods=["GET", "POST", "DELETE"]),
            Rule("/admin/faults/<service>/release", endpoint="release", methods=["POST"]),
            Rule("/admin/faults/<service>/<int:rule_id>", endpoint="remove_fault", methods=["DELETE"]),
            Rule("/admin/lifetimes", endpoint="lifetimes", methods=["GET", "PUT", "POST"]),
            Rule("/admin/call/<action>", endpoint="call", methods=["POST"]),
        ], strict_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            environ["brickauth.log"]["admin"] = endpoint
            handler: Callable[..., Response] = getattr(self, f"on_{endpoint}")
            response = handler(request, **args)
        except (NotFound, MethodNotAllowed, BadRequest) as exc:
            response = _json({"error": exc.name, "message": exc.description}, exc.code or 400)
        except HTTPException as exc:
            response = _json({"error": exc.name, "message": exc.description}, exc.code or 500)
        except (KeyError, ValueError, TypeError) as exc:
            response = _json({"error": "Bad Request", "message": f"{type(exc).__name__}: {exc}"}, 400)
        return response(environ, start_response)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.get_data():
            return {}
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        return data

    def _faults(self, service: str) -> Any:
        if service not in self.sandbox.faults:
            raise NotFound(f"unknown service {service!r}; known: {', '.join(self.sandbox.faults)}")
        return self.sandbox.faults[service]

    def on_summary(self, request: Request) -> Response:
        return _json(self.sandbox.summary())

    def on_env(self, request: Request) -> Response:
        return _json(self.sandbox.env())

    def on_reset(self, request: Request) -> Response:
        self.sandbox.reset()
        return _json({"reset": True})

    def on_requests(self, request: Request) -> Response:
        log = self.sandbox.request_log
        if request.method == "DELETE":
            log.clear()
            return _json({"cleared": True})
        criteria: dict[str, Any] = {}
        for key, value in request.args.items():
            if key == "status":
                criteria[key] = int(value)
            elif key == "since":
                criteria[key] = float(value)
            else:
                criteria[key] = value
        entries = log.to_json(**criteria)
        # The admin endpoint's own calls are noise when reading the log over HTTP.
        if "service" not in criteria:
            entries = [e for e in entries if e["service"] != "admin"]
        return _json(entries)

    def on_faults(self, request: Request) -> Response:
        return _json({name: f.to_json() for name, f in self.sandbox.faults.items()})

    def on_service_faults(self, request: Request, service: str) -> Response:
        faults = self._faults(service)
        if request.method == "POST":
            rule = faults.add_from_dict(self._body(request))
            return _json(rule.to_dict(), 201)
        if request.method == "DELETE":
            faults.clear()
        return _json(faults.to_json())

    def on_release(self, request: Request, service: str) -> Response:
        self._faults(service).release()
        return _json({"released": True})

    def on_remove_fault(self, request: Request, service: str, rule_id: int) -> Response:
        if not self._faults(service).remove(rule_id):
            raise NotFound(f"no fault rule {rule_id} on {service}")
        return _json({"removed": rule_id})

    def on_lifetimes(self, request: Request) -> Response:
        if request.method in ("PUT", "POST"):
            self.sandbox.set_lifetimes(**self._body(request))
        return _json(self.sandbox.lifetimes)

    def on_call(self, request: Request, action: str) -> Response:
        if action not in ACTIONS:
            raise NotFound(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
        result = getattr(self.sandbox, action)(**self._body(request))
        return _json({"action": action, "result": result})
