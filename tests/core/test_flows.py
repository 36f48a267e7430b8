"""azure-m2m (real msal) and databricks-m2m against a scripted local HTTPS identity provider."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from core_support import (
    CANARY_DATABRICKS_SECRET,
    CANARY_ENTRA_SECRET,
    CLIENT,
    TENANT,
    FakeIdPServer,
    make_cert,
)

from brickauth.config import resolve_settings
from brickauth.errors import IdentityProviderError, InvalidClientError
from brickauth.flows.azure_m2m import AzureM2MSource
from brickauth.flows.databricks_m2m import DatabricksM2MSource
from brickauth.http import HttpClient


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[FakeIdPServer]:
    server = FakeIdPServer(tmp_path)
    yield server
    server.stop()


def no_sleep(_: float) -> None:
    return None


def jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


# -- databricks-m2m --------------------------------------------------------------------------------


def dbx_source(idp: FakeIdPServer, **extra: str) -> DatabricksM2MSource:
    env = {
        "DATABRICKS_HOST": idp.url,
        "DATABRICKS_CLIENT_ID": CLIENT,
        "DATABRICKS_CLIENT_SECRET": CANARY_DATABRICKS_SECRET,
        "REQUESTS_CA_BUNDLE": idp.ca_bundle,
        **extra,
    }
    s = resolve_settings({}, env)
    return DatabricksM2MSource(s, http=HttpClient(verify=s.verify, sleep=no_sleep))


def test_databricks_m2m_client_credentials(idp: FakeIdPServer, clean_env: dict[str, str]) -> None:
    idp.script = [
        (200, {}, {"access_token": "dbx-at", "expires_in": 3600, "token_type": "Bearer", "scope": "all-apis"})
    ]
    source = dbx_source(idp)
    token = source.fetch()
    assert token.token == "dbx-at" and token.scopes == ("all-apis",)
    req = idp.requests[0]
    assert req["path"] == "/oidc/v1/token"
    assert req["form"] == {"grant_type": "client_credentials", "scope": "all-apis"}
    basic = base64.b64decode(str(req["authorization"]).split()[1]).decode()
    assert basic == f"{CLIENT}:{CANARY_DATABRICKS_SECRET}"  # client_secret_basic
    assert CANARY_DATABRICKS_SECRET not in source.describe()


def test_databricks_m2m_wrong_secret_is_classified_without_retry(
    idp: FakeIdPServer, clean_env: dict[str, str]
) -> None:
    idp.script = [(401, {}, {"error": "invalid_client", "error_description": "Client authentication failed"})]
    with pytest.raises(InvalidClientError) as info:
        dbx_source(idp).fetch()
    assert info.value.code == "BA240" and idp.count() == 1


def test_databricks_m2m_503_is_retried(idp: FakeIdPServer, clean_env: dict[str, str]) -> None:
    idp.script = [
        (503, {}, {}),
        (429, {"Retry-After": "1"}, {}),
        (200, {}, {"access_token": "x", "expires_in": 60}),
    ]
    assert dbx_source(idp).fetch().token == "x"
    assert idp.count() == 3


def test_databricks_m2m_persistent_503_is_transient(idp: FakeIdPServer, clean_env: dict[str, str]) -> None:
    idp.script = [(503, {}, {})]
    with pytest.raises(IdentityProviderError) as info:
        dbx_source(idp).fetch()
    assert info.value.transient and info.value.code == "BA250"


# -- azure-m2m -------------------------------------------------------------------------------------


def entra_handler(idp: FakeIdPServer, answers: list[tuple[int, dict[str, Any]]]) -> Any:
    def handle(environ: dict[str, Any], form: dict[str, str]) -> tuple[int, dict[str, str], object]:
        path = environ["PATH_INFO"]
        if path.endswith("/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            base = f"{idp.url}/{tenant}"
            return (
                200,
                {},
                {
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"{base}/v2.0",
                },
            )
        if path.endswith("/oauth2/v2.0/token"):
            status, body = answers.pop(0) if len(answers) > 1 else answers[0]
            return status, {}, body
        return 404, {}, {"error": "not_found"}

    return handle


def ok_token(n: int = 1) -> tuple[int, dict[str, Any]]:
    return 200, {"access_token": f"entra-at-{n}", "expires_in": 3599, "token_type": "Bearer"}


def az_source(idp: FakeIdPServer, **env: str) -> AzureM2MSource:
    base = {
        "DATABRICKS_HOST": "adb-1.2.azuredatabricks.net",
        "AZURE_AUTHORITY_HOST": idp.url,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "REQUESTS_CA_BUNDLE": idp.ca_bundle,
    }
    s = resolve_settings({}, {**base, **env})
    return AzureM2MSource(s, http=HttpClient(verify=s.verify, sleep=no_sleep))


def token_requests(idp: FakeIdPServer) -> list[dict[str, Any]]:
    return [r for r in idp.requests if str(r["path"]).endswith("/token")]


def test_azure_m2m_secret_bypasses_msal_cache(idp: FakeIdPServer, clean_env: dict[str, str]) -> None:
    idp.handler = entra_handler(idp, [ok_token(1), ok_token(2)])
    source = az_source(idp, AZURE_CLIENT_SECRET=CANARY_ENTRA_SECRET)
    assert source.fetch().token == "entra-at-1"
    assert source.fetch().token == "entra-at-2"  # msal's cache would have answered entra-at-1
    reqs = token_requests(idp)
    assert len(reqs) == 2
    form = reqs[0]["form"]
    assert form["grant_type"] == "client_credentials" and form["client_id"] == CLIENT
    assert form["scope"] == "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
    assert form["client_secret"] == CANARY_ENTRA_SECRET
    assert str(reqs[0]["path"]) == f"/{TENANT}/oauth2/v2.0/token"
    assert "client_secret" in source.describe() and CANARY_ENTRA_SECRET not in source.describe()


def test_azure_m2m_certificate_assertion(
    idp: FakeIdPServer, clean_env: dict[str, str], tmp_path: Path
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    idp.handler = entra_handler(idp, [ok_token()])
    cert_path = make_cert(tmp_path)
    source = az_source(idp, AZURE_CLIENT_CERTIFICATE_PATH=str(cert_path))
    assert source.fetch().token == "entra-at-1"
    form = token_requests(idp)[0]["form"]
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header = jwt_part(form["client_assertion"], 0)
    der = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_bytes(serialization.Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")
    assert header["x5t"].rstrip("=") == expected
    assert jwt_part(form["client_assertion"], 1)["sub"] == CLIENT


def test_azure_m2m_federated_file_is_reread(
    idp: FakeIdPServer, clean_env: dict[str, str], tmp_path: Path
) -> None:
    idp.handler = entra_handler(idp, [ok_token(1), ok_token(2)])
    token_file = tmp_path / "fed-token"
    token_file.write_text("aaa.bbb.ccc\n")
    source = az_source(idp, AZURE_FEDERATED_TOKEN_FILE=str(token_file))
    source.fetch()
    token_file.write_text("ddd.eee.fff")  # the platform rotated it
    source.fetch()
    forms = [r["form"] for r in token_requests(idp)]
    assert [f["client_assertion"] for f in forms] == ["aaa.bbb.ccc", "ddd.eee.fff"]


def test_azure_m2m_wrong_secret_classified_no_retry(idp: FakeIdPServer, clean_env: dict[str, str]) -> None:
    body = {
        "error": "invalid_client",
        "error_codes": [7000215],
        "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
        "in the request is the client secret value, not the client secret ID.\r\nTrace ID: 1",
    }
    idp.handler = entra_handler(idp, [(401, body)])
    with pytest.raises(InvalidClientError) as info:
        az_source(idp, AZURE_CLIENT_SECRET=CANARY_ENTRA_SECRET).fetch()
    assert info.value.code == "BA211" and len(token_requests(idp)) == 1


def test_azure_m2m_503_retried_inside_msal_call(idp: FakeIdPServer, clean_env: dict[str, str]) -> None:
    idp.handler = entra_handler(idp, [(503, {}), (503, {}), ok_token()])
    assert az_source(idp, AZURE_CLIENT_SECRET=CANARY_ENTRA_SECRET).fetch().token == "entra-at-1"
    assert len(token_requests(idp)) == 3


def test_azure_m2m_unknown_tenant(idp: FakeIdPServer, clean_env: dict[str, str]) -> None:
    def handle(environ: dict[str, Any], form: dict[str, str]) -> tuple[int, dict[str, str], object]:
        return (
            400,
            {},
            {
                "error": "invalid_tenant",
                "error_codes": [90002],
                "error_description": f"AADSTS90002: Tenant '{TENANT}' not found.",
            },
        )

    idp.handler = handle
    with pytest.raises(IdentityProviderError) as info:
        az_source(idp, AZURE_CLIENT_SECRET=CANARY_ENTRA_SECRET).fetch()
    assert info.value.code == "BA214", str(info.value)


def test_no_secret_in_debug_logs(
    idp: FakeIdPServer,
    clean_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import brickauth

    idp.handler = entra_handler(idp, [ok_token()])
    with caplog.at_level(logging.DEBUG):
        p = brickauth.credentials_provider(
            "azure-m2m",
            "adb-1.2.azuredatabricks.net",
            authority_host=idp.url,
            tenant_id=TENANT,
            client_id=CLIENT,
            client_secret=CANARY_ENTRA_SECRET,
            ca_bundle=idp.ca_bundle,
        )
        assert p()()["authorization"] == "Bearer entra-at-1"  # the connector's shape (brickauth.exchange)
        repr(p), str(p.settings), p.settings.describe()
    out, err = capfd.readouterr()
    assert caplog.records, "expected debug logs"
    for text in (caplog.text, out, err, repr(p), repr(p.settings)):
        assert CANARY_ENTRA_SECRET not in text
