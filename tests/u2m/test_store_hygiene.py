"""Issue 10, token store and lifecycle: a killed save leaves no token copies; `logout --all` leaves no
token on disk; every corrupt saved sign-in is dropped with a warning and treated as signed out; callers
waiting for a token are bounded when the identity provider hangs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from u2m_harness import brickauth

from brickauth.config import resolve_settings
from brickauth.errors import LoginRequiredError, NetworkError
from brickauth.flows.azure_u2m import AzureU2MSource
from brickauth.flows.databricks_u2m import DatabricksU2MSource
from brickauth.lifecycle import RefreshingToken
from brickauth.oauth.u2m import U2MSource
from brickauth.store.file import FileStore
from brickauth.store.keys import StoreKey
from brickauth.store.memory import MemoryStore
from brickauth.token import AccessToken
from brickauth.windows import RefreshPolicy

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

SAVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from brickauth.store.file import FileStore
    from brickauth.store.keys import StoreKey
    store = FileStore(Path(sys.argv[1]), lock_dir=Path(sys.argv[1]) / "locks")
    key = StoreKey("https://example.test", "databricks-cli", ("all-apis",), "", flow="databricks-u2m")
    doc = {"flow": "databricks-u2m", "access_token": "t" * 4000, "refresh_token": "r" * 4000,
           "expires_at": 9e9, "obtained_at": 0}
    store.save(key, doc)
    print("saving", flush=True)
    while True:
        store.save(key, doc)
""")


def token_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []


def test_a_save_killed_again_and_again_leaves_no_token_copy(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    for _ in range(12):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(tokens)], stdout=subprocess.PIPE,
                                 text=True)  # fmt: skip
        assert saver.stdout is not None and saver.stdout.readline() == "saving\n"
        saver.kill()  # SIGKILL, mid-save most of the time
        saver.wait(timeout=30)
    # and one that certainly died holding a temporary file
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    (tokens / f".tmp-{dead}-abc123").write_text('{"doc": {"refresh_token": "left-over"}}')
    live = tokens / f".tmp-{1}-in-progress"  # pid 1 is alive: another process's save in progress
    live.write_text("{}")

    store = FileStore(tokens, lock_dir=tmp_path / "locks")  # the next start
    names = token_files(tokens)
    assert [n for n in names if n.startswith(".tmp-")] == [live.name]
    assert len([n for n in names if n.startswith("brickauth-")]) == 1
    live.unlink()
    (tokens / "brickauth-corrupt.json").write_text("{not json")  # not even listed by keys()
    assert len(store.keys()) == 1


