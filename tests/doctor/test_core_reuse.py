"""The library functions doctor reports through: every settings problem at once, one secret-shape check."""

from __future__ import annotations

import pytest

from brickauth.config import check_settings, resolve_settings, secret_shape_problem
from brickauth.errors import ConfigurationError
from brickauth.hosts import cloud_of_authority_host

ENV = {
    "DATABRICKS_HOST": "accounts.azuredatabricks.net",
    "AZURE_TENANT_ID": "not a tenant!",
    "AZURE_CLIENT_ID": "my-app",
    "AZURE_CLIENT_SECRET": "6f1c2e3d-4b5a-4c6d-9e8f-7a6b5c4d3e2f",
    "BRICKAUTH_TIMEOUT": "soon",
}


def test_check_settings_returns_every_problem_resolve_settings_raises_the_first() -> None:
    check = check_settings({"auth_type": "azure-m2m"}, env=ENV, config_file=None)
    found = [(p.setting, p.error.code) for p in check.problems]
    assert found == [
        ("host", "BA114"),
        ("timeout", "BA160"),
        ("tenant_id", "BA131"),
        ("client_id", "BA133"),
        ("client_secret", "BA135"),
    ]
    assert check.settings is not None and check.settings.auth_type == "azure-m2m"
    assert check.sources["client_secret"] == "env:AZURE_CLIENT_SECRET"
    with pytest.raises(ConfigurationError) as raised:
        resolve_settings({"auth_type": "azure-m2m"}, env=ENV)
    assert raised.value.code == check.problems[0].error.code == "BA114"


def test_a_bad_value_is_not_also_reported_missing() -> None:
    env = {"DATABRICKS_HOST": "adb-1.2.azuredatabricks.net", "AZURE_TENANT_ID": '"abc.onmicrosoft.com"'}
    check = check_settings({"auth_type": "azure-m2m", "client_id": "0a1b2c3d-1111-2222-3333-444455556666",
                            "client_secret": "x~y"}, env=env)  # fmt: skip
    assert [(p.setting, p.error.code) for p in check.problems] == [("tenant_id", "BA102")]


@pytest.mark.parametrize(
    ("value", "sent_to", "code"),
    [
        ("6f1c2e3d-4b5a-4c6d-9e8f-7a6b5c4d3e2f", "azure", "BA135"),
        ("dose0123456789abcdef0123456789abcdef", "azure", "BA136"),
        ("Abc8Q~abcdefghijklmnopqrstuvwxyz0123456", "databricks", "BA137"),
        ("6f1c2e3d-4b5a-4c6d-9e8f-7a6b5c4d3e2f", "databricks", "BA135"),
        ("Abc8Q~abcdefghijklmnopqrstuvwxyz0123456", "azure", None),
        ("dose0123456789abcdef0123456789abcdef", "databricks", None),
    ],
)
def test_secret_shapes(value: str, sent_to: str, code: str | None) -> None:
    problem = secret_shape_problem(value, sent_to=sent_to)  # type: ignore[arg-type]
    assert (problem.code if problem else None) == code
    if problem:
        assert value not in str(problem)  # never the secret itself


def test_cloud_of_authority_host() -> None:
    assert cloud_of_authority_host("https://login.chinacloudapi.cn") == "azure-china"
    assert cloud_of_authority_host("login.microsoftonline.us/") == "azure-usgov"
    assert cloud_of_authority_host("https://127.0.0.5") is None
