"""The Entra ID emulator driven by real msal over TLS: happy paths and every AADSTS error by its cause.

Each test builds a fresh ``EntraService`` (own directory, own clock) behind one HTTPS server, and a fresh
msal application object per case (msal caches HTTP 400 answers per application object).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from brickauth.clock import FakeClock
from brickauth_sandbox.entra.app import EntraService
from brickauth_sandbox.entra.model import (
    AZURE_CLI_CLIENT_ID,
    AZURE_DATABRICKS_RESOURCE_ID,
    ClientCertificate,
    FederatedCredential,
)
from brickauth_sandbox.lifetimes import TokenLifetimes
from brickauth_sandbox.server import HttpsServer, pick_loopback_address
from brickauth_sandbox.signing import SigningKey
from brickauth_sandbox.tls import CertificateAuthority, self_signed_certificate

DBX = AZURE_DATABRICKS_RESOURCE_ID
DBX_DEFAULT = f"{DBX}/.default"
DBX_USER = f"{DBX}/user_impersonation"
KEY = SigningKey.generate()


# ---------------------------------------------------------------------------------------- harness


class _Dispatch:
    """The server's WSGI app: forwards to the current test's EntraService and records log fields."""

    def __init__(self) -> None:
        self.app: EntraService | None = None
        self.logged: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        fields: dict[str, Any] = {}
        environ["brickauth.log"] = fields
        self.logged.append(fields)
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass
class Server:
    base_url: str
    dispatch: _Dispatch
    bundle: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    host = pick_loopback_address()
    ca = CertificateAuthority.create(tmp_path_factory.mktemp("ca"))
    cert = ca.issue([host])
    bundle = ca.write_ca_bundle()
    dispatch = _Dispatch()
    with HttpsServer(dispatch, host, 443, cert.ssl_context(), name="entra-test") as httpd:
        yield Server(base_url=httpd.url, dispatch=dispatch, bundle=str(bundle))


@dataclass
class World:
    entra: EntraService
    clock: FakeClock
    base_url: str
    dispatch: _Dispatch

    def authority(self, tenant: str) -> str:
        return f"{self.base_url}/{tenant}"


@pytest.fixture
def world(server: Server, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.bundle)
    monkeypatch.setenv("SSL_CERT_FILE", server.bundle)
    clock = FakeClock(start=time.time())  # msal stamps client assertions with the real time
    entra = EntraService(base_url=server.base_url, signing_key=KEY, clock=clock, lifetimes=TokenLifetimes())
    server.dispatch.app = entra
    server.dispatch.logged.clear()
    return World(entra=entra, clock=clock, base_url=server.base_url, dispatch=server.dispatch)


@dataclass
class Directory:
    tenant: Any
    web: Any  # confidential app, Web redirect, a secret
    secret: Any
    native: Any  # public client app, Mobile-and-desktop redirect, public client flows allowed
    user: Any
    password: str


@pytest.fixture
def d(world: World) -> Directory:
    e = world.entra
    tenant = e.add_tenant(display_name="Contoso")
    web = e.add_app(tenant, "dbt-prod", redirect_uris=[("https://app.contoso.com/callback", "web")])
    secret = e.add_secret(web)
    native = e.add_app(
        tenant,
        "brickauth-cli",
        redirect_uris=[("http://localhost", "mobile_desktop")],
        public_client_flows=True,
    )
    e.grant_admin_consent(tenant, native)
    user = e.add_user(tenant, f"alice@{tenant.domain}", "Correct-Horse-1")
    return Directory(tenant, web, secret, native, user, "Correct-Horse-1")


def cca(
    world: World, tenant: str, client_id: str, credential: Any, **kw: Any
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=world.authority(tenant),
        instance_discovery=False,
        **kw,
    )


def pca(world: World, tenant: str, client_id: str, **kw: Any) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        client_id, authority=world.authority(tenant), instance_discovery=False, **kw
    )


def codes(result: dict[str, Any] | None) -> list[int]:
    assert result is not None
    return list(result.get("error_codes", []))


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "ids": set()})
        elif tag in ("input", "button") and self.forms:
            self.forms[-1]["ids"].add(a.get("id", ""))
            if a.get("type") == "hidden":
                self.forms[-1]["fields"][a["name"]] = a.get("value", "")


def parse_form(html: str) -> dict[str, Any]:
    p = _Forms()
    p.feed(html)
    assert p.forms, f"no form in page: {html[:500]}"
    return p.forms[0]


class Browser:
    """Fills the emulator's pages with plain HTTP (the headless Chromium test does it for real)."""

    def __init__(self) -> None:
        self.s = requests.Session()
        self.last: requests.Response | None = None

    def get(self, url: str) -> requests.Response:
        self.last = self.s.get(url, allow_redirects=False, timeout=10)
        return self.last

    def submit(self, data: dict[str, str]) -> requests.Response:
        assert self.last is not None
        form = parse_form(self.last.text)
        self.last = self.s.post(
            urljoin(self.last.url, form["action"]),
            data={**form["fields"], **data},
            allow_redirects=False,
            timeout=10,
        )
        return self.last

    def page_ids(self) -> set[str]:
        assert self.last is not None
        return set(parse_form(self.last.text)["ids"])


