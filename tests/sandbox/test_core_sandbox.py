"""The composed sandbox: start-up, environment, reset isolation, control API, admin endpoint, and
real clients (msal, databricks-sql-connector) end to end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msal
import msal.exceptions
import pytest
import requests
from databricks import sql

from brickauth.clock import FakeClock
from brickauth.token import decode_jwt_claims
from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.entra.model import AZURE_DATABRICKS_RESOURCE_ID
from brickauth_sandbox.faults import TOKEN_PATHS

DATABRICKS_SCOPE = f"{AZURE_DATABRICKS_RESOURCE_ID}/.default"
REQUIRED_ENV = {
    "DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE", "BRICKAUTH_SANDBOX_USER", "BRICKAUTH_SANDBOX_PASSWORD",
}


class BearerProvider:
    """The smallest credentials_provider the SQL connector accepts: a fixed bearer token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_type(self) -> str:
        return "sandbox-test"

    def __call__(self, *args: Any) -> Callable[[], dict[str, str]]:
        return lambda: {"Authorization": f"Bearer {self.token}"}


def msal_app(
    sb: Sandbox, client_id: str | None = None, secret: str | None = None
) -> msal.ConfidentialClientApplication:
    # A fresh application per call: msal caches failed requests per application object.
    return msal.ConfidentialClientApplication(
        client_id or sb.ids.m2m_client_id,
        client_credential=secret or sb.ids.m2m_client_secret.reveal(),
        authority=sb.authority,
        instance_discovery=False,
    )


def entra_m2m_token(sb: Sandbox) -> str:
    result = msal_app(sb).acquire_token_for_client(scopes=[DATABRICKS_SCOPE])
    assert "access_token" in result, result
    return str(result["access_token"])


def query(sb: Sandbox, token: str, statement: str) -> list[Any]:
    host = sb.workspace_url.removeprefix("https://")
    with sql.connect(server_hostname=host, http_path=sb.http_path, credentials_provider=BearerProvider(token),
                     _tls_trusted_ca_file=str(sb.ca_bundle), enable_telemetry=False,
                     _retry_stop_after_attempts_count=1, _socket_timeout=30) as conn, conn.cursor() as cur:
        cur.execute(statement)
        return [tuple(r) for r in cur.fetchall()]


def admin(sb: Sandbox, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, f"{sb.admin_url}{path}", verify=str(sb.ca_bundle), timeout=10, **kw)


# -- start-up and environment -------------------------------------------------------------------
def test_starts_and_answers_at_once(sandbox_factory: Callable[..., Sandbox]) -> None:
    # The 2 s start-up target is measured by the benchmark (`nox -s bench`: sandbox_startup_seconds).
    sb = sandbox_factory()
    assert sb.running and sb.startup_seconds > 0
    assert sb.env().keys() >= REQUIRED_ENV
    # Everything answers at once; a first query waits for the SQL engine if it is still loading.
    r = requests.get(f"{sb.workspace_url}/.well-known/databricks-config", verify=str(sb.ca_bundle),
                     timeout=10)
    assert r.status_code == 200
    assert query(sb, databricks_m2m_token(sb), "SELECT 1") == [(1,)]
    assert sb.engine_ready_seconds is not None


def test_env_names_and_values(sandbox: Sandbox) -> None:
    env = sandbox.env()
    assert env.keys() >= REQUIRED_ENV
    hosts = {env["DATABRICKS_HOST"], env["AZURE_AUTHORITY_HOST"], env["BRICKAUTH_SANDBOX_ADMIN_URL"]}
    assert len(hosts) == 3
    for url in hosts:
        assert url.startswith("https://127.") and url.count(":") == 1  # port 443, implied
    assert env["DATABRICKS_HTTP_PATH"] == f"/sql/1.0/warehouses/{sandbox.ids.warehouse_id}"
    assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"]
    assert Path(env["SSL_CERT_FILE"]).read_text().count("BEGIN CERTIFICATE") > 2
    assert env["DATABRICKS_CLIENT_SECRET"].startswith("dose")
    assert env["AZURE_CLIENT_SECRET"] not in repr(sandbox.ids)


def test_secrets_differ_between_sandboxes(sandbox: Sandbox, sandbox_factory: Callable[..., Sandbox]) -> None:
    other = sandbox_factory(admin=False)
    assert other.ids.m2m_client_secret != sandbox.ids.m2m_client_secret
    assert other.ids.databricks_sp_secret != sandbox.ids.databricks_sp_secret
    assert other.workspace_url != sandbox.workspace_url
    assert other.admin_url is None


