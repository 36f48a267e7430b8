"""Settings resolution (explicit > env > profile), sources, auto choice, and the bad-input table."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from core_support import AZ_HOST, CANARY_DATABRICKS_SECRET, CANARY_ENTRA_SECRET, CLIENT, TENANT, make_cert

from brickauth.config import resolve_settings
from brickauth.errors import BrickauthError, ConfigurationError
from brickauth.secret import Secret

AZ_ENV = {
    "DATABRICKS_HOST": AZ_HOST,
    "AZURE_TENANT_ID": TENANT,
    "AZURE_CLIENT_ID": CLIENT,
    "AZURE_CLIENT_SECRET": CANARY_ENTRA_SECRET,
}
DBX_ENV = {
    "DATABRICKS_HOST": "dbc-1.cloud.databricks.com",
    "DATABRICKS_CLIENT_ID": CLIENT,
    "DATABRICKS_CLIENT_SECRET": CANARY_DATABRICKS_SECRET,
}


# -- resolution ------------------------------------------------------------------------------------


def test_env_azure_m2m_with_sources(clean_env: dict[str, str]) -> None:
    s = resolve_settings({}, AZ_ENV)
    assert s.auth_type == "azure-m2m"
    assert s.client_id == CLIENT and s.tenant_id == TENANT
    assert isinstance(s.client_secret, Secret) and s.client_secret.reveal() == CANARY_ENTRA_SECRET
    assert s.source_of("client_secret") == "env:AZURE_CLIENT_SECRET"
    assert s.source_of("host") == "env:DATABRICKS_HOST"
    assert s.source_of("http_path") is None
    assert s.authority_host == "https://login.microsoftonline.com"
    assert "auto" in s.auth_type_reason and "AZURE_CLIENT_SECRET" in s.auth_type_reason
    assert CANARY_ENTRA_SECRET not in repr(s) and CANARY_ENTRA_SECRET not in str(s.describe())


def test_arm_twins(clean_env: dict[str, str]) -> None:
    env = {
        "DATABRICKS_HOST": AZ_HOST,
        "ARM_TENANT_ID": TENANT,
        "ARM_CLIENT_ID": CLIENT,
        "ARM_CLIENT_SECRET": CANARY_ENTRA_SECRET,
    }
    s = resolve_settings({}, env)
    assert (s.auth_type, s.tenant_id, s.source_of("client_id")) == ("azure-m2m", TENANT, "env:ARM_CLIENT_ID")


def test_explicit_beats_env_beats_profile(clean_env: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.write_text(
        f"[DEFAULT]\nhost = {AZ_HOST}\nazure_tenant_id = {TENANT}\nazure_client_id = {CLIENT}\n"
        f"azure_client_secret = {CANARY_ENTRA_SECRET}\nhttp_path = /sql/1.0/warehouses/p\n"
    )
    env = {"AZURE_CLIENT_ID": "22222222-2222-3333-4444-555555555555"}
    s = resolve_settings({"tenant_id": "contoso.onmicrosoft.com"}, env, cfg)
    assert s.tenant_id == "contoso.onmicrosoft.com" and s.source_of("tenant_id") == "explicit"
    assert s.client_id == "22222222-2222-3333-4444-555555555555"
    assert s.source_of("client_id") == "env:AZURE_CLIENT_ID"
    assert s.http_path == "/sql/1.0/warehouses/p"
    assert s.source_of("http_path") == f"profile:{cfg}[DEFAULT]:http_path"
    assert s.source_of("client_secret") == f"profile:{cfg}[DEFAULT]:azure_client_secret"


def test_named_profile_from_env_and_no_default_leak(clean_env: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.write_text(
        f"[DEFAULT]\nhost = other.cloud.databricks.com\nhttp_path = /leak\n\n"
        f"[ci]\nhost = {AZ_HOST}\nclient_id = {CLIENT}\nclient_secret = {CANARY_DATABRICKS_SECRET}\n"
        "auth_type = oauth-m2m\n"
    )
    env = {"DATABRICKS_CONFIG_FILE": str(cfg), "DATABRICKS_CONFIG_PROFILE": "ci"}
    s = resolve_settings({}, env)
    assert s.auth_type == "databricks-m2m" and s.host is not None and s.host.hostname == AZ_HOST
    assert s.http_path is None  # [DEFAULT] is a profile of its own, not defaults for [ci]
    assert s.profile == "ci" and s.source_of("profile") is not None


def test_databricks_m2m_and_auto_prefers_databricks_secret(clean_env: dict[str, str]) -> None:
    s = resolve_settings({}, {**AZ_ENV, **DBX_ENV})
    assert s.auth_type == "databricks-m2m"
    assert s.client_secret is not None and s.client_secret.reveal() == CANARY_DATABRICKS_SECRET
    assert s.source_of("client_id") == "env:DATABRICKS_CLIENT_ID"


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        (
            {"client_id": CLIENT, "client_secret": CANARY_DATABRICKS_SECRET},
            {"DATABRICKS_HOST": AZ_HOST},
            "databricks-m2m",
        ),
        (
            {"client_id": CLIENT, "client_secret": CANARY_ENTRA_SECRET, "tenant_id": TENANT},
            {"DATABRICKS_HOST": AZ_HOST},
            "azure-m2m",
        ),
        (
            {"client_id": CLIENT, "client_secret": Secret(CANARY_ENTRA_SECRET)},
            {"DATABRICKS_HOST": AZ_HOST, "AZURE_TENANT_ID": TENANT},
            "azure-m2m",
        ),
        ({"auth_type": "azure-m2m"}, AZ_ENV, "azure-m2m"),
        ({}, {**AZ_ENV, "BRICKAUTH_AUTH_TYPE": "azure-client-secret"}, "azure-m2m"),
    ],
)
def test_auto_and_aliases(
    clean_env: dict[str, str], explicit: dict[str, Any], env: dict[str, str], expected: str
) -> None:
    assert resolve_settings(explicit, env).auth_type == expected


def test_federated_and_certificate_pick_azure(clean_env: dict[str, str], tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("a.b.c\n")
    env = {
        "DATABRICKS_HOST": AZ_HOST,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_FEDERATED_TOKEN_FILE": str(token),
    }
    s = resolve_settings({}, env)
    assert s.auth_type == "azure-m2m" and "federated" in s.auth_type_reason
    cert = make_cert(tmp_path)
    s = resolve_settings({"client_certificate_path": str(cert)}, {**AZ_ENV})  # explicit cert beats env secret
    assert s.auth_type == "azure-m2m"
    from brickauth.config import azure_credential_kind

    assert azure_credential_kind(s) == "client_certificate_path"


def test_sovereign_and_override_authority(clean_env: dict[str, str]) -> None:
    s = resolve_settings({}, {**AZ_ENV, "DATABRICKS_HOST": "adb-1.2.databricks.azure.cn"})
    assert s.authority_host == "https://login.chinacloudapi.cn"
    s = resolve_settings({}, {**AZ_ENV, "AZURE_AUTHORITY_HOST": "https://127.0.0.9/"})
    assert s.authority_host == "https://127.0.0.9"


def test_typed_values(clean_env: dict[str, str], tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    s = resolve_settings(
        {
            "timeout": "12.5",
            "redirect_port": 8020,
            "allow_plaintext_store": "yes",
            "interactive": False,
            "scopes": "all-apis offline_access",
            "token_store": "memory",
            "login_hint": "a@b.c",
        },
        {**DBX_ENV, "REQUESTS_CA_BUNDLE": str(bundle)},
    )
    assert (s.timeout, s.redirect_port, s.allow_plaintext_store, s.interactive) == (12.5, 8020, True, False)
    assert s.scopes == ("all-apis", "offline_access") and s.token_store == "memory"
    assert s.ca_bundle == str(bundle) and s.verify == str(bundle)


def test_whitespace_is_trimmed(clean_env: dict[str, str]) -> None:
    s = resolve_settings({}, {**DBX_ENV, "DATABRICKS_CLIENT_SECRET": CANARY_DATABRICKS_SECRET + "\n"})
    assert s.client_secret is not None and s.client_secret.reveal() == CANARY_DATABRICKS_SECRET


def test_debug_log_names_sources_never_secret_values(
    clean_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="brickauth"):
        resolve_settings({}, AZ_ENV)
    assert "client_secret = *** (env:AZURE_CLIENT_SECRET)" in caplog.text
    assert "tenant_id = " + TENANT in caplog.text
    assert CANARY_ENTRA_SECRET not in caplog.text


def test_require_host_false(clean_env: dict[str, str]) -> None:
    s = resolve_settings(
        {"auth_type": "azure-m2m"},
        {k: v for k, v in AZ_ENV.items() if k != "DATABRICKS_HOST"},
        require_host=False,
    )
    assert s.host is None


# -- bad inputs ------------------------------------------------------------------------------------

AZ_M2M = {"auth_type": "azure-m2m"}
DBX_M2M = {"auth_type": "databricks-m2m"}


def _without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


# (id, explicit, env, expected code); "{tmp}" in values is the test's temporary directory.
BAD_INPUTS: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    ("host missing", {}, _without(AZ_ENV, "DATABRICKS_HOST"), "BA110"),
    ("host blank", {}, {**AZ_ENV, "DATABRICKS_HOST": ""}, "BA111"),
    ("host spaces only", {}, {**AZ_ENV, "DATABRICKS_HOST": "   "}, "BA111"),
    ("host quoted", {}, {**AZ_ENV, "DATABRICKS_HOST": f'"{AZ_HOST}"'}, "BA102"),
    (
        "host with warehouse path",
        {},
        {**AZ_ENV, "DATABRICKS_HOST": f"https://{AZ_HOST}/sql/1.0/warehouses/ab"},
        "BA113",
    ),
    (
        "account console host",
        {},
        {**AZ_ENV, "DATABRICKS_HOST": "https://accounts.azuredatabricks.net"},
        "BA114",
    ),
    (
        "jdbc url as host",
        {},
        {**AZ_ENV, "DATABRICKS_HOST": f"jdbc:databricks://{AZ_HOST}:443/default;ssl=1"},
        "BA115",
    ),
    ("http scheme", {}, {**AZ_ENV, "DATABRICKS_HOST": f"http://{AZ_HOST}"}, "BA115"),
    ("bad port", {"host": f"{AZ_HOST}:70000"}, AZ_ENV, "BA116"),
    ("host template not rendered", {"host": "{{ env_var('DATABRICKS_HOST') }}"}, AZ_ENV, "BA103"),
    ("unknown auth_type", {"auth_type": "azure-kerberos"}, AZ_ENV, "BA120"),
    ("pat auth_type in profile", {"config_file": "{tmp}/pat.cfg"}, {}, "BA120"),
    ("unknown setting", {"clientid": CLIENT}, AZ_ENV, "BA121"),
    ("tenant missing", AZ_M2M, _without(AZ_ENV, "AZURE_TENANT_ID"), "BA130"),
    ("tenant blank", AZ_M2M, {**AZ_ENV, "AZURE_TENANT_ID": " "}, "BA101"),
    ("tenant malformed", {}, {**AZ_ENV, "AZURE_TENANT_ID": "72f988bf-86f1-41af"}, "BA131"),
    ("tenant common for m2m", {}, {**AZ_ENV, "AZURE_TENANT_ID": "common"}, "BA132"),
    ("client id not a guid", {}, {**AZ_ENV, "AZURE_CLIENT_ID": "my-app"}, "BA133"),
    ("no azure credential", AZ_M2M, _without(AZ_ENV, "AZURE_CLIENT_SECRET"), "BA134"),
    (
        "secret id pasted as secret",
        {},
        {**AZ_ENV, "AZURE_CLIENT_SECRET": "9d7c2b1e-1111-2222-3333-444455556666"},
        "BA135",
    ),
    (
        "databricks secret sent to entra",
        {},
        {**AZ_ENV, "AZURE_CLIENT_SECRET": CANARY_DATABRICKS_SECRET},
        "BA136",
    ),
    (
        "entra secret sent to databricks",
        {},
        {**DBX_ENV, "DATABRICKS_CLIENT_SECRET": CANARY_ENTRA_SECRET},
        "BA137",
    ),
    ("secret quoted", {}, {**AZ_ENV, "AZURE_CLIENT_SECRET": f"'{CANARY_ENTRA_SECRET}'"}, "BA102"),
    ("secret placeholder", {}, {**AZ_ENV, "AZURE_CLIENT_SECRET": "${AZURE_CLIENT_SECRET}"}, "BA103"),
    ("secret equals client id", {}, {**DBX_ENV, "DATABRICKS_CLIENT_SECRET": CLIENT}, "BA138"),
    (
        "certificate missing",
        {},
        {**_without(AZ_ENV, "AZURE_CLIENT_SECRET"), "AZURE_CLIENT_CERTIFICATE_PATH": "{tmp}/nope.pem"},
        "BA140",
    ),
    (
        "certificate not pem",
        {},
        {**_without(AZ_ENV, "AZURE_CLIENT_SECRET"), "AZURE_CLIENT_CERTIFICATE_PATH": "{tmp}/cert.pfx"},
        "BA141",
    ),
    (
        "certificate without key",
        {},
        {**_without(AZ_ENV, "AZURE_CLIENT_SECRET"), "AZURE_CLIENT_CERTIFICATE_PATH": "{tmp}/cert-only.pem"},
        "BA142",
    ),
    (
        "encrypted key without password",
        {},
        {**_without(AZ_ENV, "AZURE_CLIENT_SECRET"), "AZURE_CLIENT_CERTIFICATE_PATH": "{tmp}/enc/cert.pem"},
        "BA143",
    ),
    (
        "federated token file missing",
        {},
        {**_without(AZ_ENV, "AZURE_CLIENT_SECRET"), "AZURE_FEDERATED_TOKEN_FILE": "{tmp}/no-token"},
        "BA145",
    ),
    (
        "federated token file empty",
        {},
        {**_without(AZ_ENV, "AZURE_CLIENT_SECRET"), "AZURE_FEDERATED_TOKEN_FILE": "{tmp}/empty-token"},
        "BA146",
    ),
    (
        "secret and certificate together",
        {},
        {**AZ_ENV, "AZURE_CLIENT_CERTIFICATE_PATH": "{tmp}/cert.pem"},
        "BA147",
    ),
    (
        "entra credentials on an aws workspace",
        AZ_M2M,
        {**AZ_ENV, "DATABRICKS_HOST": "dbc-1.cloud.databricks.com"},
        "BA148",
    ),
    ("profile not found", {"profile": "prod", "config_file": "{tmp}/pat.cfg"}, AZ_ENV, "BA150"),
    ("config file malformed", {}, {**AZ_ENV, "DATABRICKS_CONFIG_FILE": "{tmp}/broken.cfg"}, "BA151"),
    ("config file missing", {}, {**AZ_ENV, "DATABRICKS_CONFIG_FILE": "{tmp}/missing.cfg"}, "BA152"),
    ("timeout not a number", {"timeout": "soon"}, AZ_ENV, "BA160"),
    ("timeout negative", {}, {**AZ_ENV, "BRICKAUTH_TIMEOUT": "-1"}, "BA160"),
    ("redirect port out of range", {"redirect_port": 70000}, AZ_ENV, "BA161"),
    ("boolean not a boolean", {"allow_plaintext_store": "maybe"}, AZ_ENV, "BA162"),
    ("unknown token store", {"token_store": "vault"}, AZ_ENV, "BA163"),
    ("ca bundle missing", {}, {**AZ_ENV, "REQUESTS_CA_BUNDLE": "{tmp}/missing-ca.pem"}, "BA170"),
    ("databricks secret missing", DBX_M2M, _without(DBX_ENV, "DATABRICKS_CLIENT_SECRET"), "BA130"),
    ("databricks secret blank", DBX_M2M, {**DBX_ENV, "DATABRICKS_CLIENT_SECRET": ""}, "BA101"),
    ("databricks client id missing", DBX_M2M, _without(DBX_ENV, "DATABRICKS_CLIENT_ID"), "BA130"),
    (
        "authority host with tenant path",
        {},
        {**AZ_ENV, "AZURE_AUTHORITY_HOST": f"https://login.microsoftonline.com/{TENANT}"},
        "BA119",
    ),
]


def _files(tmp: Path) -> None:
    (tmp / "pat.cfg").write_text(f"[DEFAULT]\nhost = {AZ_HOST}\ntoken = dapi123\nauth_type = pat\n")
    (tmp / "broken.cfg").write_text("host = no section header\n")
    (tmp / "cert.pfx").write_bytes(b"\x30\x82\x01\x00binary")
    (tmp / "empty-token").write_text("\n")
    make_cert(tmp)
    make_cert(tmp, with_key=False)
    (tmp / "enc").mkdir()
    make_cert(tmp / "enc", password=b"pw")


def _subst(value: Any, tmp: Path) -> Any:
    return value.replace("{tmp}", str(tmp)) if isinstance(value, str) else value


def test_bad_input_table_has_25_plus_cases() -> None:
    assert len(BAD_INPUTS) >= 25
    assert len({case[0] for case in BAD_INPUTS}) == len(BAD_INPUTS)


@pytest.mark.parametrize(("name", "explicit", "env", "code"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input(
    name: str,
    explicit: dict[str, Any],
    env: dict[str, str],
    code: str,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    _files(tmp_path)
    explicit = {k: _subst(v, tmp_path) for k, v in explicit.items()}
    env = {k: _subst(v, tmp_path) for k, v in env.items()}
    with pytest.raises(ConfigurationError) as info:
        import brickauth

        brickauth.credentials_provider(env=env, **explicit)()  # as the SQL connector calls it
    text = str(info.value)
    assert info.value.code == code, text
    assert "\n" not in text and text.startswith(f"[{code}] ") and " Fix: " in text
    assert CANARY_ENTRA_SECRET not in text and CANARY_DATABRICKS_SECRET not in text
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, BrickauthError)


_RUNNER = textwrap.dedent(
    """
    import json, os, sys
    import brickauth
    from brickauth.errors import BrickauthError

    cases = json.load(open(sys.argv[1]))
    for name, explicit, env in cases:
        try:
            brickauth.credentials_provider(env=env, **explicit)()  # as the SQL connector calls it
        except BrickauthError as err:  # anything else escapes with a traceback and fails the test
            print(json.dumps([name, str(err)]))
        else:
            print(json.dumps([name, None]))
    """
)


def test_bad_inputs_in_a_fresh_process_give_one_line_and_no_traceback(tmp_path: Path) -> None:
    _files(tmp_path)
    cases = [
        [
            name,
            {k: _subst(v, tmp_path) for k, v in explicit.items()},
            {k: _subst(v, tmp_path) for k, v in env.items()},
        ]
        for name, explicit, env, _ in BAD_INPUTS
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(tmp_path / "cases.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == len(BAD_INPUTS)
    for (name, text), (_, _, _, code) in zip(lines, BAD_INPUTS, strict=True):
        assert text is not None and text.startswith(f"[{code}] "), (name, text)
    assert CANARY_ENTRA_SECRET not in proc.stdout and CANARY_DATABRICKS_SECRET not in proc.stdout