def sign_in(
    auth_uri: str, upn: str, password: str, *, otc: str | None = None, consent: str | None = None
) -> requests.Response:
    """Walks sign-in (and MFA, consent when shown); returns the last response (a redirect when it worked)."""
    b = Browser()
    r = b.get(auth_uri)
    if r.status_code != 200 or "i0116" not in r.text:
        return r
    r = b.submit({"loginfmt": upn, "passwd": password})
    if r.status_code == 200 and "idTxtBx_SAOTCC_OTC" in r.text:
        assert otc is not None, "MFA page shown"
        r = b.submit({"otc": otc})
    if r.status_code == 200 and "Permissions requested" in r.text:
        assert consent is not None, "consent page shown"
        r = b.submit({"decision": consent})
    return r


def redirect_params(r: requests.Response) -> dict[str, str]:
    assert r.status_code == 302, r.text[:800]
    loc = r.headers["Location"]
    parts = urlsplit(loc)
    return dict(parse_qsl(parts.fragment or parts.query))


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def auth_code_login(
    world: World, d: Directory, app: msal.ClientApplication, redirect_uri: str, **kw: Any
) -> dict[str, Any]:
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri=redirect_uri)
    r = sign_in(flow["auth_uri"], d.user.upn, d.password, **kw)
    result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, redirect_params(r))
    return result


def make_cert(cn: str = "brickauth-test", days: int = 30) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return self_signed_certificate(cn, days=days)


def pem_key(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def register_cert(app: Any, cert: x509.Certificate) -> str:
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der).hexdigest()
    app.certificates.append(
        ClientCertificate(thumbprint_sha1_hex=sha1, public_pem=cert.public_bytes(serialization.Encoding.PEM))
    )
    return sha1


# -------------------------------------------------------------------------------------- discovery


def test_discovery_jwks_and_tenant_by_domain(world: World, d: Directory) -> None:
    s = requests.Session()
    for seg in (d.tenant.tenant_id, d.tenant.domain, d.tenant.domain.upper()):
        cfg = s.get(f"{world.base_url}/{seg}/v2.0/.well-known/openid-configuration", timeout=10).json()
        assert cfg["issuer"] == f"{world.base_url}/{d.tenant.tenant_id}/v2.0"
        assert cfg["token_endpoint"] == f"{world.base_url}/{d.tenant.tenant_id}/oauth2/v2.0/token"
    common = s.get(f"{world.base_url}/organizations/v2.0/.well-known/openid-configuration", timeout=10).json()
    assert common["issuer"] == f"{world.base_url}/{{tenantid}}/v2.0"
    v1 = s.get(f"{world.base_url}/{d.tenant.tenant_id}/.well-known/openid-configuration", timeout=10).json()
    assert v1["issuer"] == f"https://sts.windows.net/{d.tenant.tenant_id}/"
    keys = s.get(cfg["jwks_uri"], timeout=10).json()["keys"]
    assert keys[0]["kid"] == KEY.kid and keys[0]["kty"] == "RSA"
    inst = s.get(
        f"{world.base_url}/common/discovery/instance",
        timeout=10,
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"{world.base_url}/{d.tenant.tenant_id}/oauth2/v2.0/authorize",
        },
    )
    assert inst.json()["tenant_discovery_endpoint"].endswith(
        f"/{d.tenant.tenant_id}/v2.0/.well-known/openid-configuration"
    )
    assert world.entra.issuer_v1(d.tenant.tenant_id) == f"https://sts.windows.net/{d.tenant.tenant_id}/"
    assert world.entra.issuer_v2(d.tenant.tenant_id) == f"{world.base_url}/{d.tenant.tenant_id}/v2.0"


def _discovery_error(exc: pytest.ExceptionInfo[ValueError]) -> dict[str, Any]:
    """msal wraps a failed OIDC discovery in ValueError; the original (chained) one carries Entra's body."""
    inner = exc.value.__context__
    assert inner is not None
    text = str(inner)
    body: dict[str, Any] = json.loads(text[text.index("{") :])
    return body


def test_90002_unknown_tenant(world: World, d: Directory) -> None:
    missing = "0a0b0c0d-1111-2222-3333-444455556666"
    with pytest.raises(ValueError, match="Unable to get authority configuration") as exc:
        cca(world, missing, d.web.app_id, d.secret.value)
    body = _discovery_error(exc)
    assert body["error_codes"] == [90002] and body["error"] == "invalid_tenant"
    assert body["error_description"].startswith(f"AADSTS90002: Tenant '{missing}' not found.")
    # The token endpoint answers the same way to a client that skips discovery.
    r = requests.post(
        f"{world.base_url}/nosuch.onmicrosoft.com/oauth2/v2.0/token",
        timeout=10,
        data={"grant_type": "client_credentials", "client_id": d.web.app_id},
    )
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]


def test_900023_malformed_tenant(world: World, d: Directory) -> None:
    # A tenant "name" without its domain (contoso instead of contoso.onmicrosoft.com), or a truncated GUID.
    for bad in ("contoso", d.tenant.tenant_id[:-1]):
        with pytest.raises(ValueError) as exc:
            cca(world, bad, d.web.app_id, d.secret.value)
        body = _discovery_error(exc)
        assert body["error_codes"] == [900023]
        assert f"Specified tenant identifier '{bad}' is neither a valid DNS name" in body["error_description"]


# ----------------------------------------------------------------------------- client credentials


