"""Discovery and REST endpoints of the workspace emulator, through ``requests`` and databricks-sdk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_workspace_harness import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DBX_SP,
    ENTRA_SP,
    ENTRA_SP_OUTSIDE,
    OTHER_TENANT,
    WAREHOUSE,
    Harness,
    running_workspace,
)

from brickauth_sandbox.signing import SigningKey


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Harness]:
    with running_workspace(tmp_path) as h:
        yield h


def get(h: Harness, path: str, token: str | None = None, **kw: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(h.url(path), headers=headers, verify=str(h.ca_bundle), timeout=10, **kw)  # type: ignore[arg-type]


def test_databricks_config_has_what_sdk_and_dbt_read(ws: Harness) -> None:
    body = requests.get(ws.url("/.well-known/databricks-config"), verify=str(ws.ca_bundle), timeout=10).json()
    assert body["oidc_endpoint"] == f"{ws.base_url}/oidc"
    assert body["workspace_id"] == ws.workspace.workspace_id
    assert body["account_id"] == ws.workspace.account_id
    assert body["host_type"] == "workspace"
    assert body["cloud"] == "AZURE"


def test_oauth_metadata_is_rfc8414(ws: Harness) -> None:
    meta = requests.get(
        ws.url("/oidc/.well-known/oauth-authorization-server"), verify=str(ws.ca_bundle), timeout=10
    ).json()
    assert meta["issuer"] == f"{ws.base_url}/oidc"
    assert meta["authorization_endpoint"] == f"{ws.base_url}/oidc/v1/authorize"
    assert meta["token_endpoint"] == f"{ws.base_url}/oidc/v1/token"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(meta["grant_types_supported"])
    jwks = requests.get(meta["jwks_uri"], verify=str(ws.ca_bundle), timeout=10).json()
    assert jwks["keys"][0]["kid"] == ws.service.signing_key.kid


@pytest.mark.parametrize("v2", [False, True])
def test_scim_me_for_an_entra_user(ws: Harness, v2: bool) -> None:
    r = get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.user_token(ALICE.upper(), v2=v2))
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["userName"] == ALICE
    assert {"value": "databricks-sql-access"} in me["entitlements"]
    assert me["emails"][0]["value"] == ALICE
    assert ws.log.last(path="/api/2.0/preview/scim/v2/Me").fields["principal"] == ALICE  # type: ignore[union-attr]


def test_scim_me_for_an_entra_service_principal(ws: Harness) -> None:
    me = get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.app_token(ENTRA_SP)).json()
    assert me["userName"] == ENTRA_SP
    assert me["displayName"] == "etl-entra"


def test_api_audience_form_is_accepted(ws: Harness) -> None:
    token = ws.entra.user_token(ALICE, aud="api://2ff814a6-3304-4ab8-85cb-cd0e6f879c1d")
    assert get(ws, "/api/2.0/preview/scim/v2/Me", token).status_code == 200


def test_no_credentials(ws: Harness) -> None:
    r = get(ws, "/api/2.0/preview/scim/v2/Me")
    assert r.status_code == 401
    assert r.json() == {
        "error_code": 401,
        "message": "Credential was not sent or was of an unsupported type for this API.",
    }


def test_token_signed_by_someone_else_is_invalid(ws: Harness) -> None:
    r = get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.user_token(ALICE, key=SigningKey.generate()))
    assert r.status_code == 403
    assert r.json() == {"error_code": 403, "message": "Invalid access token."}
    assert r.headers["X-Databricks-Reason-Phrase"] == "Invalid access token."
    assert ws.log.last().fields["error_code"] == "INVALID_TOKEN"  # type: ignore[union-attr]


def test_expired_entra_token(ws: Harness) -> None:
    token = ws.entra.user_token(ALICE, now=ws.clock.now(), lifetime=60)
    assert get(ws, "/api/2.0/preview/scim/v2/Me", token).status_code == 200
    ws.clock.advance(61)
    r = get(ws, "/api/2.0/preview/scim/v2/Me", token)
    assert (r.status_code, r.json()["message"]) == (403, "JWT has expired")


def test_expiry_margin_like_real_workspaces(ws: Harness) -> None:
    ws.workspace.token_expiry_margin_seconds = 30
    token = ws.entra.user_token(ALICE, now=ws.clock.now(), lifetime=60)
    ws.clock.advance(40)
    r = get(ws, "/api/2.0/preview/scim/v2/Me", token)
    assert r.json()["message"] == "Token is expiring within 30 seconds. (token expired)"


def test_token_for_the_wrong_resource(ws: Harness) -> None:
    token = ws.entra.user_token(ALICE, aud="https://management.core.windows.net/")
    r = get(ws, "/api/2.0/preview/scim/v2/Me", token)
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert (
        "io.jsonwebtoken.IncorrectClaimException: Expected aud claim to be: "
        "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d, but was: https://management.core.windows.net/."
    ) in r.text


def test_token_from_another_tenant(ws: Harness) -> None:
    r = get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.user_token(ALICE, tid=OTHER_TENANT))
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert (
        "io.jsonwebtoken.IncorrectClaimException: Expected iss claim to be: "
        f"{ws.entra.issuer_v1(ws.workspace.tenant_id)}, but was: {ws.entra.issuer_v1(OTHER_TENANT)}."
    ) in r.text


def test_service_principal_not_in_workspace(ws: Harness) -> None:
    r = get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.app_token(ENTRA_SP_OUTSIDE))
    assert (r.status_code, r.json()["message"]) == (403, "User not authorized")


def test_deactivated_user(ws: Harness) -> None:
    r = get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.user_token(DAVE))
    assert r.status_code == 403
    assert "not active" in r.json()["message"]


def test_ip_access_list_blocks_with_real_message(ws: Harness) -> None:
    ws.workspace.ip_access_list_enabled = True
    ws.workspace.ip_allow_list = ["10.0.0.0/8"]
    r = get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.user_token(ALICE))
    assert r.status_code == 403
    assert r.json()["message"] == (
        "Source IP address: 127.0.0.1 is blocked by Databricks IP ACL for workspace: "
        f"{ws.workspace.workspace_id}"
    )
    ws.workspace.ip_allow_list.append("127.0.0.0/8")
    assert get(ws, "/api/2.0/preview/scim/v2/Me", ws.entra.user_token(ALICE)).status_code == 200


def test_warehouse_get(ws: Harness) -> None:
    r = get(ws, f"/api/2.0/sql/warehouses/{WAREHOUSE}", ws.entra.user_token(ALICE))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == WAREHOUSE
    assert body["state"] == "RUNNING"
    assert body["odbc_params"] == {
        "hostname": ws.host,
        "path": f"/sql/1.0/warehouses/{WAREHOUSE}",
        "protocol": "https",
        "port": 443,
    }


def test_warehouse_missing(ws: Harness) -> None:
    r = get(ws, "/api/2.0/sql/warehouses/doesnotexist", ws.entra.user_token(ALICE))
    assert r.status_code == 404
    assert r.json() == {"error_code": "NOT_FOUND", "message": "The warehouse doesnotexist was not found."}


def test_warehouse_without_can_use(ws: Harness) -> None:
    r = get(ws, f"/api/2.0/sql/warehouses/{WAREHOUSE}", ws.entra.user_token(CAROL))
    assert r.status_code == 403
    assert r.json() == {
        "error_code": "PERMISSION_DENIED",
        "message": f"PERMISSION_DENIED: User does not have permission to use warehouse {WAREHOUSE}.",
    }


def test_warehouse_without_sql_entitlement(ws: Harness) -> None:
    r = get(ws, f"/api/2.0/sql/warehouses/{WAREHOUSE}", ws.entra.user_token(BOB))
    assert r.status_code == 403
    assert r.json() == {
        "error_code": "PERMISSION_DENIED",
        "message": "This API is disabled for users without the databricks-sql-access entitlement.",
    }


def test_warehouse_permissions_list_grants(ws: Harness) -> None:
    r = get(ws, f"/api/2.0/permissions/warehouses/{WAREHOUSE}", ws.entra.user_token(ALICE))
    assert r.status_code == 200, r.text
    acl = r.json()["access_control_list"]
    by_name = {e.get("user_name") or e.get("service_principal_name") or e.get("group_name"): e for e in acl}
    assert by_name[ALICE]["all_permissions"][0]["permission_level"] == "CAN_MANAGE"
    assert by_name[ENTRA_SP]["all_permissions"][0]["permission_level"] == "CAN_USE"
    assert "service_principal_name" in by_name[DBX_SP]
    assert CAROL not in by_name


def test_start_moves_a_stopped_warehouse_through_starting(ws: Harness) -> None:
    token = ws.entra.user_token(ALICE)
    cold = "0c0ffee0c0ffee00"
    assert get(ws, f"/api/2.0/sql/warehouses/{cold}", token).json()["state"] == "STOPPED"
    r = requests.post(
        ws.url(f"/api/2.0/sql/warehouses/{cold}/start"),
        headers={"Authorization": f"Bearer {token}"},
        verify=str(ws.ca_bundle),
        timeout=10,
    )
    assert (r.status_code, r.json()) == (200, {})
    assert get(ws, f"/api/2.0/sql/warehouses/{cold}", token).json()["state"] == "STARTING"
    ws.clock.advance(1)
    assert get(ws, f"/api/2.0/sql/warehouses/{cold}", token).json()["state"] == "RUNNING"


def test_unknown_api(ws: Harness) -> None:
    r = get(ws, "/api/2.0/clusters/list", ws.entra.user_token(ALICE))
    assert r.status_code == 404
    assert r.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_workspace_files_for_dbt_python_models(ws: Harness) -> None:
    token = ws.entra.user_token(ALICE)
    auth = {"Authorization": f"Bearer {token}"}
    folder = f"/Users/{ALICE}/dbt_python_models/main/default"
    missing = get(ws, "/api/2.0/workspace/get-status", token, params={"path": folder})
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    r = requests.post(
        ws.url("/api/2.0/workspace/mkdirs"),
        json={"path": folder},
        headers=auth,
        verify=str(ws.ca_bundle),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    status = get(ws, "/api/2.0/workspace/get-status", token, params={"path": folder}).json()
    assert status["object_type"] == "DIRECTORY"
    assert isinstance(status["object_id"], int)


def test_aad_auth_redirects_to_the_workspace_tenant(ws: Harness) -> None:
    # databricks-sdk reads the tenant of an Azure workspace from this redirect.
    r = requests.get(ws.url("/aad/auth"), allow_redirects=False, verify=str(ws.ca_bundle), timeout=10)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(f"https://login.microsoftonline.com/{ws.workspace.tenant_id}/oauth2/")
