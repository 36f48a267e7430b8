"""``type: brickauth`` end to end: the dbt CLI runs sample_project on the sandbox with every example
profile in profiles/, and no secret or token shows in its output or logs/dbt.log.

Each case runs dbt in child processes (`dbt debug` with --debug, `dbt run` with --log-format json,
`dbt test` plain), so the canary checks cover every output mode while keeping the count of runs low.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from dbt_harness import DbtResult, DbtRunner, assert_no_secret, assert_ok

from brickauth_sandbox.core import Sandbox

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

HERE = Path(__file__).parent
SQL_PREFIX = "/sql/1.0/warehouses/"
SP_VARS = ("AZURE_CLIENT_SECRET", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET")


def sandbox_secrets(sb: Sandbox) -> tuple[str, ...]:
    env = sb.env()
    return env["AZURE_CLIENT_SECRET"], env["DATABRICKS_CLIENT_SECRET"], env["BRICKAUTH_SANDBOX_PASSWORD"]


def sql_principals(sb: Sandbox) -> set[str]:
    return {
        e.fields.get("principal", "")
        for e in sb.request_log.filter(service="workspace", path_prefix=SQL_PREFIX)
    }


def debug_run_test(
    dbt: DbtRunner, profile: str, env: dict[str, str | None], secrets: tuple[str, ...]
) -> DbtResult:
    debug = dbt("debug", profile=profile, env=env, global_flags=("--debug",))
    assert_ok(debug, "All checks passed!", "adapter type: databricks")
    run = dbt("run", profile=profile, env=env, global_flags=("--log-format", "json"))
    assert_ok(run, "PASS=2 ")
    test = dbt("test", profile=profile, env=env)
    assert_ok(test, "PASS=5 ")
    for result in (debug, run, test):
        assert_no_secret(result, *secrets)
    return debug


@pytest.mark.parametrize(
    ("profile", "expect"),
    [
        pytest.param("databricks-m2m", "databricks_sp_client_id", id="databricks-m2m"),
        pytest.param("azure-m2m-secret", "m2m_client_id", id="azure-m2m-secret"),
    ],
)
def test_m2m_profile_debug_run_test(sandbox: Sandbox, sandbox_env: dict[str, str], dbt: DbtRunner,
                                    profile: str, expect: str) -> None:  # fmt: skip
    debug = debug_run_test(dbt, profile, {}, sandbox_secrets(sandbox))
    assert "brickauth adapter: " + profile.removesuffix("-secret") in debug.output  # --debug names the flow
    assert sql_principals(sandbox) == {getattr(sandbox.ids, expect)}


def test_auto_profile_picks_from_the_environment(sandbox: Sandbox, sandbox_env: dict[str, str],
                                                 dbt: DbtRunner) -> None:  # fmt: skip
    env: dict[str, str | None] = {"DATABRICKS_CLIENT_ID": None, "DATABRICKS_CLIENT_SECRET": None}
    debug = debug_run_test(dbt, "auto", env, sandbox_secrets(sandbox))
    assert "brickauth adapter: azure-m2m" in debug.output and "(auto: " in debug.output, debug.summary()
    assert sql_principals(sandbox) == {sandbox.ids.m2m_client_id}


def _certificate(directory: Path) -> tuple[Path, str, bytes]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dbt-ci")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
    )  # fmt: skip
    public = cert.public_bytes(serialization.Encoding.PEM)
    path = directory / "sp.pem"
    path.write_bytes(
        public
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return path, thumbprint, public


def test_azure_m2m_certificate_profile(sandbox: Sandbox, sandbox_env: dict[str, str], dbt: DbtRunner,
                                       tmp_path: Path) -> None:  # fmt: skip
    from brickauth_sandbox.entra.model import ClientCertificate

    app = sandbox.add_entra_app("dbt-certificate-sp", secret=False)
    path, thumbprint, public = _certificate(tmp_path)
    app.certificates.append(ClientCertificate(thumbprint_sha1_hex=thumbprint, public_pem=public))
    env = {
        "AZURE_CLIENT_ID": app.app_id,
        "AZURE_CLIENT_CERTIFICATE_PATH": str(path),
        "AZURE_CLIENT_SECRET": None,
    }
    build = dbt("build", profile="azure-m2m-certificate", env=env)
    assert_ok(build, "PASS=7 ")
    assert_no_secret(build, *sandbox_secrets(sandbox), "PRIVATE KEY")
    assert sql_principals(sandbox) == {app.app_id}
    assert sandbox.request_log.count(service="entra", client_id=app.app_id, status=200) >= 1


def test_azure_m2m_federated_profile(sandbox: Sandbox, sandbox_env: dict[str, str], dbt: DbtRunner,
                                     tmp_path: Path) -> None:  # fmt: skip
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from brickauth_sandbox.entra.model import FederatedCredential

    issuer, subject = "https://token.actions.githubusercontent.com", "repo:contoso/dbt:ref:refs/heads/main"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sandbox.entra.trust_federated_issuer(issuer, key.public_key())
    app = sandbox.add_entra_app("dbt-federated-sp", secret=False)
    app.federated_credentials.append(FederatedCredential(issuer=issuer, subject=subject))
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": "api://AzureADTokenExchange", "iat": now, "nbf": now,
              "exp": now + 3600, "jti": uuid.uuid4().hex}  # fmt: skip
    token_file = tmp_path / "federated-token"
    assertion = jwt.encode(claims, key, algorithm="RS256")
    token_file.write_text(assertion)
    env = {
        "AZURE_CLIENT_ID": app.app_id,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        "AZURE_CLIENT_SECRET": None,
    }
    build = dbt("build", profile="azure-m2m-federated", env=env)
    assert_ok(build, "PASS=7 ")
    assert_no_secret(build, *sandbox_secrets(sandbox), assertion)
    assert sql_principals(sandbox) == {app.app_id}


def test_ci_profile_reads_everything_from_the_environment(sandbox: Sandbox, sandbox_env: dict[str, str],
                                                           dbt: DbtRunner) -> None:  # fmt: skip
    env = {
        "BRICKAUTH_AUTH_TYPE": "databricks-m2m",
        "DBT_THREADS": "2",
        "DBT_SCHEMA": None,
        "CI_JOB_ID": "4711",
    }
    build = dbt("build", profile="ci", env=env)
    assert_ok(build, "PASS=7 ", "Concurrency: 2 threads (target='ci')")
    assert_no_secret(build, *sandbox_secrets(sandbox))
    assert sql_principals(sandbox) == {sandbox.ids.databricks_sp_client_id}
    assert "main.ci_4711.orders" in build.log or "`ci_4711`.`orders`" in build.log, build.summary()


@pytest.mark.parametrize(
    ("variable", "flow", "code"),
    [
        pytest.param("AZURE_CLIENT_SECRET", "azure-m2m-secret", "[BA211]", id="azure-wrong-secret"),
        pytest.param("DATABRICKS_CLIENT_SECRET", "databricks-m2m", "[BA2", id="databricks-wrong-secret"),
    ],
)
def test_wrong_secret_fails_fast_with_cause_and_no_secret(sandbox: Sandbox, sandbox_env: dict[str, str],
                                                          dbt: DbtRunner, variable: str, flow: str,
                                                          code: str) -> None:  # fmt: skip
    canary = ("Wr0" + "8Q~" if variable.startswith("AZURE") else "dose") + uuid.uuid4().hex + "canary"
    result = dbt("debug", profile=flow, env={variable: canary}, global_flags=("--debug",))
    assert result.returncode != 0
    assert "Connection test: [ERROR]" in result.output, result.summary()
    assert code in result.everything and "Fix:" in result.everything, result.summary()
    assert_no_secret(result, canary, *sandbox_secrets(sandbox))


def test_threads_8_over_many_models_spans_three_lifetimes(sandbox: Sandbox, sandbox_env: dict[str, str],
                                                          dbt: DbtRunner) -> None:  # fmt: skip
    """Token requests follow token lifetimes, not models, threads or connections."""
    lifetime, models = 4.0, 96
    many = dbt.project / "models" / "many"
    many.mkdir()
    for i in range(models):
        (many / f"many_{i:03}.sql").write_text(f"select {i} as id, 'm{i}' as name\n")
    sandbox.set_token_lifetime(lifetime)
    run = dbt("run", "--threads", "8", "--select", "many", profile="databricks-m2m")
    assert_ok(run, f"PASS={models} ", "Concurrency: 8 threads")
    assert_no_secret(run, *sandbox_secrets(sandbox))

    sql = sandbox.request_log.filter(service="workspace", path_prefix=SQL_PREFIX)
    assert all(e.status == 200 for e in sql), "a SQL request was refused (expired token?)"
    span = sql[-1].time - sql[0].time
    assert span >= 3 * lifetime, f"the run took {span:.1f} s: too short to span three lifetimes"
    fetches = sandbox.request_log.filter(service="workspace", grant_type="client_credentials")
    assert all(e.status == 200 for e in fetches)
    sessions = set(re.findall(r"session-id=([0-9a-f-]{36})", run.log))
    lifetimes = span / lifetime
    # At least one token per lifetime; RefreshingToken renews ahead of expiry (its windows are wide
    # for a lifetime of seconds), so a few per lifetime, whatever the number of models, threads or
    # connections.
    assert lifetimes - 1 <= len(fetches) <= 6 * lifetimes + 2, (len(fetches), f"{span:.1f} s")
    assert len(fetches) < len(sessions) and len(fetches) < models, (len(fetches), len(sessions), models)


def test_rest_client_uses_our_token(sandbox: Sandbox, sandbox_env: dict[str, str], dbt: DbtRunner) -> None:
    """dbt-databricks' REST client (as the installed line builds it) reaches the sandbox with our token."""
    from dbt_harness import PROFILES, dbt_env

    proc = subprocess.run(
        [sys.executable, str(HERE / "rest_probe.py"), str(PROFILES / "azure-m2m-secret")],
        env=dbt_env(dbt.env, home=dbt.home), capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"REST_USER={sandbox.ids.m2m_client_id}" in proc.stdout, proc.stdout + proc.stderr
    me = sandbox.request_log.filter(service="workspace", path="/api/2.0/preview/scim/v2/Me")
    assert [(e.status, e.fields.get("principal")) for e in me] == [(200, sandbox.ids.m2m_client_id)]
    assert sandbox.request_log.count(service="entra", client_id=sandbox.ids.m2m_client_id, status=200) == 1
    for secret in sandbox_secrets(sandbox):
        assert secret not in proc.stdout + proc.stderr