def test_services_answer_on_their_own_address(sandbox: Sandbox) -> None:
    bundle = str(sandbox.ca_bundle)
    r = requests.get(f"{sandbox.workspace_url}/.well-known/databricks-config", verify=bundle, timeout=10)
    assert r.status_code == 200
    r = requests.get(f"{sandbox.authority}/v2.0/.well-known/openid-configuration", verify=bundle, timeout=10)
    assert r.status_code == 200
    assert r.json()["token_endpoint"].startswith(sandbox.entra_url)
    assert sandbox.request_log.count(service="workspace", path="/.well-known/databricks-config") == 1
    assert sandbox.request_log.count(service="entra") == 1


# -- real clients end to end --------------------------------------------------------------------
def test_msal_client_credentials_gets_entra_token(sandbox: Sandbox, sandbox_env: dict[str, str]) -> None:
    token = entra_m2m_token(sandbox)
    claims = decode_jwt_claims(token)
    assert claims["tid"] == sandbox.ids.tenant_id
    assert claims["appid"] == sandbox.ids.m2m_client_id
    assert claims["aud"] in (AZURE_DATABRICKS_RESOURCE_ID, f"api://{AZURE_DATABRICKS_RESOURCE_ID}")
    assert sandbox.request_log.count(service="entra", path_contains="/oauth2/v2.0/token", status=200) == 1


def test_connector_runs_select_1_and_current_user_with_entra_m2m(
    sandbox: Sandbox, sandbox_env: dict[str, str]
) -> None:
    token = entra_m2m_token(sandbox)
    assert query(sandbox, token, "SELECT 1") == [(1,)]
    assert query(sandbox, token, "SELECT current_user()") == [(sandbox.ids.m2m_client_id,)]


