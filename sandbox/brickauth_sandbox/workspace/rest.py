"""REST endpoints: SCIM Me, SQL warehouses and their permissions, and the workspace file calls dbt makes."""

from __future__ import annotations

import base64
import threading
from typing import Any
from urllib.parse import urlsplit

from brickauth.clock import Clock
from brickauth_sandbox.workspace import errors
from brickauth_sandbox.workspace.auth import Caller
from brickauth_sandbox.workspace.model import (
    DATABRICKS_SQL_ACCESS,
    WORKSPACE_ACCESS,
    Warehouse,
    Workspace,
    WorkspaceObject,
    WorkspacePrincipal,
)

SCIM_USER_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:workspace:2.0:User",
]


def scim_me(principal: WorkspacePrincipal) -> dict[str, Any]:
    """The SCIM ``/Me`` body: a user, or a service principal seen as a user named by its application id."""
    body: dict[str, Any] = {
        "schemas": SCIM_USER_SCHEMAS,
        "id": principal.scim_id,
        "userName": principal.key,
        "displayName": principal.display_name or principal.key,
        "active": principal.active,
        "entitlements": [{"value": e} for e in sorted(principal.entitlements)],
        "groups": [{"display": "admins", "type": "direct", "value": "1", "$ref": "Groups/1"}]
        if principal.admin
        else [],
    }
    if principal.kind == "user":
        given, _, family = (principal.display_name or principal.key.split("@")[0]).partition(" ")
        body["emails"] = [{"type": "work", "value": principal.key, "primary": True}]
        body["name"] = {"givenName": given, "familyName": family}
    else:
        body["applicationId"] = principal.key
    return body


class Warehouses:
    """Warehouse state transitions (STOPPED -> STARTING -> RUNNING on the injected clock) and views."""

    def __init__(self, workspace: Workspace, clock: Clock, base_url: str) -> None:
        self.workspace = workspace
        self.clock = clock
        self.hostname = urlsplit(base_url).hostname or ""
        self._lock = threading.Lock()

    def get(self, warehouse_id: str) -> Warehouse:
        wh = self.workspace.warehouses.get(warehouse_id)
        if wh is None or wh.state == "DELETED":
            raise errors.warehouse_not_found(warehouse_id)
        self.settle(wh)
        return wh

    def settle(self, wh: Warehouse) -> None:
        with self._lock:
            if wh.state == "STARTING" and wh.running_at is not None and self.clock.now() >= wh.running_at:
                wh.state = "RUNNING"
                wh.running_at = None
            elif wh.state == "STARTING" and wh.running_at is None:
                wh.running_at = self.clock.now() + wh.start_delay_seconds
            if wh.state == "STOPPING":
                wh.state = "STOPPED"

    def start(self, wh: Warehouse) -> None:
        with self._lock:
            if wh.state in ("STOPPED", "STOPPING"):
                if wh.start_delay_seconds <= 0:
                    wh.state = "RUNNING"
                else:
                    wh.state = "STARTING"
                    wh.running_at = self.clock.now() + wh.start_delay_seconds

    def stop(self, wh: Warehouse) -> None:
        with self._lock:
            wh.state = "STOPPED"
            wh.running_at = None

    def retry_after(self, wh: Warehouse) -> int:
        remaining = (wh.running_at or self.clock.now()) - self.clock.now()
        return max(1, int(remaining + 0.999))

    def can_use(self, principal: WorkspacePrincipal, wh: Warehouse) -> bool:
        return principal.admin or principal.key in wh.can_use or principal.key in wh.can_manage

    def can_manage(self, principal: WorkspacePrincipal, wh: Warehouse) -> bool:
        return principal.admin or principal.key in wh.can_manage

    def view(self, wh: Warehouse) -> dict[str, Any]:
        path = f"/sql/1.0/warehouses/{wh.warehouse_id}"
        return {
            "id": wh.warehouse_id,
            "name": wh.name,
            "size": "SMALL",
            "cluster_size": "Small",
            "min_num_clusters": 1,
            "max_num_clusters": 1,
            "auto_stop_mins": 10,
            "auto_resume": wh.auto_start,
            "creator_name": next((p.key for p in self.workspace.principals.values() if p.admin), ""),
            "tags": {},
            "spot_instance_policy": "COST_OPTIMIZED",
            "enable_photon": True,
            "channel": {"name": "CHANNEL_NAME_CURRENT"},
            "enable_serverless_compute": True,
            "warehouse_type": "PRO",
            "num_clusters": 1 if wh.state == "RUNNING" else 0,
            "num_active_sessions": 0,
            "state": wh.state,
            "jdbc_url": f"jdbc:databricks://{self.hostname}:443/default;transportMode=http;ssl=1;AuthMech=3;"
            f"httpPath={path};",
            "odbc_params": {"hostname": self.hostname, "path": path, "protocol": "https", "port": 443},
            "health": {"status": "HEALTHY"} if wh.state == "RUNNING" else {},
        }

    def permissions(self, wh: Warehouse) -> dict[str, Any]:
        acl: list[dict[str, Any]] = []
        for key in sorted(wh.can_use | wh.can_manage):
            p = self.workspace.principals.get(key)
            entry: dict[str, Any] = {}
            if p is not None and p.kind == "service_principal":
                entry["service_principal_name"] = key
            else:
                entry["user_name"] = key
            if p is not None and p.display_name:
                entry["display_name"] = p.display_name
            level = "CAN_MANAGE" if key in wh.can_manage else "CAN_USE"
            entry["all_permissions"] = [{"permission_level": level, "inherited": False}]
            acl.append(entry)
        acl.append(
            {
                "group_name": "admins",
                "all_permissions": [
                    {
                        "permission_level": "CAN_MANAGE",
                        "inherited": True,
                        "inherited_from_object": ["/sql/warehouses/"],
                    }
                ],
            }
        )
        return {
            "object_id": f"warehouses/{wh.warehouse_id}",
            "object_type": "warehouses",
            "access_control_list": acl,
        }