def test_client_credentials_secret_token_shape(world: World, d: Directory) -> None:
    world.entra.lifetimes.access_token_seconds = 1234
    result = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.value).acquire_token_for_client(
        [DBX_DEFAULT]
    )
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer" and result["expires_in"] == 1234
    c = KEY.verify(
        result["access_token"], audience=DBX, issuer=f"https://sts.windows.net/{d.tenant.tenant_id}/"
    )
    assert c["appid"] == d.web.app_id and c["tid"] == d.tenant.tenant_id and c["ver"] == "1.0"
    assert c["oid"] == d.web.sp_object_id and c["appidacr"] == "1" and c["exp"] - c["iat"] == 1234
    assert "scp" not in c and "upn" not in c
    log = [f for f in world.dispatch.logged if f.get("grant_type") == "client_credentials"]
    assert log and log[-1]["client_id"] == d.web.app_id and log[-1]["principal"] == d.web.app_id
    assert log[-1]["tenant"] == d.tenant.tenant_id


def test_client_credentials_by_domain_and_app_roles(world: World, d: Directory) -> None:
    d.web.app_role_assignments[DBX] = {"Reader"}
    result = cca(world, d.tenant.domain, d.web.app_id, d.secret.value).acquire_token_for_client([DBX_DEFAULT])
    assert claims(result["access_token"])["roles"] == ["Reader"]


def test_700016_app_not_in_tenant(world: World, d: Directory) -> None:
    other = world.entra.add_tenant(display_name="Fabrikam")
    result = cca(world, other.tenant_id, d.web.app_id, d.secret.value).acquire_token_for_client([DBX_DEFAULT])
    assert codes(result) == [700016] and result["error"] == "unauthorized_client"
    assert (
        f"Application with identifier '{d.web.app_id}' was not found in the directory 'Fabrikam'"
        in (result["error_description"])
    )


def test_7000215_secret_id_instead_of_value(world: World, d: Directory) -> None:
    result = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.secret_id).acquire_token_for_client(
        [DBX_DEFAULT]
    )
    assert codes(result) == [7000215] and result["error"] == "invalid_client"
    assert "not the client secret ID" in result["error_description"]


def test_7000222_secret_expired(world: World, d: Directory) -> None:
    world.clock.advance(366 * 86400)  # the secret was made with a one-year expiry
    result = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.value).acquire_token_for_client(
        [DBX_DEFAULT]
    )
    assert codes(result) == [7000222]
    assert f"client secret keys for app '{d.web.app_id}' are expired" in result["error_description"]


def test_7000218_confidential_app_without_credential(world: World, d: Directory) -> None:
    # Device code flow for an app whose "Allow public client flows" is off.
    app = pca(world, d.tenant.tenant_id, d.web.app_id)
    flow = app.initiate_device_flow([DBX_USER])
    assert "user_code" in flow, flow
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert codes(result) == [7000218] and result["error"] == "invalid_client"
    # Authorization code for a Web redirect URI, redeemed by a public client (no secret).
    d.web.redirect_uris[0].uri = "http://localhost/web"
    public = pca(world, d.tenant.tenant_id, d.web.app_id)
    world.entra.grant_admin_consent(d.tenant, d.web)
    result = auth_code_login(world, d, public, "http://localhost/web")
    assert codes(result) == [7000218]
    assert "'client_assertion' or 'client_secret'" in result["error_description"]


def test_500011_resource_not_in_tenant(world: World, d: Directory) -> None:
    typo = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1e"
    result = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.value).acquire_token_for_client(
        [f"{typo}/.default"]
    )
    assert codes(result) == [500011] and result["error"] == "invalid_resource"
    assert (
        f"The resource principal named {typo} was not found in the tenant named Contoso"
        in result["error_description"]
    )
    d.tenant.resource_apps.discard(DBX)  # Azure Databricks never provisioned in this tenant
    result = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.value).acquire_token_for_client(
        [DBX_DEFAULT]
    )
    assert codes(result) == [500011]


def test_70011_scope_malformed(world: World, d: Directory) -> None:
    # An empty resource variable: f"{resource}/.default" -> "/.default".
    result = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.value).acquire_token_for_client(
        ["/.default"]
    )
    assert codes(result) == [70011] and result["error"] == "invalid_scope"
    assert "The scope format is invalid" in result["error_description"]
    # A delegated permission in a client credentials request.
    result = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.value).acquire_token_for_client([DBX_USER])
    assert codes(result) == [1002012]


def test_certificate_assertion_sha256_and_sha1(world: World, d: Directory) -> None:
    key, cert = make_cert()
    sha1 = register_cert(d.web, cert)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    # msal >= 1.29 signs PS256 with x5t#S256 when given the certificate.
    result = cca(
        world, d.tenant.tenant_id, d.web.app_id, {"private_key": pem_key(key), "public_certificate": cert_pem}
    ).acquire_token_for_client([DBX_DEFAULT])
    assert claims(result["access_token"])["appidacr"] == "2", result
    # Older configurations give only the SHA-1 thumbprint: RS256 with x5t.
    result = cca(
        world, d.tenant.tenant_id, d.web.app_id, {"private_key": pem_key(key), "thumbprint": sha1}
    ).acquire_token_for_client([DBX_DEFAULT])
    assert "access_token" in result, result
    # A certificate that was never uploaded to the app registration.
    other_key, other_cert = make_cert("other")
    result = cca(
        world,
        d.tenant.tenant_id,
        d.web.app_id,
        {
            "private_key": pem_key(other_key),
            "public_certificate": other_cert.public_bytes(serialization.Encoding.PEM).decode(),
        },
    ).acquire_token_for_client([DBX_DEFAULT])
    assert codes(result) == [700027]


