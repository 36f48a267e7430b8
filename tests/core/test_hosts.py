"""WorkspaceHost.parse: shapes users type, cloud and authority detection, refusals."""

from __future__ import annotations

import logging

import pytest

from brickauth.errors import ConfigurationError
from brickauth.hosts import WorkspaceHost, is_known_authority_host, normalize_authority_host


@pytest.mark.parametrize(
    ("text", "url", "cloud", "authority"),
    [
        (
            "adb-123.4.azuredatabricks.net",
            "https://adb-123.4.azuredatabricks.net",
            "azure",
            "https://login.microsoftonline.com",
        ),
        (
            "https://adb-123.4.azuredatabricks.net/",
            "https://adb-123.4.azuredatabricks.net",
            "azure",
            "https://login.microsoftonline.com",
        ),
        (
            "HTTPS://ADB-1.2.AzureDatabricks.NET/?o=123#folder",
            "https://adb-1.2.azuredatabricks.net",
            "azure",
            "https://login.microsoftonline.com",
        ),
        (
            "adb-9.9.databricks.azure.cn",
            "https://adb-9.9.databricks.azure.cn",
            "azure-china",
            "https://login.chinacloudapi.cn",
        ),
        (
            "adb-9.9.databricks.azure.us",
            "https://adb-9.9.databricks.azure.us",
            "azure-usgov",
            "https://login.microsoftonline.us",
        ),
        (
            "dbc-a1b2.cloud.databricks.com",
            "https://dbc-a1b2.cloud.databricks.com",
            "aws",
            "https://login.microsoftonline.com",
        ),
        (
            "1234.5.gcp.databricks.com",
            "https://1234.5.gcp.databricks.com",
            "gcp",
            "https://login.microsoftonline.com",
        ),
        ("127.44.3.9", "https://127.44.3.9", "unknown", "https://login.microsoftonline.com"),
        (
            "https://127.44.3.9:8443/",
            "https://127.44.3.9:8443",
            "unknown",
            "https://login.microsoftonline.com",
        ),
        (
            "  adb-1.2.azuredatabricks.net:443  ",
            "https://adb-1.2.azuredatabricks.net",
            "azure",
            "https://login.microsoftonline.com",
        ),
        ("[::1]:8443", "https://[::1]:8443", "unknown", "https://login.microsoftonline.com"),
    ],
)
def test_parse_accepts(text: str, url: str, cloud: str, authority: str) -> None:
    host = WorkspaceHost.parse(text)
    assert (host.url, host.cloud, host.entra_authority_host) == (url, cloud, authority)


def test_port_and_ip() -> None:
    host = WorkspaceHost.parse("127.1.2.3:4443")
    assert (host.hostname, host.port, host.is_ip, host.netloc) == ("127.1.2.3", 4443, True, "127.1.2.3:4443")
    assert WorkspaceHost.parse("adb-1.2.azuredatabricks.net").port == 443


def test_authority_override_wins() -> None:
    host = WorkspaceHost.parse("adb-1.2.azuredatabricks.net", authority_host="127.9.9.9/")
    assert host.entra_authority_host == "https://127.9.9.9"


def test_path_is_stripped_with_debug_note(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="brickauth.hosts"):
        host = WorkspaceHost.parse("https://adb-1.2.azuredatabricks.net/browse/folders")
    assert host.url == "https://adb-1.2.azuredatabricks.net"
    assert "ignoring the path" in caplog.text


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("", "BA111", "blank"),
        ('"adb-1.2.azuredatabricks.net"', "BA112", "quote"),
        ("https://adb-1.2.azuredatabricks.net/sql/1.0/warehouses/abc", "BA113", "http_path"),
        ("accounts.azuredatabricks.net", "BA114", "account console"),
        ("https://accounts.cloud.databricks.com/", "BA114", "account console"),
        ("accounts.gcp.databricks.com", "BA114", "account console"),
        ("jdbc:databricks://adb-1.2.azuredatabricks.net:443/default;transportMode=http", "BA115", "JDBC"),
        ("http://adb-1.2.azuredatabricks.net", "BA115", "https"),
        ("adb-1.2.azuredatabricks.net:99999", "BA116", "port"),
        ("adb 1.azuredatabricks.net", "BA117", "white space"),
        ("https://user:pw@adb-1.2.azuredatabricks.net", "BA117", "user information"),
        ("https://under_score!.net", "BA117", "not a valid host name"),
    ],
)
def test_parse_refuses(text: str, code: str, needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        WorkspaceHost.parse(text)
    assert info.value.code == code
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_account_console_allowed_when_asked() -> None:
    assert WorkspaceHost.parse("accounts.azuredatabricks.net", allow_account_console=True).cloud == "azure"


def test_authority_helpers() -> None:
    assert normalize_authority_host("login.microsoftonline.us/") == "https://login.microsoftonline.us"
    assert is_known_authority_host("https://login.chinacloudapi.cn")
    assert not is_known_authority_host("https://127.0.0.5")
    with pytest.raises(ConfigurationError, match="BA119"):
        normalize_authority_host("https://login.microsoftonline.com/contoso")
    with pytest.raises(ConfigurationError, match="BA119"):
        normalize_authority_host("http://login.microsoftonline.com")
