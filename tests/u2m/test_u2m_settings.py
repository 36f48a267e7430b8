"""The U2M settings (login_timeout, no_browser, browser): explicit > environment > ~/.databrickscfg,
validation, sources, and how the sign-in sources and the CLI use them. No network."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from brickauth.browser import browser_available, open_browser
from brickauth.cli import session
from brickauth.cli.main import build_parser
from brickauth.config import DEFAULT_LOGIN_TIMEOUT, resolve_settings
from brickauth.errors import ConfigurationError
from brickauth.flows.azure_u2m import AzureU2MSource
from brickauth.flows.databricks_u2m import DatabricksU2MSource
from brickauth.store.memory import MemoryStore

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """The workspace, and an empty config file instead of the machine's ~/.databrickscfg."""
    empty = tmp_path / "empty.databrickscfg"
    empty.write_text("")
    return {"DATABRICKS_HOST": HOST, "DATABRICKS_CONFIG_FILE": str(empty)}


def profile(tmp_path: Path, **keys: str) -> Path:
    cfg = tmp_path / "databrickscfg"
    cfg.write_text("[DEFAULT]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    return cfg


def test_defaults_have_no_source(base_env: dict[str, str], tmp_path: Path) -> None:
    s = resolve_settings({"auth_type": "databricks-u2m"}, base_env, profile(tmp_path))
    assert (
        (s.login_timeout, s.no_browser, s.browser)
        == (DEFAULT_LOGIN_TIMEOUT, False, None)
        == (120.0, False, None)
    )
    assert [s.source_of(n) for n in ("login_timeout", "no_browser", "browser")] == [None, None, None]


def test_explicit_beats_env_beats_profile(base_env: dict[str, str], tmp_path: Path) -> None:
    cfg = profile(tmp_path, login_timeout="30", no_browser="true", browser="firefox %s")
    from_profile = resolve_settings({"auth_type": "azure-u2m"}, base_env, cfg)
    assert (from_profile.login_timeout, from_profile.no_browser, from_profile.browser) == (
        30.0,
        True,
        "firefox %s",
    )
    assert from_profile.source_of("browser") == f"profile:{cfg}[DEFAULT]:browser"

    env = {
        **base_env,
        "BRICKAUTH_LOGIN_TIMEOUT": "45",
        "BRICKAUTH_NO_BROWSER": "0",
        "BRICKAUTH_BROWSER": '"/opt/my browser/chrome" --new-window %s',
    }
    from_env = resolve_settings({"auth_type": "azure-u2m"}, env, cfg)
    assert (from_env.login_timeout, from_env.no_browser) == (45.0, False)
    assert from_env.browser == '"/opt/my browser/chrome" --new-window %s'  # quotes are fine in a command
    assert from_env.source_of("login_timeout") == "env:BRICKAUTH_LOGIN_TIMEOUT"
    assert from_env.source_of("no_browser") == "env:BRICKAUTH_NO_BROWSER"

    explicit = resolve_settings(
        {"auth_type": "azure-u2m", "login_timeout": 5, "no_browser": True, "browser": "w3m"}, env, cfg
    )
    assert (explicit.login_timeout, explicit.no_browser, explicit.browser) == (5.0, True, "w3m")
    assert {explicit.source_of(n) for n in ("login_timeout", "no_browser", "browser")} == {"explicit"}
    described = "\n".join(explicit.describe())
    assert "login_timeout = 5.0 (explicit)" in described and "no_browser = True (explicit)" in described


@pytest.mark.parametrize(("env", "code", "text"), [
    ({"BRICKAUTH_LOGIN_TIMEOUT": "soon"}, "BA160", "BRICKAUTH_LOGIN_TIMEOUT must be a positive number"),
    ({"BRICKAUTH_LOGIN_TIMEOUT": "0"}, "BA160", "BRICKAUTH_LOGIN_TIMEOUT must be a positive number"),
    ({"BRICKAUTH_NO_BROWSER": "maybe"}, "BA162", "BRICKAUTH_NO_BROWSER must be true or false"),
    ({"BRICKAUTH_BROWSER": '"/opt/browser %s'}, "BA164", "BRICKAUTH_BROWSER cannot be split into a command"),
])  # fmt: skip
def test_bad_values_are_refused_naming_the_variable(
    base_env: dict[str, str], env: dict[str, str], code: str, text: str
) -> None:
    with pytest.raises(ConfigurationError) as err:
        resolve_settings({"auth_type": "databricks-u2m"}, {**base_env, **env})
    assert err.value.code == code and text in str(err.value)
    assert "\n" not in str(err.value)


def test_sources_use_the_settings_and_explicit_arguments_override_them(base_env: dict[str, str]) -> None:
    env = {**base_env, "BRICKAUTH_LOGIN_TIMEOUT": "33", "BRICKAUTH_NO_BROWSER": "yes"}
    settings = resolve_settings({"auth_type": "databricks-u2m"}, env)
    source = DatabricksU2MSource(settings, store=MemoryStore())
    assert (source.login_timeout, source.no_browser) == (33.0, True)
    overridden = DatabricksU2MSource(settings, store=MemoryStore(), login_timeout=7, no_browser=False)
    assert (overridden.login_timeout, overridden.no_browser) == (7, False)


def test_browser_setting_decides_availability_and_what_opens() -> None:
    no_display: dict[str, str] = {}
    assert browser_available(False, env=no_display)[0] is False
    assert browser_available(False, command="firefox %s", env=no_display) == (
        True,
        "a browser command is configured",
    )
    assert browser_available(True, command="firefox %s", env=no_display)[0] is False
    with socket.socket() as listener:  # the "browser" reports the URL it was given here
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(30)
        report = (
            f"import socket, sys; socket.create_connection(('127.0.0.1', {listener.getsockname()[1]}), "
            "timeout=30).sendall(sys.argv[1].encode())"
        )
        assert open_browser("https://example.test/a?b=1&c=%20", command=f'{sys.executable} -c "{report}" %s')
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(30)
            assert conn.recv(4096).decode() == "https://example.test/a?b=1&c=%20"


def test_login_command_is_shared_by_both_flows(base_env: dict[str, str]) -> None:
    env = {**base_env, "AZURE_TENANT_ID": TENANT}
    azure = AzureU2MSource(
        resolve_settings({"auth_type": "azure-u2m", "login_hint": "ana@contoso.com"}, env),
        store=MemoryStore(),
    )
    assert azure.login_command() == (
        f"brickauth login --host {HOST} --auth-type azure-u2m --tenant-id {TENANT} "
        "--login-hint ana@contoso.com"
    )
    dbx = DatabricksU2MSource(
        resolve_settings({"auth_type": "databricks-u2m", "client_id": "my-app"}, env), store=MemoryStore()
    )
    assert (
        dbx.login_command() == f"brickauth login --host {HOST} --auth-type databricks-u2m --client-id my-app"
    )


def test_cli_login_options_become_explicit_settings() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["login", "--auth-type", "databricks-u2m", "--no-browser", "--browser", "w3m %s", "--timeout", "9"]
    )
    assert session._explicit(args) == {
        "auth_type": "databricks-u2m",
        "no_browser": True,
        "browser": "w3m %s",
        "login_timeout": 9.0,
    }
    unset = parser.parse_args(["login", "--auth-type", "databricks-u2m"])
    assert session._explicit(unset) == {"auth_type": "databricks-u2m"}  # the environment decides


def test_child_clock_shift_is_test_only() -> None:
    """tests/clockshift moves a child's U2M clock; production code reads no such variable."""
    import os
    import subprocess
    import sys

    import brickauth.oauth.u2m as u2m

    assert not hasattr(u2m, "process_clock")
    code = ("import time; from brickauth.oauth.u2m import DEFAULT_CLOCK; "
            "print(DEFAULT_CLOCK.now() - time.time())")
    env = {**os.environ, "BRICKAUTH_TEST_CLOCK_OFFSET": "2700"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert 2699 < float(out.stdout) < 2701, out.stderr