def test_700024_assertion_outside_time_range(world: World, d: Directory) -> None:
    key, cert = make_cert()
    register_cert(d.web, cert)
    # The client machine's clock is two hours behind: msal's assertion (valid 10 min) is already expired.
    world.clock.advance(2 * 3600)
    result = cca(
        world,
        d.tenant.tenant_id,
        d.web.app_id,
        {
            "private_key": pem_key(key),
            "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        },
    ).acquire_token_for_client([DBX_DEFAULT])
    assert codes(result) == [700024] and result["error"] == "invalid_client"
    assert "Client assertion is not within its valid time range" in result["error_description"]


GITHUB = "https://token.actions.githubusercontent.com"


def _github_token(key: rsa.RSAPrivateKey, sub: str, *, aud: str = "api://AzureADTokenExchange") -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": GITHUB, "sub": sub, "aud": aud, "iat": now, "nbf": now, "exp": now + 300},
        key,
        algorithm="RS256",
        headers={"kid": "gh1"},
    )


def test_federated_credential_and_7002138_subject_case(world: World, d: Directory) -> None:
    gh_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    world.entra.trust_federated_issuer(GITHUB, gh_key.public_key())
    d.web.federated_credentials.append(
        FederatedCredential(issuer=GITHUB, subject="repo:Contoso/Data-Platform:ref:refs/heads/main")
    )
    ok = cca(
        world,
        d.tenant.tenant_id,
        d.web.app_id,
        {"client_assertion": lambda: _github_token(gh_key, "repo:Contoso/Data-Platform:ref:refs/heads/main")},
    )
    result = ok.acquire_token_for_client([DBX_DEFAULT])
    assert claims(result["access_token"])["appidacr"] == "2", result
    # The credential was typed with the repository in lower case; GitHub sends the real casing.
    lower = cca(
        world,
        d.tenant.tenant_id,
        d.web.app_id,
        {"client_assertion": lambda: _github_token(gh_key, "repo:contoso/data-platform:ref:refs/heads/main")},
    )
    result = lower.acquire_token_for_client([DBX_DEFAULT])
    assert codes(result) == [7002138]
    assert (
        "matches with case-insensitive comparison, but not with case-sensitive" in result["error_description"]
    )
    # A workflow on another branch: no credential for that subject.
    branch = cca(
        world,
        d.tenant.tenant_id,
        d.web.app_id,
        {"client_assertion": lambda: _github_token(gh_key, "repo:Contoso/Data-Platform:ref:refs/heads/dev")},
    )
    assert codes(branch.acquire_token_for_client([DBX_DEFAULT])) == [700213]
    # An assertion minted for another audience.
    aud = cca(
        world,
        d.tenant.tenant_id,
        d.web.app_id,
        {
            "client_assertion": lambda: _github_token(
                gh_key, "repo:Contoso/Data-Platform:ref:refs/heads/main", aud="https://github.com/Contoso"
            )
        },
    )
    assert codes(aud.acquire_token_for_client([DBX_DEFAULT])) == [700212]
    # Signed by a key the issuer never published.
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = cca(
        world,
        d.tenant.tenant_id,
        d.web.app_id,
        {"client_assertion": lambda: _github_token(rogue, "repo:Contoso/Data-Platform:ref:refs/heads/main")},
    )
    assert forged.acquire_token_for_client([DBX_DEFAULT])["error"] == "invalid_client"


# ----------------------------------------------------------------------------------- users (ROPC)


def ropc(
    world: World,
    d: Directory,
    upn: str,
    password: str,
    *,
    tenant: str | None = None,
    client_id: str | None = None,
) -> dict[str, Any]:
    app = pca(world, tenant or d.tenant.tenant_id, client_id or d.native.app_id)
    result: dict[str, Any] = app.acquire_token_by_username_password(upn, password, scopes=[DBX_USER])
    return result


def test_password_grant_user_token_shape(world: World, d: Directory) -> None:
    result = ropc(world, d, d.user.upn, d.password)
    assert "access_token" in result, result
    c = KEY.verify(
        result["access_token"], audience=DBX, issuer=f"https://sts.windows.net/{d.tenant.tenant_id}/"
    )
    assert c["upn"] == d.user.upn and c["scp"] == "user_impersonation" and c["appid"] == d.native.app_id
    assert c["oid"] == d.user.object_id and c["appidacr"] == "0" and c["amr"] == ["pwd"]
    assert result["id_token_claims"]["preferred_username"] == d.user.upn
    assert set(result["scope"].split()) >= {DBX_USER}
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert info == {"uid": d.user.object_id, "utid": d.tenant.tenant_id}
    assert "refresh_token" in result


def test_50034_user_does_not_exist(world: World, d: Directory) -> None:
    result = ropc(world, d, f"bob@{d.tenant.domain}", "whatever")
    assert codes(result) == [50034]
    assert f"The user account bob@{d.tenant.domain} does not exist" in result["error_description"]


def test_50126_bad_password(world: World, d: Directory) -> None:
    result = ropc(world, d, d.user.upn, "correct-horse-1")
    assert codes(result) == [50126] and result["error"] == "invalid_grant"