def databricks_m2m_token(sb: Sandbox) -> str:
    r = requests.post(
        f"{sb.workspace_url}/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(sb.ids.databricks_sp_client_id, sb.ids.databricks_sp_secret.reveal()),
        verify=str(sb.ca_bundle), timeout=10,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_connector_with_databricks_oauth_m2m(sandbox: Sandbox) -> None:
    assert query(sandbox, databricks_m2m_token(sandbox), "SELECT current_user()") == [
        (sandbox.ids.databricks_sp_client_id,)]
    assert sandbox.request_log.count(service="workspace", path="/oidc/v1/token", status=200) == 1


def test_revoked_can_use_is_refused_on_the_thrift_path(sandbox: Sandbox, sandbox_env: dict[str, str]) -> None:
    token = entra_m2m_token(sandbox)
    sandbox.revoke_can_use(sandbox.ids.m2m_client_id)
    with pytest.raises(sql.exc.Error):
        query(sandbox, token, "SELECT 1")


def test_entra_token_endpoint_fault_reaches_msal(sandbox: Sandbox, sandbox_env: dict[str, str]) -> None:
    sandbox.faults["entra"].fail_next(1, status=503, path_prefix=TOKEN_PATHS["entra"])
    # msal raises on a 5xx from the token endpoint (it returns 4xx errors as dicts).
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
        msal_app(sandbox).acquire_token_for_client(scopes=[DATABRICKS_SCOPE])
    assert sandbox.request_log.count(service="entra", status=503, fault="fail") >= 1
    assert "access_token" in msal_app(sandbox).acquire_token_for_client(scopes=[DATABRICKS_SCOPE])
    # The workspace's token endpoint is a different service: untouched.
    assert sandbox.faults["workspace"].rules() == []


def test_stop_returns_promptly_with_a_hung_request(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(admin=False)
    sb.faults["workspace"].hang()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{sb.workspace_url}/.well-known/databricks-config", verify=str(sb.ca_bundle),
                         timeout=30)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    assert sb.faults["workspace"].wait_hung(1, timeout=5)
    t0 = time.monotonic()
    assert sb.stop()  # every server's thread ended (none was given up on)
    # Generous: only a stop that waited for the hung request (the client's 30 s timeout) fails this.
    assert time.monotonic() - t0 < 10
    assert not sb.running
    t.join(5)
    assert not t.is_alive()


def test_fake_clock_sandbox_issues_tokens_on_that_clock(sandbox_factory: Callable[..., Sandbox]) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    sb = sandbox_factory(clock=clock, admin=False)
    sb.set_token_lifetime(60)
    app = msal.ConfidentialClientApplication(
        sb.ids.m2m_client_id, client_credential=sb.ids.m2m_client_secret.reveal(), authority=sb.authority,
        instance_discovery=False, http_client=_session(sb))
    result = app.acquire_token_for_client(scopes=[DATABRICKS_SCOPE])
    claims = decode_jwt_claims(result["access_token"])
    assert claims["iat"] == pytest.approx(1_800_000_000, abs=1)
    assert claims["exp"] - claims["iat"] == pytest.approx(60, abs=1)
    assert sb.request_log.last(service="entra").time == 1_800_000_000.0  # type: ignore[union-attr]


def _session(sb: Sandbox) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (see FIELD-NOTES)
    s.verify = str(sb.ca_bundle)
    return s


# -- control API --------------------------------------------------------------------------------
def test_control_api_sets_up_and_breaks_things(sandbox: Sandbox) -> None:
    user = sandbox.add_user(mfa_required=True)
    assert sandbox.tenant.users[user.upn.lower()].mfa_required
    assert user.upn.lower() in sandbox.warehouse().can_use
    app = sandbox.add_entra_app("etl", can_use=False)
    assert app.secrets and app.app_id in sandbox.workspace.principals
    assert app.app_id not in sandbox.warehouse().can_use
    sp = sandbox.add_databricks_service_principal()
    assert sp.secrets[0].value.startswith("dose")
    sandbox.remove_from_workspace(sp.application_id)
    assert sp.application_id not in sandbox.workspace.principals
    assert sp.application_id not in sandbox.warehouse().can_use
    sandbox.stop_warehouse()
    assert sandbox.warehouse().state == "STOPPED"
    sandbox.set_token_lifetime(5)
    assert sandbox.lifetimes.access_token_seconds == 5
    with pytest.raises(ValueError, match="unknown lifetimes"):
        sandbox.set_lifetimes(nope=1)
    with pytest.raises(KeyError):
        sandbox.grant_can_use("not-a-member@example.com")


# -- admin endpoint -----------------------------------------------------------------------------
def test_admin_summary_has_no_secrets_and_env_has_them(sandbox: Sandbox) -> None:
    summary = admin(sandbox, "GET", "/admin")
    assert summary.status_code == 200
    assert summary.json()["warehouse_id"] == sandbox.ids.warehouse_id
    assert sandbox.ids.m2m_client_secret.reveal() not in summary.text
    assert admin(sandbox, "GET", "/admin/env").json() == sandbox.env()


def test_admin_faults_and_request_log(sandbox: Sandbox) -> None:
    bundle = str(sandbox.ca_bundle)
    r = admin(sandbox, "POST", "/admin/faults/workspace",
              json={"kind": "rate_limit", "remaining": 1, "seconds": 4, "path_prefix": "/.well-known/"})
    assert r.status_code == 201, r.text
    got = requests.get(f"{sandbox.workspace_url}/.well-known/databricks-config", verify=bundle, timeout=10)
    assert (got.status_code, got.headers["Retry-After"]) == (429, "4")
    log = admin(sandbox, "GET", "/admin/requests", params={"service": "workspace", "status": "429"}).json()
    assert [(e["path"], e["fields"]["fault"]) for e in log] == [
        ("/.well-known/databricks-config", "rate_limit")]
    assert admin(sandbox, "POST", "/admin/faults/nope", json={"kind": "hang"}).status_code == 404
    assert admin(sandbox, "POST", "/admin/faults/entra", json={"kind": "explode"}).status_code == 400
    assert admin(sandbox, "DELETE", "/admin/requests").status_code == 200
    assert sandbox.request_log.count(service="workspace") == 0


def test_admin_calls_control_api(sandbox: Sandbox) -> None:
    r = admin(sandbox, "POST", "/admin/call/stop_warehouse")
    assert r.status_code == 200, r.text
    assert sandbox.warehouse().state == "STOPPED"
    r = admin(sandbox, "POST", "/admin/call/add_user", json={"upn": "new@contoso.onmicrosoft.com"})
    assert r.json()["result"]["upn"] == "new@contoso.onmicrosoft.com"
    assert r.json()["result"]["password"]
    assert admin(sandbox, "POST", "/admin/call/reset").status_code == 404  # not an action
    assert admin(sandbox, "POST", "/admin/call/grant_can_use", json={"bad": 1}).status_code == 400
    r = admin(sandbox, "PUT", "/admin/lifetimes", json={"access_token_seconds": 7})
    assert r.json()["access_token_seconds"] == 7 and sandbox.lifetimes.access_token_seconds == 7
    assert admin(sandbox, "POST", "/admin/reset").status_code == 200
    assert sandbox.warehouse().state == "RUNNING"
    assert sandbox.lifetimes.access_token_seconds == 3600
