"""Doctor's token store check (real keyring backends from tests/store) and the cached U2M sign-in
(read from the real store the flows use; never a browser)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest

from brickauth.doctor.checks.store import check_store
from brickauth.doctor.checks.token import check_token
from brickauth.doctor.model import Check, Finding
from brickauth.doctor.plan import Plan, build_plan
from brickauth.doctor.runner import run_checks
from brickauth.doctor.sources import gather

STORE_TESTS = Path(__file__).parent.parent / "store"
# The test backends, imported by the fixture below and not at collection: once imported, they
# register with keyring's backend discovery for the rest of the process.
FileKeyring: Any = None
HangingKeyring: Any = None
LimitedFileKeyring: Any = None

HOST = "adb-1234567890123456.7.azuredatabricks.net"
NO_CFG = Path("/nonexistent/.databrickscfg")


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BRICKAUTH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BRICKAUTH_TEST_KEYRING_FILE", str(tmp_path / "default-keyring.json"))
    for name in ("BRICKAUTH_TOKEN_STORE", "BRICKAUTH_ALLOW_PLAINTEXT_STORE", "BRICKAUTH_KEYRING_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    import brickauth.store as store

    store._warned.clear()
    before = keyring.get_keyring()
    if str(STORE_TESTS) not in sys.path:
        sys.path.insert(0, str(STORE_TESTS))
    global FileKeyring, HangingKeyring, LimitedFileKeyring
    from keyrings_for_tests import FileKeyring, HangingKeyring, LimitedFileKeyring
    yield
    keyring.set_keyring(before)


def plan_for(auth_type: str = "databricks-u2m", **env: str) -> Plan:
    environment = {"DATABRICKS_HOST": HOST, **env}
    return build_plan(gather({"auth_type": auth_type}, env=environment, config_file=NO_CFG))


def run_one(plan: Plan, func: Any, *, step_timeout: float = 2.0, refresh: bool = False) -> list[Finding]:
    return run_checks(
        plan, checks=[Check("x", "X", func, target="keyring")], step_timeout=step_timeout, deadline=10,
        refresh=refresh,
    )  # fmt: skip


# -- token store ---------------------------------------------------------------------------------------


def test_store_check_names_the_backend_and_takes_the_lock(tmp_path: Path) -> None:
    keyring.set_keyring(FileKeyring(tmp_path / "keyring.json"))
    findings = run_one(plan_for(), check_store)
    assert [f.status for f in findings] == ["ok", "ok"], [f.summary for f in findings]
    assert "keyring (keyrings for tests FileKeyring)" in findings[0].summary
    assert "no entry size limit" in findings[0].summary
    assert "lock taken and released" in findings[1].summary
    assert FileKeyring(tmp_path / "keyring.json").entries() == {}  # the probe cleaned up after itself


def test_store_check_reports_the_1280_character_limit(tmp_path: Path) -> None:
    keyring.set_keyring(LimitedFileKeyring(tmp_path / "keyring.json"))
    [store, lock] = run_one(plan_for(), check_store)
    assert store.status == "ok", store.summary
    assert store.details["chunk_size"] == 1000 and "split into chunks" in store.summary
    assert lock.status == "ok"


def test_a_hanging_keyring_is_named_within_the_bound() -> None:
    HangingKeyring.release.clear()
    keyring.set_keyring(HangingKeyring())
    started = time.monotonic()
    try:
        [finding] = run_one(plan_for(), check_store, step_timeout=1.0)
    finally:
        HangingKeyring.release.set()
    assert time.monotonic() - started < 3 * 1.0  # generous: the keyring itself never answers
    assert (finding.status, finding.cause_id) == ("fail", "store.keyring_locked")
    assert "did not answer within 0.25 s" in finding.summary  # its bound: a quarter of the step's


def test_no_keyring_backend_is_a_warning_for_u2m_and_fine_for_m2m() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    [store, lock] = run_one(plan_for(), check_store)
    assert (store.status, store.cause_id) == ("warn", "store.no_keyring_backend")
    assert "memory" in store.summary and lock.status == "ok"
    m2m = plan_for("databricks-m2m", DATABRICKS_CLIENT_ID="sp", DATABRICKS_CLIENT_SECRET="dose" + "ab" * 16)
    [store, _] = run_one(m2m, check_store)
    assert store.status == "ok" and "not needed for M2M" in store.summary


def test_a_lock_held_by_another_process_is_reported_without_hanging(tmp_path: Path) -> None:
    keyring.set_keyring(FileKeyring(tmp_path / "keyring.json"))
    plan = plan_for()
    from brickauth.clock import SYSTEM_CLOCK
    from brickauth.doctor.knowledge import load
    from brickauth.doctor.model import Context
    from brickauth.doctor.redact import Redactor
    from brickauth.doctor.u2m import u2m_source

    key = u2m_source(Context(plan, load(), Redactor(), SYSTEM_CLOCK, 1.0)).key
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from brickauth.store.base import FileLocks
            with FileLocks().lock({key.name!r}, timeout=5):
                print("held", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        [_, lock] = run_one(plan, check_store, step_timeout=1.0)
        assert time.monotonic() - started < 3 * 1.0  # generous: the holder never lets go
    finally:
        holder.communicate("\n", timeout=10)
    assert (lock.status, lock.cause_id) == ("fail", "store.lock_held")
    assert f"held by process {holder.pid}" in lock.summary


# -- cached U2M sign-in --------------------------------------------------------------------------------


def _file_store_plan(**env: str) -> Plan:
    return plan_for(BRICKAUTH_TOKEN_STORE="file", BRICKAUTH_ALLOW_PLAINTEXT_STORE="1", **env)


def _save(plan: Plan, **doc: Any) -> None:
    from brickauth.provider import load_source_class
    from brickauth.store import open_store

    assert plan.settings is not None
    store = open_store("file", allow_plaintext=True)
    source = load_source_class(plan.settings.auth_type)(plan.settings, store=store)
    store.save(source.key, {"flow": "databricks-u2m", "token_type": "Bearer", **doc})


def test_nothing_cached_says_the_exact_login_command() -> None:
    plan = _file_store_plan()
    [finding] = run_one(plan, check_token)
    assert (finding.status, finding.cause_id) == ("fail", "store.not_signed_in")
    command = f"brickauth login --host https://{HOST} --auth-type databricks-u2m"
    assert f"run `{command}`" in finding.summary
    assert finding.details["login_command"] == command


def test_a_cached_sign_in_names_the_user_and_its_expiry_without_network() -> None:
    plan = _file_store_plan()
    now = time.time()
    _save(plan, account="ana@example.com", access_token="opaque-access-token", refresh_token="rt",
          expires_at=now + 3000, obtained_at=now - 600)  # fmt: skip
    [finding] = run_one(plan, check_token)
    assert finding.status == "ok", finding.summary
    assert "signed in as ana@example.com" in finding.summary and "expires in 49 min" in finding.summary
    assert "opaque-access-token" not in finding.summary and "opaque-access-token" not in str(finding.details)
    assert finding.details["can_refresh"] is True and finding.details["refreshed"] is False


def test_an_expired_sign_in_without_refresh_token_asks_for_login() -> None:
    plan = _file_store_plan()
    now = time.time()
    _save(plan, account="ana@example.com", access_token="old", expires_at=now - 10, obtained_at=now - 3610)
    [finding] = run_one(plan, check_token)
    assert (finding.status, finding.cause_id) == ("fail", "store.not_signed_in")
    assert "has expired and has no refresh token" in finding.summary and "brickauth login" in finding.summary


def test_no_browser_is_ever_started(monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    plan = _file_store_plan()
    run_one(plan, check_token)
    assert opened == []