def test_50020_user_from_another_tenant(world: World, d: Directory) -> None:
    other = world.entra.add_tenant(display_name="Fabrikam")
    outsider = world.entra.add_user(other, f"eve@{other.domain}", "Pw-1")
    result = ropc(world, d, outsider.upn, "Pw-1")
    assert codes(result) == [50020]
    assert (
        f"User account '{outsider.upn}' from identity provider 'https://sts.windows.net/{other.tenant_id}/'"
        in (result["error_description"])
    )
    outsider.guest_of.add(d.tenant.tenant_id)  # invited as a guest: now it works, with a guest token
    result = ropc(world, d, outsider.upn, "Pw-1")
    c = claims(result["access_token"])
    assert c["tid"] == d.tenant.tenant_id and "upn" not in c and c["unique_name"] == outsider.upn
    assert c["idp"] == f"https://sts.windows.net/{other.tenant_id}/"


def test_53003_conditional_access_location(world: World, d: Directory) -> None:
    d.tenant.trusted_locations = ["10.20.0.0/16"]  # corporate network only; we come from loopback
    result = ropc(world, d, d.user.upn, d.password)
    assert codes(result) == [53003]
    d.tenant.trusted_locations = ["127.0.0.0/8"]
    assert "access_token" in ropc(world, d, d.user.upn, d.password)


def test_50076_mfa_required(world: World, d: Directory) -> None:
    d.user.mfa_required = True
    result = ropc(world, d, d.user.upn, d.password)
    assert codes(result) == [50076] and result.get("suberror") == "basic_action"
    assert "you must use multi-factor authentication to access" in result["error_description"]


