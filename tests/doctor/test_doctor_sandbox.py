"""`brickauth doctor` against the sandbox: each injected misconfiguration is the top finding.

Real clients (requests, the SQL connector) against the real local services; nothing of ours mocked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from brickauth.cli.main import main
from brickauth.doctor import diagnose
from brickauth.doctor.checks import CHECKS
from brickauth.doctor.model import Finding
from brickauth.doctor.runner import top_finding
from brickauth_sandbox.core import Sandbox

pytestmark = pytest.mark.slow


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    sandbox.wait_until_ready()
    return sandbox


def run(
    sb: Sandbox,
    auth_type: str = "azure-m2m",
    *,
    env: dict[str, str] | None = None,
    step_timeout: float = 5.0,
    deadline: float = 20.0,
    **explicit: Any,
) -> list[Finding]:
    environment = sb.env() if env is None else env
    _, findings = diagnose(
        {"auth_type": auth_type, **explicit},
        env=environment,
        step_timeout=step_timeout,
        deadline=deadline,
        config_file=Path("/nonexistent"),
    )
    return findings


def top(findings: list[Finding]) -> Finding:
    finding = top_finding(findings)
    assert finding is not None, [(f.check, f.status, f.summary) for f in findings]
    return finding


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {f.check: f.status for f in findings}


@pytest.mark.parametrize("auth_type", ["azure-m2m", "databricks-m2m"])
def test_healthy_configuration_passes_every_check(sb: Sandbox, auth_type: str) -> None:
    findings = run(sb, auth_type)
    assert top_finding(findings) is None, [(f.check, f.summary) for f in findings if f.status != "ok"]
    by_check = {f.check: f for f in findings}
    assert by_check["sql.probe"].status == "ok"
    expected = sb.ids.m2m_client_id if auth_type == "azure-m2m" else sb.ids.databricks_sp_client_id
    assert expected in by_check["sql.probe"].summary


def test_service_principal_not_in_workspace(sb: Sandbox) -> None:
    sb.remove_from_workspace(sb.ids.m2m_client_id)
    finding = top(run(sb))
    assert finding.check == "workspace.membership"
    assert finding.cause_id == "databricks.principal_not_in_workspace"
    assert finding.fix is not None and "Service principals" in finding.fix


def test_missing_databricks_sql_entitlement(sb: Sandbox) -> None:
    sb.set_sql_access(sb.ids.m2m_client_id, False)
    finding = top(run(sb))
    assert (finding.check, finding.cause_id) == (
        "workspace.sql_entitlement",
        "databricks.missing_sql_entitlement",
    )


def test_no_can_use_on_warehouse(sb: Sandbox) -> None:
    sb.revoke_can_use(sb.ids.m2m_client_id)
    finding = top(run(sb))
    assert finding.cause_id == "databricks.no_can_use_warehouse"
    assert finding.status == "fail"


def test_stopped_warehouse(sb: Sandbox) -> None:
    sb.stop_warehouse(auto_start=False)
    findings = run(sb)
    assert top(findings).cause_id == "databricks.warehouse_stopped"
    assert statuses(findings)["warehouse.state"] == "warn"


def test_warehouse_that_does_not_exist(sb: Sandbox) -> None:
    finding = top(run(sb, http_path="/sql/1.0/warehouses/0123456789abcdef"))
    assert (finding.check, finding.cause_id) == ("warehouse.state", "databricks.warehouse_not_found")


def test_expired_client_secret(sb: Sandbox) -> None:
    sb.expire_client_secrets()
    finding = top(run(sb))
    assert (finding.check, finding.cause_id) == ("token.acquire", "entra.client_secret_expired")


def test_wrong_client_secret(sb: Sandbox) -> None:
    env = {**sb.env(), "AZURE_CLIENT_SECRET": "Xy18Q~" + "w" * 34}
    finding = top(run(sb, env=env))
    assert (finding.check, finding.cause_id) == ("token.acquire", "entra.invalid_client_secret")


def test_secret_id_pasted_for_the_secret_value(sb: Sandbox) -> None:
    env = {**sb.env(), "AZURE_CLIENT_SECRET": sb.ids.m2m_secret_id}
    finding = top(run(sb, env=env))
    assert (finding.check, finding.cause_id) == ("settings.auth", "config.secret_id_instead_of_value")


def test_app_not_found_in_directory(sb: Sandbox) -> None:
    env = {**sb.env(), "AZURE_CLIENT_ID": "0a1b2c3d-1111-2222-3333-444455556666"}
    finding = top(run(sb, env=env))
    assert (finding.check, finding.cause_id) == ("token.acquire", "entra.app_not_found")
    assert finding.fix is not None and "Application (client) ID" in finding.fix


def test_unknown_tenant(sb: Sandbox) -> None:
    env = {**sb.env(), "AZURE_TENANT_ID": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}
    finding = top(run(sb, env=env))
    assert (finding.check, finding.cause_id) == ("idp.discovery", "entra.tenant_not_found")


def test_expired_databricks_oauth_secret(sb: Sandbox) -> None:
    sb.expire_databricks_secrets()
    finding = top(run(sb, "databricks-m2m"))
    assert (finding.check, finding.cause_id) == ("token.acquire", "databricks.oauth_invalid_client")


def test_ip_access_list_blocks_this_address(sb: Sandbox) -> None:
    sb.set_ip_access_list(["10.0.0.0/8"])
    finding = top(run(sb))
    assert finding.cause_id == "databricks.ip_access_list_blocked"


def test_redirect_uri_registered_as_web(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    app = sb.add_entra_app("web-redirect", secret=False, redirect_uris=[("http://localhost", "web")])
    env = {**sb.env(), "BRICKAUTH_AZURE_U2M_CLIENT_ID": app.app_id}
    del env["AZURE_CLIENT_SECRET"]
    finding = top(run(sb, "azure-u2m", env=env))
    assert (finding.check, finding.cause_id) == ("idp.client", "entra.redirect_uri_platform_web")
    assert finding.fix is not None and "Mobile and desktop applications" in finding.fix


def test_public_client_app_registration_passes_the_probe(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A token store that keeps sign-ins (this machine has no keyring backend: that is its own finding,
    # tests/doctor/test_doctor_first_hour.py), so that the only problem is the missing sign-in.
    monkeypatch.setenv("BRICKAUTH_STATE_DIR", str(tmp_path / "state"))
    env = {**sb.env(), "BRICKAUTH_AZURE_U2M_CLIENT_ID": sb.ids.public_client_id,
           "BRICKAUTH_TOKEN_STORE": "file", "BRICKAUTH_ALLOW_PLAINTEXT_STORE": "1"}  # fmt: skip
    del env["AZURE_CLIENT_SECRET"]
    findings = run(sb, "azure-u2m", env=env)
    assert statuses(findings)["idp.client"] == "ok"
    # Without a cached sign-in the token step says to log in (doctor never opens a browser).
    assert top(findings).cause_id == "store.not_signed_in"


def test_table_owned_by_another_identity(sb: Sandbox) -> None:
    other = sb.ids.databricks_sp_client_id
    sb.engine.execute_as(other, "CREATE SCHEMA IF NOT EXISTS main.analytics")
    sb.engine.execute_as(other, "CREATE TABLE main.analytics.my_first_dbt_model AS SELECT 1 AS id")
    finding = top(run(sb, catalog="main", schema="analytics"))
    assert (finding.check, finding.cause_id) == ("sql.table_owners", "databricks.table_not_owner")
    assert "my_first_dbt_model" in finding.summary


def test_untrusted_ca(sb: Sandbox) -> None:
    import certifi

    env = {**sb.env(), "REQUESTS_CA_BUNDLE": certifi.where(), "SSL_CERT_FILE": certifi.where()}
    finding = top(run(sb, env=env))
    assert (finding.check, finding.cause_id) == ("network.tls", "network.ca_untrusted")


@pytest.mark.parametrize(
    ("service", "cause"), [("entra", "entra.unresponsive"), ("workspace", "databricks.unresponsive")]
)
def test_a_hanging_service_is_named_within_the_bound(sb: Sandbox, service: str, cause: str) -> None:
    sb.faults[service].hang()
    try:
        started = time.monotonic()
        findings = run(sb, step_timeout=1.0, deadline=5.0)
        elapsed = time.monotonic() - started
    finally:
        sb.faults[service].clear()
    assert elapsed < 2 * 5.0, elapsed  # generous (the deadline is 5 s): the hang itself never ends
    finding = top(findings)
    assert finding.cause_id == cause
    assert "within 1.0 s (hang)" in finding.summary  # named, with the step's bound


def test_everything_hanging_still_ends_by_the_deadline(sb: Sandbox) -> None:
    for service in ("entra", "workspace"):
        sb.faults[service].hang()
    try:
        started = time.monotonic()
        findings = run(sb, step_timeout=1.0, deadline=2.5)
        elapsed = time.monotonic() - started
    finally:
        for service in ("entra", "workspace"):
            sb.faults[service].clear()
    assert elapsed < 2 * 2.5, elapsed  # generous (the deadline is 2.5 s): the hangs never end
    assert top(findings).cause_id == "entra.unresponsive"
    assert {f.check for f in findings} >= {c.id for c in CHECKS}  # every check reported, none lost


def test_cli_json_report_has_the_schema_and_no_secret(
    sb: Sandbox, sandbox_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sb.remove_from_workspace(sb.ids.m2m_client_id)
    code = main(["doctor", "--auth-type", "azure-m2m", "--json", "--config-file", "/nonexistent"])
    out = capsys.readouterr().out
    assert code == 1
    report = json.loads(out)
    assert report["schema"] == "brickauth.doctor/v1"
    assert report["healthy"] is False and report["exit_code"] == 1
    assert report["top_finding"]["cause_id"] == "databricks.principal_not_in_workspace"
    assert {c["check"] for c in report["checks"]} >= {"settings.host", "token.acquire", "sql.probe"}
    for secret in (sandbox_env["AZURE_CLIENT_SECRET"], sandbox_env["DATABRICKS_CLIENT_SECRET"]):
        assert secret not in out
    assert "eyJ" not in out  # no token


def test_cli_plain_output_healthy_exit_zero(
    sandbox_env: dict[str, str], sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", "--auth-type", "databricks-m2m", "--config-file", "/nonexistent"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Healthy" in out
    assert sandbox_env["DATABRICKS_CLIENT_SECRET"] not in out


def test_dbt_target_with_env_vars(
    sb: Sandbox, sandbox_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "profiles.yml").write_text(
        "sandbox:\n  target: ci\n  outputs:\n    ci:\n      type: brickauth\n      auth_type: azure-m2m\n"
        "      host: \"{{ env_var('DATABRICKS_HOST') }}\"\n"
        "      http_path: \"{{ env_var('DATABRICKS_HTTP_PATH') }}\"\n"
        "      tenant_id: \"{{ env_var('AZURE_TENANT_ID') }}\"\n"
        "      client_id: \"{{ env_var('AZURE_CLIENT_ID') }}\"\n"
        "      client_secret: \"{{ env_var('AZURE_CLIENT_SECRET') }}\"\n"
        "      catalog: main\n      schema: analytics\n"
    )
    code = main(
        [
            "doctor",
            "--dbt-target",
            "ci",
            "--profiles-dir",
            str(tmp_path),
            "--project-dir",
            str(tmp_path),
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["top_finding"]
    assert report["settings"]["origin"].startswith("dbt target ci of profile sandbox")
    assert report["settings"]["sources"]["azure_client_secret"].endswith("sandbox.ci.client_secret")
    assert main(["doctor", "--dbt-target", "nope", "--profiles-dir", str(tmp_path)]) == 2


def test_rich_display_renders_lines_and_summary(sb: Sandbox) -> None:
    import io

    from brickauth.doctor.plan import build_plan
    from brickauth.doctor.report import RichDisplay
    from brickauth.doctor.runner import run_checks
    from brickauth.doctor.sources import gather

    sb.revoke_can_use(sb.ids.m2m_client_id)
    plan = build_plan(gather({"auth_type": "azure-m2m"}, env=sb.env(), config_file=Path("/nonexistent")))
    stream = io.StringIO()
    display = RichDisplay(stream)
    display.header(plan)
    findings = run_checks(plan, on_start=display.start, on_finding=display.finding)
    display.close()
    display.summary(findings, 1.0)
    text = stream.getvalue()
    assert "[FAIL] Warehouse exists and state" in text and "databricks.no_can_use_warehouse" in text
    assert "Top finding" in text and "Can use" in text
    assert sb.env()["AZURE_CLIENT_SECRET"] not in text


def test_an_encrypted_certificate_key_that_works_in_sql_connect_works_in_doctor(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor acquires the token through the library's own azure-m2m source: the same certificate
    loading (an encrypted PKCS#8 key and its password), the same msal client."""
    import sys

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from databricks import sql

    import brickauth
    from brickauth_sandbox.entra.model import ClientCertificate

    sys.path.insert(0, str(Path(__file__).parent.parent / "core"))
    from core_support import make_cert

    password = "pem-pass-" + "7" * 12
    app = sb.add_entra_app("cert-app", secret=False)
    pem = make_cert(tmp_path, password=password.encode())
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    app.certificates.append(
        ClientCertificate(
            thumbprint_sha1_hex=cert.fingerprint(hashes.SHA1()).hex(),
            public_pem=cert.public_bytes(serialization.Encoding.PEM),
        )
    )
    env = {k: v for k, v in sb.env().items() if k not in ("AZURE_CLIENT_SECRET", "DATABRICKS_CLIENT_SECRET")}
    env |= {
        "AZURE_CLIENT_ID": app.app_id,
        "AZURE_CLIENT_CERTIFICATE_PATH": str(pem),
        "AZURE_CLIENT_CERTIFICATE_PASSWORD": password,
    }
    provider = brickauth.credentials_provider("azure-m2m", env=env)
    with sql.connect(
        server_hostname=sb.addresses["workspace"], http_path=sb.http_path, credentials_provider=provider,
        _tls_trusted_ca_file=str(sb.ca_bundle), enable_telemetry=False,
    ) as conn, conn.cursor() as cursor:  # fmt: skip
        cursor.execute("SELECT current_user()")
        assert cursor.fetchall()[0][0] == app.app_id

    for name in [k for k in sb.env() if k not in env]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["doctor", "--auth-type", "azure-m2m", "--json", "--config-file", "/nonexistent"])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 0, report["top_finding"]
    by_check = {c["check"]: c for c in report["checks"]}
    assert by_check["token.acquire"]["status"] == "ok"
    assert "client_certificate_path" in by_check["token.acquire"]["summary"]
    assert app.app_id in by_check["sql.probe"]["summary"]
    assert password not in out and "eyJ" not in out


