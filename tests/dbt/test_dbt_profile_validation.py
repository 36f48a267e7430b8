"""Bad ``type: brickauth`` profiles: dbt's own error display, our one-line cause and fix, no secret.

The table runs dbt's real profile loader in this process (seconds for all cases); two cases also run
the dbt CLI to show what a user sees. No network: validation happens before any token request.
"""

from __future__ import annotations

import os
import uuid
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import write_profile

pytestmark = pytest.mark.dbt

CANARY = "cAn8Q~" + uuid.uuid4().hex + "CanaryZz"  # shaped like an Entra secret value
TENANT = str(uuid.uuid4())
CLIENT = str(uuid.uuid4())
HOST = "adb-1234567890123456.7.azuredatabricks.net"
HTTP_PATH = "/sql/1.0/warehouses/abcdef0123456789"
PREFIX = 'Credentials in profile "brickauth_sample", target "dev" invalid:'


def base(**over: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "type": "brickauth",
        "auth_type": "azure-m2m",
        "host": HOST,
        "http_path": HTTP_PATH,
        "catalog": "main",
        "schema": "analytics",
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": CANARY,
    }
    for key, value in over.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    return profile


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Databricks/Azure/brickauth variable or ~/.databrickscfg from the machine or another test."""
    for key in list(os.environ):
        if key.startswith(("DATABRICKS_", "AZURE_", "ARM_", "BRICKAUTH_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))


def load(profile: dict[str, Any]) -> Any:
    """dbt-core's own profile loading (as `dbt debug`/`dbt parse` do), returning the Profile."""
    from dbt.config.profile import Profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)
    set_from_args(Namespace(), {})
    raw = {"brickauth_sample": {"target": "dev", "outputs": {"dev": dict(profile)}}}
    loaded = Profile.from_raw_profiles(raw, "brickauth_sample", ProfileRenderer({}))
    loaded.validate()
    return loaded


BAD_PROFILES = [
    pytest.param(
        base(auth_type="oauth"), "BA120", "Unknown auth_type 'oauth'", id="dbt-databricks-auth-type"
    ),
    pytest.param(base(auth_type="azure-m2n"), "BA120", "azure-m2m", id="auth-type-typo"),
    pytest.param(base(host=None), "BA173", "Profile key `host` is missing", id="missing-host"),
    pytest.param(base(host=""), "BA173", "Profile key `host` is missing", id="blank-host"),
    pytest.param(
        base(host="https://accounts.azuredatabricks.net"), "BA114", "account console", id="account-console"
    ),
    pytest.param(base(client_secret=str(uuid.uuid4())), "BA135", "secret ID", id="secret-id-pasted"),
    pytest.param(
        base(client_secret="dose" + "0" * 32), "BA136", "Databricks OAuth secret", id="dbx-secret-to-entra"
    ),
    pytest.param(
        base(auth_type="databricks-m2m", tenant_id=None),
        "BA137",
        "Entra ID client secret",
        id="entra-secret-to-dbx",
    ),
    pytest.param(base(tenant_id=None), "BA130", "tenant", id="missing-tenant"),
    pytest.param(base(tenant_id="my tenant"), "BA131", "tenant", id="malformed-tenant"),
    pytest.param(base(client_id="my-app"), "BA133", "client", id="client-id-not-guid"),
    pytest.param(base(host="dbc-1234.cloud.databricks.com"), "BA148", "AWS", id="entra-on-aws"),
    pytest.param(
        base(client_secret=None, client_certificate_path="/nonexistent/sp.pem"),
        "BA140",
        "does not exist",
        id="certificate-missing",
    ),
    pytest.param(base(redirect_port="eighty"), "BA161", "port", id="redirect-port-text"),
    pytest.param(base(token="dapi" + "0" * 32), "BA174", "`token`", id="pat-token-key"),
    pytest.param(
        base(azure_client_secret=CANARY), "BA174", "`azure_client_secret`", id="dbt-databricks-azure-key"
    ),
    pytest.param(base(client_secert=CANARY), "BA175", "`client_secret`", id="typo-key-suggests"),
    pytest.param(base(connection_parameters={"use_kernel": True}), "BA176", "use_kernel", id="use-kernel"),
    pytest.param(base(token_store="vault"), "BA163", "token_store", id="unknown-token-store"),
    # issue 10: a missing http_path is one line (dbt-databricks alone fails later with a traceback)
    pytest.param(base(http_path=None), "BA173", "Profile key `http_path` is missing", id="missing-http-path"),
    pytest.param(base(http_path=""), "BA173", "Profile key `http_path` is missing", id="blank-http-path"),
    # issue 10: a blank secret (an unset CI secret rendered by env_var) is BA101 for every flow
    *[pytest.param(base(auth_type=flow, client_secret=""), "BA101", "is set but blank", id=f"blank-{flow}")
      for flow in ("azure-m2m", "databricks-m2m", "azure-u2m", "databricks-u2m", "auto")],
    pytest.param(base(client_certificate_password="", client_secret=None, client_certificate_path="/x.pem"),
                 "BA101", "client_certificate_password is set but blank", id="blank-certificate-password"),
]


