"""M2M end to end: brickauth provider -> real databricks-sql-connector -> the sandbox.

Counts come from the sandbox's request log. A canary secret is registered in the sandbox so that the
real flows send it, and it must never show in captured output or logs.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from core_support import CANARY_DATABRICKS_SECRET, CANARY_ENTRA_SECRET, make_cert

import brickauth
from brickauth.clock import FakeClock
from brickauth.errors import BrickauthError, InvalidClientError
from brickauth.provider import CredentialsProvider
from sql_client import connect, current_user

pytest.importorskip("databricks.sql")
pytest.importorskip("brickauth_sandbox.core")

from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.faults import TOKEN_PATHS

ENTRA_TOKEN = {"service": "entra", "grant_type": "client_credentials", "path_contains": "/oauth2/v2.0/token"}
DBX_TOKEN = {"service": "workspace", "grant_type": "client_credentials", "path": "/oidc/v1/token"}


def canary_principals(sb: Sandbox) -> tuple[str, str]:
    """An Entra app and a Databricks service principal whose secrets are the canaries."""
    from brickauth_sandbox.entra.model import ClientSecret
    from brickauth_sandbox.workspace.model import OAuthSecret

    app = sb.add_entra_app("canary-app")
    app.secrets = [ClientSecret(value=CANARY_ENTRA_SECRET)]
    sp = sb.add_databricks_service_principal("canary-sp")
    sp.secrets = [OAuthSecret(value=CANARY_DATABRICKS_SECRET)]
    return app.app_id, sp.application_id


def provider_for(sb: Sandbox, auth_type: str, **kw: Any) -> CredentialsProvider:
    env = sb.env()
    common: dict[str, Any] = {"ca_bundle": env["REQUESTS_CA_BUNDLE"]}
    if auth_type == "azure-m2m":
        common |= {"tenant_id": sb.ids.tenant_id, "authority_host": sb.entra_url}
    return brickauth.credentials_provider(auth_type, sb.workspace_url, env={}, **common, **kw)




@pytest.fixture
def canary(sandbox: Sandbox) -> tuple[str, str]:
    return canary_principals(sandbox)


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def assert_no_canary(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert CANARY_ENTRA_SECRET not in text and CANARY_DATABRICKS_SECRET not in text


# -- who am I, per credential kind -----------------------------------------------------------------


def test_azure_m2m_secret(
    sandbox: Sandbox,
    canary: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    app_id, _ = canary
    p = provider_for(sandbox, "azure-m2m", client_id=app_id, client_secret=CANARY_ENTRA_SECRET)
    assert p.auth_type() == "brickauth-azure-m2m"
    with connect(sandbox, p) as conn:
        assert current_user(conn) == app_id
    assert sandbox.request_log.count(**ENTRA_TOKEN) == 1
    assert_no_canary(caplog, capfd)


def test_azure_m2m_certificate(sandbox: Sandbox, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    from brickauth_sandbox.entra.model import ClientCertificate

    app = sandbox.add_entra_app("cert-app", secret=False)
    pem = make_cert(tmp_path)
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    app.certificates.append(
        ClientCertificate(
            thumbprint_sha1_hex=cert.fingerprint(hashes.SHA1()).hex(),
            public_pem=cert.public_bytes(serialization.Encoding.PEM),
        )
    )
    p = provider_for(sandbox, "azure-m2m", client_id=app.app_id, client_certificate_path=str(pem))
    with connect(sandbox, p) as conn:
        assert current_user(conn) == app.app_id


def test_azure_m2m_federated_token_file(sandbox: Sandbox, tmp_path: Path) -> None:
    from brickauth_sandbox.entra.model import FederatedCredential
    from brickauth_sandbox.signing import SigningKey

    issuer, subject = "https://oidc.k8s.example/cluster-1", "system:serviceaccount:jobs:etl"
    key = SigningKey.generate()
    sandbox.entra.trust_federated_issuer(issuer, key.private_key.public_key())
    app = sandbox.add_entra_app("federated-app", secret=False)
    app.federated_credentials.append(FederatedCredential(issuer=issuer, subject=subject))
    token_file = tmp_path / "token"

    def project() -> None:  # what the kubelet does: a fresh short-lived token in the file
        now = time.time()
        token_file.write_text(
            key.sign(
                {
                    "iss": issuer,
                    "sub": subject,
                    "aud": "api://AzureADTokenExchange",
                    "iat": int(now),
                    "nbf": int(now),
                    "exp": int(now) + 600,
                }
            )
        )

    project()
    p = provider_for(sandbox, "azure-m2m", client_id=app.app_id, federated_token_file=str(token_file))
    with connect(sandbox, p) as conn:
        assert current_user(conn) == app.app_id
    token_file.write_text("not.a.jwt")  # a broken file is read afresh: the next acquisition fails
    p.refreshing_token.invalidate()
    with pytest.raises(BrickauthError):
        p.token()
    project()
    assert p.token().token


def test_databricks_m2m(
    sandbox: Sandbox,
    canary: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    _, sp_id = canary
    p = provider_for(sandbox, "databricks-m2m", client_id=sp_id, client_secret=CANARY_DATABRICKS_SECRET)
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sp_id
    assert sandbox.request_log.count(**DBX_TOKEN) == 1
    assert_no_canary(caplog, capfd)


def test_env_only_auto(sandbox: Sandbox, sandbox_env: dict[str, str]) -> None:
    p = brickauth.credentials_provider()  # everything from the sandbox's environment
    assert (
        p.settings.auth_type == "databricks-m2m" and "DATABRICKS_CLIENT_SECRET" in p.settings.auth_type_reason
    )
    with connect(sandbox, p) as conn:
        assert current_user(conn) == sandbox.ids.databricks_sp_client_id


def test_databricks_sdk_credentials_strategy(sandbox: Sandbox, sandbox_env: dict[str, str]) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    p = brickauth.credentials_provider("databricks-m2m")
    w = WorkspaceClient(config=Config(host=sandbox.workspace_url, credentials_strategy=p))
    assert w.config.auth_type == "brickauth-databricks-m2m"
    me = w.current_user.me()
    assert me.user_name == sandbox.ids.databricks_sp_client_id
    assert w.config.authenticate()["Authorization"].startswith("Bearer ")


# -- lifecycle through the connector ---------------------------------------------------------------


@pytest.mark.parametrize("auth_type", ["azure-m2m", "databricks-m2m"])
def test_connection_across_token_lifetimes_fake_clock(sandbox_factory: Any, auth_type: str) -> None:
    # The connector caches a token until its exp minus 60 s by the real clock: keep the fake clock far
    # behind real time so that cache never holds a token the fake-clock sandbox considers expired.
    clock = FakeClock(start=time.time() - 100_000)
    sb: Sandbox = sandbox_factory(clock=clock)
    lifetime = 60.0
    sb.set_token_lifetime(lifetime)
    secret = sb.ids.m2m_client_secret if auth_type == "azure-m2m" else sb.ids.databricks_sp_secret
    client = sb.ids.m2m_client_id if auth_type == "azure-m2m" else sb.ids.databricks_sp_client_id
    p = provider_for(sb, auth_type, client_id=client, client_secret=secret.reveal(), clock=clock)
    queries = 0
    with connect(sb, p) as conn:
        for _ in range(25):  # 25 x 10 s = 250 s, over four lifetimes
            assert current_user(conn) == client
            queries += 1
            clock.advance(10.0)
    token_requests = sb.request_log.count(**(ENTRA_TOKEN if auth_type == "azure-m2m" else DBX_TOKEN))
    assert 4 <= token_requests <= 9, token_requests  # in proportion to lifetimes, not to 25 queries


@pytest.mark.slow
def test_connection_across_three_short_real_lifetimes(sandbox: Sandbox) -> None:
    sandbox.set_token_lifetime(3.0)
    p = provider_for(
        sandbox,
        "azure-m2m",
        client_id=sandbox.ids.m2m_client_id,
        client_secret=sandbox.ids.m2m_client_secret.reveal(),
    )
    with connect(sandbox, p) as conn:
        start = time.monotonic()
        first = p.token().token
        seen = {first}
        while time.monotonic() - start < 3 * 3.0 + 0.5:  # queries back to back over three lifetimes
            assert current_user(conn) == sandbox.ids.m2m_client_id
            seen.add(p.token().token)
    assert len(seen) >= 3
    assert sandbox.request_log.count(status=lambda s: s in (401, 403), service="workspace") == 0


@pytest.mark.parametrize("auth_type", ["azure-m2m", "databricks-m2m"])
def test_32_threads_cold_cause_one_token_request(sandbox: Sandbox, auth_type: str) -> None:
    secret = sandbox.ids.m2m_client_secret if auth_type == "azure-m2m" else sandbox.ids.databricks_sp_secret
    client = sandbox.ids.m2m_client_id if auth_type == "azure-m2m" else sandbox.ids.databricks_sp_client_id
    sandbox.faults["entra" if auth_type == "azure-m2m" else "workspace"].latency(
        0.3, path_prefix=TOKEN_PATHS["entra" if auth_type == "azure-m2m" else "workspace"]
    )  # widen the race
    p = provider_for(sandbox, auth_type, client_id=client, client_secret=secret.reveal())
    barrier = threading.Barrier(32)
    users: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(10)
            header = {k.title(): v for k, v in p()().items()}  # what the connector does per connection
            assert header["Authorization"].startswith("Bearer ")
            users.append(header["Authorization"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(users) == 32 and len(set(users)) == 1
    with connect(sandbox, p) as conn:  # and the shared token works through the connector
        assert current_user(conn) == client
    assert sandbox.request_log.count(**(ENTRA_TOKEN if auth_type == "azure-m2m" else DBX_TOKEN)) == 1


@pytest.mark.slow
def test_32_connections_in_threads_cause_one_token_request(sandbox: Sandbox) -> None:
    p = provider_for(
        sandbox,
        "databricks-m2m",
        client_id=sandbox.ids.databricks_sp_client_id,
        client_secret=sandbox.ids.databricks_sp_secret.reveal(),
    )
    barrier = threading.Barrier(32)
    users: list[str] = []

    def work() -> None:
        barrier.wait(10)
        with connect(sandbox, p) as conn:
            users.append(current_user(conn))

    threads = [threading.Thread(target=work) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert users == [sandbox.ids.databricks_sp_client_id] * 32
    assert sandbox.request_log.count(**DBX_TOKEN) == 1


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth_type", ["azure-m2m", "databricks-m2m"])
def test_30_percent_token_failures_still_succeed(sandbox: Sandbox, auth_type: str) -> None:
    service = "entra" if auth_type == "azure-m2m" else "workspace"
    sandbox.faults[service].fail_randomly(0.15, status=503, path_prefix=TOKEN_PATHS[service], seed=3)
    sandbox.faults[service].fail_randomly(0.15, status=429, path_prefix=TOKEN_PATHS[service], seed=4)
    secret = sandbox.ids.m2m_client_secret if auth_type == "azure-m2m" else sandbox.ids.databricks_sp_secret
    client = sandbox.ids.m2m_client_id if auth_type == "azure-m2m" else sandbox.ids.databricks_sp_client_id
    for _ in range(12):  # a fresh provider each time: every one must get its token
        p = provider_for(sandbox, auth_type, client_id=client, client_secret=secret.reveal())
        assert p.token().token
    token_path = {"path_contains": "/oauth2/v2.0/token"} if service == "entra" else {"path": "/oidc/v1/token"}
    failed = sandbox.request_log.count(service=service, status=lambda s: s in (429, 503), **token_path)
    assert failed >= 2  # the faults did fire
    with connect(sandbox, p) as conn:
        assert current_user(conn) == client


@pytest.mark.parametrize("auth_type", ["azure-m2m", "databricks-m2m"])
def test_wrong_secret_is_classified_with_no_retry(
    sandbox: Sandbox, auth_type: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    if auth_type == "azure-m2m":
        p = provider_for(
            sandbox, auth_type, client_id=sandbox.ids.m2m_client_id, client_secret=CANARY_ENTRA_SECRET
        )
    else:
        p = provider_for(
            sandbox,
            auth_type,
            client_id=sandbox.ids.databricks_sp_client_id,
            client_secret=CANARY_DATABRICKS_SECRET,
        )
    with pytest.raises(InvalidClientError) as info:
        p.token()
    assert info.value.code == ("BA211" if auth_type == "azure-m2m" else "BA240")
    assert "\n" not in str(info.value)
    # No retry and no back-off: one request, answered with a final 4xx.
    [request] = sandbox.request_log.filter(**(ENTRA_TOKEN if auth_type == "azure-m2m" else DBX_TOKEN))
    assert request.status in (400, 401)
    with pytest.raises(Exception) as through_connector:  # the connector surfaces our error
        with connect(sandbox, p) as conn:
            current_user(conn)
    assert info.value.code in str(through_connector.value) or isinstance(
        through_connector.value, BrickauthError
    )
    assert_no_canary(caplog, capfd)


def test_x5t_matches_sandbox_registration(tmp_path: Path) -> None:
    """The thumbprint we send is the base64url SHA-1 of the DER, which Entra matches."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from brickauth.flows.credential_files import load_certificate

    pem = make_cert(tmp_path)
    _, thumb, _ = load_certificate(str(pem), None, "explicit")
    der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(serialization.Encoding.DER)
    assert bytes.fromhex(thumb) == hashlib.sha1(der).digest()
    assert base64.urlsafe_b64encode(bytes.fromhex(thumb))