def test_50076_after_mfa_enforced_on_refresh(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    first = app.acquire_token_by_username_password(d.user.upn, d.password, scopes=[DBX_USER])
    d.user.mfa_required = True  # the admin enforces MFA after the user signed in
    result = app.acquire_token_by_refresh_token(first["refresh_token"], scopes=[DBX_USER])
    assert codes(result) == [50076]


def test_65001_consent_missing(world: World, d: Directory) -> None:
    fresh = world.entra.add_app(
        d.tenant, "new-tool", redirect_uris=[("http://localhost", "mobile_desktop")], public_client_flows=True
    )
    result = ropc(world, d, d.user.upn, d.password, client_id=fresh.app_id)
    assert codes(result) == [65001] and result.get("suberror") == "consent_required"
    assert (
        f"has not consented to use the application with ID '{fresh.app_id}' named 'new-tool'"
        in (result["error_description"])
    )
    # Consent revoked after sign-in: the refresh fails the same way.
    world.entra.grant_admin_consent(d.tenant, fresh)
    app = pca(world, d.tenant.tenant_id, fresh.app_id)
    first = app.acquire_token_by_username_password(d.user.upn, d.password, scopes=[DBX_USER])
    world.entra.revoke_consent(d.tenant, fresh)
    assert codes(app.acquire_token_by_refresh_token(first["refresh_token"], scopes=[DBX_USER])) == [65001]


def test_azure_cli_client_and_organizations_authority(world: World, d: Directory) -> None:
    result = ropc(world, d, d.user.upn, d.password, tenant="organizations", client_id=AZURE_CLI_CLIENT_ID)
    assert claims(result["access_token"])["tid"] == d.tenant.tenant_id, result
    # A single-tenant app cannot use /organizations.
    result = ropc(world, d, d.user.upn, d.password, tenant="organizations")
    assert codes(result) == [50194]


# --------------------------------------------------------------------------------- refresh tokens


def test_refresh_and_700082_inactivity(world: World, d: Directory) -> None:
    world.entra.lifetimes.refresh_token_inactivity_seconds = 3600
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    first = auth_code_login(world, d, app, "http://localhost:53117")
    assert "refresh_token" in first, first
    world.clock.advance(1800)
    second = app.acquire_token_by_refresh_token(first["refresh_token"], scopes=[DBX_USER])
    assert "access_token" in second, second
    world.clock.advance(3601)
    result = pca(world, d.tenant.tenant_id, d.native.app_id).acquire_token_by_refresh_token(
        second["refresh_token"], scopes=[DBX_USER]
    )
    assert codes(result) == [700082]
    assert "The refresh token has expired due to inactivity" in result["error_description"]
    assert "was inactive for 01:00:00" in result["error_description"]


def test_acquire_token_silent_uses_cached_account(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    first = auth_code_login(world, d, app, "http://localhost:40000")
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == [d.user.upn]
    again = app.acquire_token_silent_with_error([DBX_USER], account=accounts[0], force_refresh=True)
    assert again and again["access_token"] != first["access_token"]


def test_50173_password_reset_revokes_refresh_tokens(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    first = auth_code_login(world, d, app, "http://localhost:40001")
    world.clock.advance(60)
    world.entra.reset_password(d.user, "New-Password-2")
    result = pca(world, d.tenant.tenant_id, d.native.app_id).acquire_token_by_refresh_token(
        first["refresh_token"], scopes=[DBX_USER]
    )
    assert codes(result) == [50173]
    assert "The user might have changed or reset their password" in result["error_description"]


def _origin_session(origin: str) -> requests.Session:
    s = requests.Session()
    s.headers["Origin"] = origin
    return s


def test_spa_flow_and_700084_fixed_lifetime(world: World, d: Directory) -> None:
    spa = world.entra.add_app(d.tenant, "notebook-ui", redirect_uris=[("https://ui.contoso.com/", "spa")])
    world.entra.grant_admin_consent(d.tenant, spa)
    browser_like = _origin_session("https://ui.contoso.com")
    app = pca(world, d.tenant.tenant_id, spa.app_id, http_client=browser_like)
    first = auth_code_login(world, d, app, "https://ui.contoso.com/")
    assert "refresh_token" in first and first.get("refresh_token_expires_in") == 86400, first
    world.clock.advance(23 * 3600)
    assert "access_token" in app.acquire_token_by_refresh_token(first["refresh_token"], scopes=[DBX_USER])
    world.clock.advance(3601)  # 24 h after sign-in, however recently the token was used
    result = pca(
        world, d.tenant.tenant_id, spa.app_id, http_client=_origin_session("https://ui.contoso.com")
    ).acquire_token_by_refresh_token(first["refresh_token"], scopes=[DBX_USER])
    assert codes(result) == [700084]


def test_9002326_and_9002327_cross_origin_rules(world: World, d: Directory) -> None:
    # A browser app registered with a Mobile-and-desktop (not SPA) redirect: its Origin header is refused.
    browser_like = _origin_session("http://localhost:3000")
    app = pca(world, d.tenant.tenant_id, d.native.app_id, http_client=browser_like)
    result = auth_code_login(world, d, app, "http://localhost:3000")
    assert codes(result) == [9002326]
    assert (
        "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type"
        in (result["error_description"])
    )
    # The reverse: a SPA redirect redeemed by a non-browser client (no Origin).
    spa = world.entra.add_app(d.tenant, "spa", redirect_uris=[("http://localhost:5173", "spa")])
    world.entra.grant_admin_consent(d.tenant, spa)
    result = auth_code_login(world, d, pca(world, d.tenant.tenant_id, spa.app_id), "http://localhost:5173")
    assert codes(result) == [9002327]


# ----------------------------------------------------------------------------- authorization code


def test_auth_code_confidential_web_app(world: World, d: Directory) -> None:
    world.entra.grant_admin_consent(d.tenant, d.web)
    app = cca(world, d.tenant.tenant_id, d.web.app_id, d.secret.value)
    result = auth_code_login(world, d, app, "https://app.contoso.com/callback")
    c = claims(result["access_token"])
    assert c["appidacr"] == "1" and c["upn"] == d.user.upn, result


def test_50011_redirect_uri_not_registered(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="https://localhost:8020/callback")
    page = requests.get(flow["auth_uri"], timeout=10, allow_redirects=False)
    assert page.status_code == 400 and "Sorry, but we\u2019re having trouble signing you in." in page.text
    assert "AADSTS50011: The redirect URI &#x27;https://localhost:8020/callback&#x27; specified" in page.text
    # And at the token endpoint, for a code redeemed with an unregistered redirect URI.
    result = app.acquire_token_by_authorization_code(
        "any-code", [DBX_USER], redirect_uri="https://evil.example/cb"
    )
    assert codes(result) == [50011]


def test_code_replay_54005_and_pkce_501481(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40002")
    params = redirect_params(sign_in(flow["auth_uri"], d.user.upn, d.password))
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), params)
    replay = pca(world, d.tenant.tenant_id, d.native.app_id).acquire_token_by_auth_code_flow(
        dict(flow), params
    )
    assert codes(replay) == [54005]
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40002")
    params = redirect_params(sign_in(flow["auth_uri"], d.user.upn, d.password))
    flow["code_verifier"] = "x" * 64  # a verifier from another login attempt
    assert codes(
        pca(world, d.tenant.tenant_id, d.native.app_id).acquire_token_by_auth_code_flow(flow, params)
    ) == [501481]


def test_mfa_page_then_token_has_mfa_amr(world: World, d: Directory) -> None:
    d.user.mfa_required = True
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40003")
    b = Browser()
    b.get(flow["auth_uri"])
    r = b.submit({"loginfmt": d.user.upn, "passwd": d.password})
    assert "Enter code" in r.text
    r = b.submit({"otc": "000000"})
    assert "didn&#x27;t enter the expected verification code" in r.text
    r = b.submit({"otc": d.user.mfa_code})
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(r))
    assert claims(result["access_token"])["amr"] == ["pwd", "mfa"]


def test_consent_page_user_consent_and_cancel(world: World, d: Directory) -> None:
    tool = world.entra.add_app(d.tenant, "Fancy BI", redirect_uris=[("http://localhost", "mobile_desktop")])
    app = pca(world, d.tenant.tenant_id, tool.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40004")
    r = sign_in(flow["auth_uri"], d.user.upn, d.password, consent="cancel")
    params = redirect_params(r)
    assert params["error"] == "access_denied" and params["error_description"].startswith("AADSTS65004")
    assert params["state"] == flow["state"]
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40004")
    b = Browser()
    b.get(flow["auth_uri"])
    page = b.submit({"loginfmt": d.user.upn, "passwd": d.password})
    assert "Permissions requested" in page.text and "Have full access to Azure Databricks" in page.text
    assert "Fancy BI" in page.text and "idBtn_Back" in page.text
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(b.submit({"decision": "accept"})))
    assert "access_token" in result, result
    assert d.tenant.user_consent[(d.user.object_id, tool.app_id, DBX)] == {"user_impersonation"}
    # Consent is remembered: the next sign-in goes straight back to the app.
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40004")
    assert "code" in redirect_params(sign_in(flow["auth_uri"], d.user.upn, d.password))


def test_admin_consent_on_behalf_of_org_and_approval_required(world: World, d: Directory) -> None:
    d.tenant.users_may_consent = False
    tool = world.entra.add_app(d.tenant, "Fancy BI", redirect_uris=[("http://localhost", "mobile_desktop")])
    app = pca(world, d.tenant.tenant_id, tool.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40005")
    r = sign_in(flow["auth_uri"], d.user.upn, d.password)
    assert "AADSTS90094" in r.text
    admin = world.entra.add_user(d.tenant, f"admin@{d.tenant.domain}", "Adm-1", is_admin=True)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40005")
    b = Browser()
    b.get(flow["auth_uri"])
    b.submit({"loginfmt": admin.upn, "passwd": "Adm-1"})
    assert "ConsentForOrgCheckbox" in b.page_ids()
    r = b.submit({"decision": "accept", "ConsentForOrg": "true"})
    assert "code" in redirect_params(r)
    assert d.tenant.admin_consent[(tool.app_id, DBX)] == {"user_impersonation"}
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40005")
    assert "code" in redirect_params(sign_in(flow["auth_uri"], d.user.upn, d.password))


def test_sign_in_page_errors(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40006")
    r = sign_in(flow["auth_uri"], d.user.upn, "nope")
    assert "Your account or password is incorrect" in r.text and "AADSTS50126" in r.text
    r = sign_in(flow["auth_uri"], f"ghost@{d.tenant.domain}", "x")
    assert "This username may be incorrect" in r.text and "AADSTS50034" in r.text
    other = world.entra.add_tenant(display_name="Fabrikam")
    world.entra.add_user(other, f"eve@{other.domain}", "Pw-1")
    r = sign_in(flow["auth_uri"], f"eve@{other.domain}", "Pw-1")
    assert "Sorry, but we\u2019re having trouble signing you in." in r.text and "AADSTS50020" in r.text
    d.tenant.trusted_locations = ["10.0.0.0/8"]
    assert "AADSTS53003" in sign_in(flow["auth_uri"], d.user.upn, d.password).text
    # An unknown client never reaches the sign-in page.
    bad = flow["auth_uri"].replace(d.native.app_id, "11111111-2222-3333-4444-555555555555")
    assert "AADSTS700016" in requests.get(bad, timeout=10).text
    # A bad scope goes back to the app as an error on its redirect URI.
    flow2 = app.initiate_auth_code_flow(["/.default"], redirect_uri="http://localhost:40006")
    params = redirect_params(requests.get(flow2["auth_uri"], timeout=10, allow_redirects=False))
    assert params["error"] == "invalid_scope" and params["error_description"].startswith("AADSTS70011")


# ------------------------------------------------------------------------------------ device code


def _device_login(user_code: str, upn: str, password: str, base_url: str) -> requests.Response:
    b = Browser()
    b.get(f"{base_url}/devicelogin")
    r = b.submit({"otc": user_code})
    assert "i0116" in r.text, r.text[:500]
    return b.submit({"loginfmt": upn, "passwd": password})


def test_device_code_flow(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_device_flow([DBX_USER])
    assert (
        flow["verification_uri"] == f"{world.base_url}/devicelogin" and flow["user_code"] in flow["message"]
    )
    pending = app.acquire_token_by_device_flow(dict(flow), exit_condition=lambda f: True)
    assert pending["error"] == "authorization_pending" and codes(pending) == [70016]
    done = _device_login(flow["user_code"], d.user.upn, d.password, world.base_url)
    assert "You have signed in to the brickauth-cli application on your device" in done.text
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert claims(result["access_token"])["upn"] == d.user.upn, result


def test_device_code_expired(world: World, d: Directory) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_device_flow([DBX_USER])
    world.clock.advance(901)
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert result["error"] == "expired_token" and codes(result) == [70019]


def test_error_body_shape(world: World, d: Directory) -> None:
    r = requests.post(
        f"{world.base_url}/{d.tenant.tenant_id}/oauth2/v2.0/token",
        timeout=10,
        headers={"client-request-id": "9b3e3a5c-0000-4000-8000-000000000001"},
        data={
            "grant_type": "client_credentials",
            "client_id": d.web.app_id,
            "client_secret": "wrong",
            "scope": DBX_DEFAULT,
        },
    )
    body = r.json()
    assert r.status_code == 401 and set(body) == {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    assert body["correlation_id"] == "9b3e3a5c-0000-4000-8000-000000000001"
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=7000215"
    assert re.fullmatch(
        r"AADSTS7000215: .+\r\nTrace ID: [0-9a-f-]{36}\r\n"
        r"Correlation ID: 9b3e3a5c-0000-4000-8000-000000000001"
        r"\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ",
        body["error_description"],
        re.S,
    )
    assert body["error_description"].endswith(body["timestamp"])


# ----------------------------------------------------------------------------------- real browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


class _Loopback:
    """A one-shot RFC 8252 redirect listener on 127.0.0.1 (GET query or form_post body)."""

    def __init__(self) -> None:
        import http.server

        outer = self
        self.params: dict[str, str] = {}
        self.done = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def _finish(self, query: str) -> None:
                if not self.path.startswith("/callback") or outer.done.is_set():
                    self.send_error(404)  # the browser's /favicon.ico and the like
                    return
                outer.params = dict(parse_qsl(query))
                body = b"<html><body><h1 id='done'>Authentication complete.</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.done.set()

            def do_GET(self) -> None:
                self._finish(urlsplit(self.path).query)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self._finish(self.rfile.read(length).decode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Loopback:
        self.thread.start()
        return self

    def __exit__(self, *a: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chromium() -> Iterator[Any]:
    import os

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        context = browser.new_context(ignore_https_errors=True)
        try:
            yield context
        finally:
            context.close()
            browser.close()


@pytest.mark.browser
def test_browser_sign_in_mfa_consent_form_post(world: World, d: Directory, chromium: Any) -> None:
    tool = world.entra.add_app(
        d.tenant, "Fancy BI", redirect_uris=[("http://127.0.0.1/callback", "mobile_desktop")]
    )
    d.user.mfa_required = True
    app = pca(world, d.tenant.tenant_id, tool.app_id)
    with _Loopback() as loop:
        flow = app.initiate_auth_code_flow(
            [DBX_USER], redirect_uri=f"http://127.0.0.1:{loop.port}/callback", response_mode="form_post"
        )
        page = chromium.new_page()
        page.set_default_timeout(15000)
        page.goto(flow["auth_uri"])
        assert page.title() == "Sign in to your account"
        page.fill("#i0116", d.user.upn)
        page.fill("#i0118", d.password)
        page.click("#idSIButton9")
        page.fill("#idTxtBx_SAOTCC_OTC", d.user.mfa_code)
        page.click("#idSubmit_SAOTCC_Continue")
        assert page.locator("h1").inner_text() == "Permissions requested"
        assert "Have full access to Azure Databricks" in page.locator("#permissions").inner_text()
        page.click("#idSIButton9")  # Accept
        assert loop.done.wait(15), "the browser never reached the loopback redirect"
        page.wait_for_selector("#done")
    result = app.acquire_token_by_auth_code_flow(flow, loop.params)
    c = claims(result["access_token"])
    assert c["upn"] == d.user.upn and c["amr"] == ["pwd", "mfa"] and c["appid"] == tool.app_id, result


@pytest.mark.browser
def test_browser_device_login_and_error_page(world: World, d: Directory, chromium: Any) -> None:
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_device_flow([DBX_USER])
    page = chromium.new_page()
    page.set_default_timeout(15000)
    page.goto(flow["verification_uri"])
    page.fill("#otc", flow["user_code"])
    page.click("#idSIButton9")
    page.fill("#i0116", d.user.upn)
    page.fill("#i0118", d.password)
    page.click("#idSIButton9")
    assert "You have signed in to the brickauth-cli application" in page.locator("#deviceDone").inner_text()
    result = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert claims(result["access_token"])["upn"] == d.user.upn, result
    # A redirect URI that is not registered: Entra's error page, not a redirect.
    bad = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://127.0.0.1:9/elsewhere")
    page.goto(bad["auth_uri"])
    assert "having trouble signing you in" in page.locator("#errorTitle").inner_text()
    assert "AADSTS50011" in page.locator("#errorText").inner_text()


# ------------------------------------------------------------------------------ multi-tenant, v1, reprs


def test_common_authority_code_flow_resolves_home_tenant(world: World, d: Directory) -> None:
    app = pca(world, "common", AZURE_CLI_CLIENT_ID)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40007")
    result = app.acquire_token_by_auth_code_flow(
        flow, redirect_params(sign_in(flow["auth_uri"], d.user.upn, d.password))
    )
    c = claims(result["access_token"])
    assert c["tid"] == d.tenant.tenant_id and c["iss"] == f"https://sts.windows.net/{d.tenant.tenant_id}/", (
        result
    )
    assert result["id_token_claims"]["iss"] == f"{world.base_url}/{d.tenant.tenant_id}/v2.0"


def test_multi_tenant_app_in_customer_tenant(world: World, d: Directory) -> None:
    customer = world.entra.add_tenant(display_name="Fabrikam")
    buyer = world.entra.add_user(customer, f"carol@{customer.domain}", "Pw-3")
    d.native.multi_tenant = True
    app = pca(world, customer.tenant_id, d.native.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40008")
    r = sign_in(flow["auth_uri"], buyer.upn, "Pw-3", consent="accept")  # first use in Fabrikam: consent
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(r))
    assert claims(result["access_token"])["tid"] == customer.tenant_id, result


def test_v1_token_endpoint_with_resource(world: World, d: Directory) -> None:
    r = requests.post(
        f"{world.base_url}/{d.tenant.tenant_id}/oauth2/token",
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": d.web.app_id,
            "client_secret": d.secret.value,
            "resource": DBX,
        },
    )
    body = r.json()
    assert r.status_code == 200 and body["resource"] == DBX and body["expires_in"] == "3600", body
    assert int(body["expires_on"]) - int(body["not_before"]) == 3600
    assert claims(body["access_token"])["aud"] == DBX


def test_secrets_never_in_reprs_or_errors(world: World, d: Directory) -> None:
    assert d.secret.value not in repr(d.web) and d.password not in repr(d.user)
    r = requests.post(
        f"{world.base_url}/{d.tenant.tenant_id}/oauth2/v2.0/token",
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": d.web.app_id,
            "client_secret": "Leaky~Value~123",
            "scope": DBX_DEFAULT,
        },
    )
    assert "Leaky~Value~123" not in r.text
    app = pca(world, d.tenant.tenant_id, d.native.app_id)
    flow = app.initiate_auth_code_flow([DBX_USER], redirect_uri="http://localhost:40009")
    assert "Typed-Pass-9" not in sign_in(flow["auth_uri"], d.user.upn, "Typed-Pass-9").text