@pytest.mark.parametrize(("profile", "code", "text"), BAD_PROFILES)
def test_bad_profile_names_cause_and_fix(
    clean_env: None, profile: dict[str, Any], code: str, text: str
) -> None:
    from dbt.exceptions import DbtProfileError

    with pytest.raises(DbtProfileError) as info:
        load(profile)
    message = str(info.value)
    assert PREFIX in message, message
    ours = message.split(PREFIX, 1)[1].strip()
    assert ours.startswith(f"[{code}]") or f"[{code}]" in ours.splitlines()[0], message
    assert text in ours, message
    assert "Fix:" in ours, message
    assert len(ours.splitlines()) == 1, f"not one line: {ours!r}"
    assert CANARY not in message


def test_good_profile_keeps_databricks_type_and_hides_secrets(clean_env: None) -> None:
    loaded = load(base(host=f"https://{HOST}/"))
    creds = loaded.credentials
    assert type(creds).__name__ == "BrickauthCredentials"
    assert creds.type == "databricks"  # dbt picks the Databricks adapter; target.type is databricks
    assert creds.host == HOST  # URL copied from the browser, normalised for the connector
    target = loaded.to_target_dict()
    assert target["type"] == "databricks"
    assert CANARY not in repr(creds) and CANARY not in str(target)
    manager = creds._credentials_manager
    assert manager.to_dict() == {"host": HOST, "auth_type": "azure-m2m"}  # what dbt serialises/validates
    assert manager.provider.auth_type() == "brickauth-azure-m2m"
    assert manager.provider.settings.source_of("client_secret") == "explicit"


def test_same_settings_share_one_provider(clean_env: None) -> None:
    """Every DatabricksCredentialManager.create_from for this profile (SQL, REST, copies) -> one token."""
    from dbt.adapters.databricks.credentials import DatabricksCredentialManager

    first = load(base()).credentials
    second = load(base()).credentials
    assert first._credentials_manager.provider is second._credentials_manager.provider
    rest_manager = DatabricksCredentialManager.create_from(first)  # what the 1.11+ REST client calls
    assert rest_manager.provider is first._credentials_manager.provider
    other = load(base(schema="other", client_secret=CANARY + "x")).credentials
    assert other._credentials_manager.provider is not first._credentials_manager.provider


def test_non_brickauth_profiles_are_untouched(clean_env: None) -> None:
    """The interception only answers for brickauth credentials: a plain Databricks profile is as before."""
    from dbt.adapters.databricks.credentials import DatabricksCredentialManager

    loaded = load(
        {"type": "databricks", "host": HOST, "http_path": HTTP_PATH, "schema": "s", "token": "dapi0"}
    )
    manager = loaded.credentials._credentials_manager
    assert type(manager) is DatabricksCredentialManager
    assert manager.token == "dapi0"


def test_dbt_cli_without_http_path_is_one_line_not_a_traceback(dbt: Any, tmp_path: Path) -> None:
    profiles = write_profile(tmp_path / "no-path", base(http_path=None))
    result = dbt("debug", profile=profiles)
    assert result.returncode != 0
    assert "[BA173] Profile key `http_path` is missing" in result.output, result.summary()
    assert "Traceback" not in result.everything
    assert CANARY not in result.everything


def test_dbt_cli_shows_our_line_in_its_error_display(dbt: Any, tmp_path: Path) -> None:
    profiles = write_profile(tmp_path / "bad", base(host="https://accounts.azuredatabricks.net"))
    result = dbt("debug", profile=profiles)
    assert result.returncode != 0
    assert "profiles.yml file [ERROR invalid]" in result.output, result.summary()
    assert PREFIX in result.output, result.summary()
    assert "[BA114]" in result.output and "Fix: Use the workspace URL" in result.output, result.summary()
    assert "Traceback" not in result.everything
    assert CANARY not in result.everything

    profiles = write_profile(tmp_path / "bad2", base(auth_type="azure-u2n"))
    result = dbt("parse", profile=profiles)
    assert result.returncode != 0
    assert PREFIX in result.output and "[BA120]" in result.output, result.summary()
    assert "Traceback" not in result.everything
    assert CANARY not in result.everything