def require_sql(caller: Caller) -> None:
    if DATABRICKS_SQL_ACCESS not in caller.principal.entitlements:
        raise errors.no_sql_entitlement(caller.key)


class WorkspaceFiles:
    """``/api/2.0/workspace/*``: enough for dbt-databricks' Python-model folders and notebooks."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()

    @staticmethod
    def _norm(path: str) -> str:
        if not path.startswith("/"):
            raise errors.bad_request(f"Path ({path}) must be absolute.")
        return "/" + "/".join(p for p in path.split("/") if p)

    def _require(self, caller: Caller) -> None:
        if WORKSPACE_ACCESS not in caller.principal.entitlements:
            raise errors.no_workspace_access(caller.key)

    def _exists(self, path: str) -> WorkspaceObject | None:
        if path in ("/", "/Users", "/Shared", "/Repos"):
            return self.workspace.objects.get(path) or WorkspaceObject(
                path=path, object_id=abs(hash(path)) % 10**15
            )
        if path.startswith("/Users/") and path.count("/") == 2:  # home folders exist for members
            if path.split("/")[2].lower() in self.workspace.principals:
                return self.workspace.objects.get(path) or WorkspaceObject(
                    path, object_id=abs(hash(path)) % 10**15
                )
        return self.workspace.objects.get(path)

    def get_status(self, caller: Caller, path: str) -> dict[str, Any]:
        self._require(caller)
        path = self._norm(path)
        obj = self._exists(path)
        if obj is None:
            raise errors.path_not_found(path)
        body: dict[str, Any] = {"object_type": obj.object_type, "path": obj.path, "object_id": obj.object_id}
        if obj.language:
            body["language"] = obj.language
        return body

    def mkdirs(self, caller: Caller, path: str) -> dict[str, Any]:
        self._require(caller)
        path = self._norm(path)
        with self._lock:
            parts = path.split("/")[1:]
            for i in range(1, len(parts) + 1):
                sub = "/" + "/".join(parts[:i])
                obj = self._exists(sub)
                if obj is not None and obj.object_type != "DIRECTORY":
                    raise errors.resource_exists(sub)
                if obj is None:
                    self.workspace.objects[sub] = WorkspaceObject(sub)
        return {}

    def import_(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        self._require(caller)
        path = self._norm(str(body.get("path", "")))
        parent = path.rsplit("/", 1)[0] or "/"
        with self._lock:
            if self._exists(parent) is None:
                raise errors.path_not_found(parent)
            existing = self.workspace.objects.get(path)
            if existing is not None and not body.get("overwrite"):
                raise errors.resource_exists(path)
            try:
                content = base64.b64decode(str(body.get("content", "")))
            except ValueError:
                raise errors.bad_request("content is not valid base64") from None
            language = body.get("language")
            self.workspace.objects[path] = WorkspaceObject(
                path,
                "NOTEBOOK" if language else "FILE",
                object_id=existing.object_id if existing else WorkspaceObject(path).object_id,
                language=str(language) if language else None,
                content=content,
            )
        return {}

    def delete(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        self._require(caller)
        path = self._norm(str(body.get("path", "")))
        with self._lock:
            if path not in self.workspace.objects:
                raise errors.path_not_found(path)
            for key in [k for k in self.workspace.objects if k == path or k.startswith(path + "/")]:
                if key != path and not body.get("recursive"):
                    raise errors.bad_request(f"Folder ({path}) is not empty.")
            for key in [k for k in self.workspace.objects if k == path or k.startswith(path + "/")]:
                del self.workspace.objects[key]
        return {}

    def list(self, caller: Caller, path: str) -> dict[str, Any]:
        self._require(caller)
        path = self._norm(path)
        if self._exists(path) is None:
            raise errors.path_not_found(path)
        prefix = path.rstrip("/") + "/"
        children = [
            o
            for k, o in sorted(self.workspace.objects.items())
            if k.startswith(prefix) and "/" not in k[len(prefix) :]
        ]
        return {
            "objects": [
                {"object_type": o.object_type, "path": o.path, "object_id": o.object_id} for o in children
            ]
        }