def test_logout_all_leaves_no_token_on_disk(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"PATH": "/usr/bin:/bin", "BRICKAUTH_STATE_DIR": str(state), "BRICKAUTH_TOKEN_STORE": "file",
           "DATABRICKS_CONFIG_FILE": str(tmp_path / "cfg")}
    (tmp_path / "cfg").write_text("")
    saver = subprocess.Popen([sys.executable, "-c", SAVER, str(state / "tokens")], stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    assert saver.stdout is not None and saver.stdout.readline() == "saving\n"
    saver.kill()
    saver.wait(timeout=30)
    (state / "tokens" / "brickauth-corrupt.json").write_text("{not json")
    done = brickauth("logout", "--all", env=env)
    assert done.returncode == 0, done.stderr
    assert token_files(state / "tokens") == []
    assert not [p for p in state.rglob("*") if p.is_file() and "r" * 100 in p.read_text(errors="replace")]


# -- corrupt entries ------------------------------------------------------------------------------

NOW = time.time()
DBX_DOC = {"flow": "databricks-u2m", "account": "a@contoso.com", "access_token": "a" * 40,
           "refresh_token": "doau" + "r" * 40, "token_type": "Bearer", "expires_at": NOW + 3600,
           "obtained_at": NOW}  # fmt: skip
MSAL_OK = json.dumps({"AccessToken": {}, "RefreshToken": {}, "Account": {}, "IdToken": {}, "AppMetadata": {}})
AZ_DOC = {"flow": "azure-u2m", "account": "a@contoso.com", "home_account_id": "h.t", "expires_at": NOW + 3600,
          "obtained_at": NOW, "msal_cache": MSAL_OK}  # fmt: skip

DBX_BAD = [("access_token", ""), ("access_token", None), ("access_token", 5), ("access_token", ["x"]),
           ("access_token", "   "), ("expires_at", "soon"), ("expires_at", None), ("expires_at", True),
           ("obtained_at", "x"), ("refresh_token", 7), ("refresh_token", ""), ("account", 5),
           ("token_type", []), ("flow", "azure-u2m")]  # fmt: skip
AZ_BAD = [("msal_cache", None), ("msal_cache", 5), ("msal_cache", "not json"), ("msal_cache", "[]"),
          ("msal_cache", '{"AccessToken": []}'),
          ("msal_cache", '{"AccessToken": {"k": {"secret": "", "expires_on": "1"}}}'),
          ("msal_cache", '{"AccessToken": {"k": {"secret": "x", "expires_on": "soon"}}}'),
          ("msal_cache", '{"RefreshToken": {"k": {"secret": 5}}}'), ("msal_cache", '{"Account": {"k": 1}}'),
          ("home_account_id", 5), ("expires_at", "x"), ("account", {})]  # fmt: skip


EMPTY_CFG = Path(__file__).parent / "empty.databrickscfg"  # an empty ~/.databrickscfg stand-in


def source(flow: str, store: Any) -> U2MSource:
    env = {"DATABRICKS_HOST": HOST, "AZURE_TENANT_ID": TENANT, "DATABRICKS_CONFIG_FILE": str(EMPTY_CFG)}
    settings = resolve_settings({"auth_type": flow, "interactive": False}, env)
    cls = AzureU2MSource if flow == "azure-u2m" else DatabricksU2MSource
    return cls(settings, store=store)


@pytest.mark.parametrize(("flow", "field", "value"),
                         [("databricks-u2m", *b) for b in DBX_BAD] + [("azure-u2m", *b) for b in AZ_BAD])
def test_every_corrupt_field_is_dropped_and_means_signed_out(
    flow: str, field: str, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    src = source(flow, store)
    doc = dict(DBX_DOC if flow == "databricks-u2m" else AZ_DOC)
    doc[field] = value
    store.save(src.key, doc)
    with caplog.at_level(logging.WARNING), pytest.raises(LoginRequiredError) as err:
        src.fetch()
    assert err.value.code == "BA602" and "no saved sign-in was found" in err.value.message
    assert store.load(src.key) is None
    warning = [r.getMessage() for r in caplog.records if "Dropped a corrupt saved sign-in" in r.getMessage()]
    assert len(warning) == 1 and f"(field {field}" in warning[0]
    assert "aaaa" not in warning[0]  # names the field, never a value


def test_a_valid_entry_is_kept() -> None:
    store = MemoryStore()
    src = source("databricks-u2m", store)
    store.save(src.key, dict(DBX_DOC))
    assert src.fetch().token == "a" * 40


def test_the_cli_treats_a_corrupt_entry_as_signed_out(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"PATH": "/usr/bin:/bin", "BRICKAUTH_STATE_DIR": str(state), "BRICKAUTH_TOKEN_STORE": "file",
           "DATABRICKS_CONFIG_FILE": str(EMPTY_CFG), "DATABRICKS_HOST": HOST, "BRICKAUTH_INTERACTIVE": "0"}
    store = FileStore(state / "tokens", lock_dir=state / "locks")
    src = source("databricks-u2m", store)
    store.save(src.key, dict(DBX_DOC, access_token=12345))
    token = brickauth("token", "--auth-type", "databricks-u2m", env=env)
    assert token.returncode == 1 and "[BA602]" in token.stderr
    assert "Dropped a corrupt saved sign-in" in token.stderr and "Traceback" not in token.stderr
    store.save(src.key, dict(DBX_DOC, expires_at="tomorrow"))
    status = brickauth("status", env=env)
    assert status.returncode == 1 and "No saved sign-ins" in status.stdout
    assert "Dropped a corrupt saved sign-in" in status.stderr


# -- callers waiting for a refresh are bounded ----------------------------------------------------


class HungSource:
    """An identity provider that never answers (until released)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def describe(self) -> str:
        return "hung test source"

    def fetch(self) -> AccessToken:
        self.calls += 1
        self.release.wait()
        return AccessToken(token="late", expires_at=time.time() + 3600)


def test_each_waiting_caller_gets_an_error_within_the_deadline() -> None:
    hung = HungSource()
    lifecycle = RefreshingToken(hung, policy=RefreshPolicy(wait_deadline=0.5))
    errors: list[BaseException] = []
    elapsed: list[float] = []

    def caller() -> None:
        started = time.monotonic()
        try:
            lifecycle.get()
        except NetworkError as exc:
            errors.append(exc)
        finally:
            elapsed.append(time.monotonic() - started)

    threads = [threading.Thread(target=caller) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    hung.release.set()
    assert len(errors) == 6 and {e.code for e in errors} == {"BA503"}  # type: ignore[attr-defined]
    assert "within 0.5 s" in str(errors[0]) and "hung test source" in str(errors[0])
    assert max(elapsed) < 30  # bounded (0.5 s each; generous for a loaded machine), never unbounded
    assert hung.calls <= 6


def test_u2m_sources_document_their_deadline() -> None:
    src = source("databricks-u2m", MemoryStore())
    assert src.fetch_deadline == 90.0 + 2 * src.settings.timeout  # non-interactive: lock + one refresh
    key = StoreKey(HOST, "databricks-cli", ("all-apis",), "", flow="databricks-u2m")
    assert key.flow == "databricks-u2m"