@pytest.mark.parametrize(
    ("auth_type", "service", "cause"),
    [
        ("azure-m2m", "entra", "entra.unresponsive"),
        ("databricks-m2m", "workspace", "databricks.unresponsive"),
    ],
)
def test_a_hanging_token_endpoint_is_bounded_in_the_librarys_own_token_source(
    sb: Sandbox, auth_type: str, service: str, cause: str
) -> None:
    """Only the token endpoint hangs: discovery passes, and the flow's TokenSource (its HTTP client
    bounded by the step, no retries) is cut at the step's bound and named."""
    from brickauth_sandbox.faults import TOKEN_PATHS

    sb.faults[service].hang(path_prefix=TOKEN_PATHS[service])
    try:
        started = time.monotonic()
        findings = run(sb, auth_type, step_timeout=1.0, deadline=10.0)
        elapsed = time.monotonic() - started
    finally:
        sb.faults[service].clear()
    assert elapsed < 10.0, elapsed  # generous: the hang never ends by itself
    assert statuses(findings)["idp.discovery"] == "ok"
    finding = top(findings)
    assert (finding.check, finding.cause_id) == ("token.acquire", cause)
    assert "(hang)" in finding.summary


def test_a_federated_token_file_goes_through_the_librarys_source(sb: Sandbox, tmp_path: Path) -> None:
    """Workload identity: the flow reads the token file (doctor does not), and its assertion never
    shows in the report."""
    from brickauth_sandbox.entra.model import FederatedCredential
    from brickauth_sandbox.signing import SigningKey

    issuer, subject = "https://oidc.k8s.example/cluster-1", "system:serviceaccount:jobs:etl"
    key = SigningKey.generate()
    sb.entra.trust_federated_issuer(issuer, key.private_key.public_key())
    app = sb.add_entra_app("federated-app", secret=False)
    app.federated_credentials.append(FederatedCredential(issuer=issuer, subject=subject))
    now = int(time.time())
    assertion = key.sign(
        {"iss": issuer, "sub": subject, "aud": "api://AzureADTokenExchange", "iat": now, "nbf": now,
         "exp": now + 600}
    )  # fmt: skip
    (tmp_path / "token").write_text(assertion)
    env = {k: v for k, v in sb.env().items() if "SECRET" not in k}
    env |= {"AZURE_CLIENT_ID": app.app_id, "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "token")}
    findings = run(sb, env=env)
    assert top_finding(findings) is None, [(f.check, f.summary) for f in findings if f.status != "ok"]
    by_check = {f.check: f for f in findings}
    assert "federated_token_file" in by_check["token.acquire"].summary
    assert app.app_id in by_check["sql.probe"].summary
    assert all(assertion not in f.summary and assertion not in json.dumps(f.details) for f in findings)
