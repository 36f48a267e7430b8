"""The token store against real keyring backends: one persisting across processes, one enforcing the
Windows 1280-character limit, one that hangs, and none at all."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keyring.backends.fail
import pytest
from keyrings_for_tests import FileKeyring, HangingKeyring, LimitedFileKeyring

from brickauth.errors import TokenStoreError
from brickauth.store import FileStore, MemoryStore, ResilientStore, StoreKey, open_store
from brickauth.store.keyring_store import KeyringStore

HERE = Path(__file__).parent
CANARY = "canary-refresh-token-7f3a9b"
KEY = StoreKey("https://login.example/tenant", "client-1", ("a/.default", "offline_access"),
               "Alice@Example.com", flow="azure-u2m")


def big_doc(size: int = 6000) -> dict[str, object]:
    return {"refresh_token": CANARY, "blob": "x" * size, "expires_at": 123.0}


def child_env(tmp_path: Path, backend: str = "FileKeyring") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
        # The test keyring is a healthy file: on a loaded machine its calls may take seconds, and the
        # default 3 s bound would swap it for the memory fallback (a test of the bound sets its own).
        BRICKAUTH_KEYRING_TIMEOUT="60",
        PYTHON_KEYRING_BACKEND=f"keyrings_for_tests.{backend}",
        BRICKAUTH_TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
        BRICKAUTH_STATE_DIR=str(tmp_path / "state"),
    )
    return env


def run_child(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_store_key_normalises_and_hides_nothing_secret() -> None:
    same = StoreKey("HTTPS://LOGIN.example/tenant/", "client-1", ("offline_access", "a/.default"),
                    " alice@example.com")
    assert same.name == KEY.name
    assert StoreKey.from_json(KEY.to_json()) == KEY
    assert StoreKey("https://login.example/tenant", "client-2").name != KEY.name


def test_keyring_persists_across_processes(tmp_path: Path) -> None:
    env = child_env(tmp_path)
    writer = run_child(f"""
        from brickauth.store import open_store, StoreKey
        store = open_store()
        key = StoreKey.from_json({json.dumps(KEY.to_json())})
        store.save(key, {{"refresh_token": "{CANARY}", "account": "alice"}})
        print(store.name)
    """, env)
    assert writer.returncode == 0, writer.stderr
    assert writer.stdout.strip() == "keyring (keyrings for tests FileKeyring)"
    reader = run_child(f"""
        import json
        from brickauth.store import open_store, StoreKey
        store = open_store()
        key = StoreKey.from_json({json.dumps(KEY.to_json())})
        print(json.dumps({{"doc": store.load(key), "keys": [k.to_json() for k in store.keys()]}}))
    """, env)
    assert reader.returncode == 0, reader.stderr
    out = json.loads(reader.stdout)
    assert out["doc"] == {"refresh_token": CANARY, "account": "alice"}
    assert [StoreKey.from_json(k) for k in out["keys"]] == [KEY]
    assert CANARY not in writer.stderr + reader.stderr


def test_windows_size_limit_entries_are_chunked_and_rejoined(tmp_path: Path) -> None:
    backend = LimitedFileKeyring(tmp_path / "keyring.json")
    store = KeyringStore(backend, lock_dir=tmp_path / "locks")  # limit not known in advance
    store.save(KEY, big_doc())
    raw = backend.entries()
    assert all(len(v) <= backend.limit for v in raw.values())
    assert sum("#" in k for k in raw) >= 5  # split into chunks
    assert store.load(KEY) == big_doc()
    # a fresh store (another run) reads it back; a smaller rewrite leaves no stale chunks behind
    again = KeyringStore(LimitedFileKeyring(tmp_path / "keyring.json"), max_entry_chars=1280,
                         lock_dir=tmp_path / "locks")
    assert again.load(KEY) == big_doc()
    again.save(KEY, {"small": True})
    assert again.load(KEY) == {"small": True}
    assert not [k for k in backend.entries() if KEY.name + "#" in k]


def test_known_limit_is_chunked_without_a_refused_write(tmp_path: Path) -> None:
    class Counting(LimitedFileKeyring):
        refused = 0

        def set_password(self, service: str, username: str, password: str) -> None:
            if len(password) > self.limit:
                type(self).refused += 1
            super().set_password(service, username, password)

    backend = Counting(tmp_path / "keyring.json")
    store = KeyringStore(backend, max_entry_chars=1280, lock_dir=tmp_path / "locks")
    store.save(KEY, big_doc(3000))
    assert Counting.refused == 0
    assert store.load(KEY) == big_doc(3000)


def test_torn_chunk_is_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    backend = FileKeyring(tmp_path / "keyring.json")
    store = KeyringStore(backend, max_entry_chars=1280, lock_dir=tmp_path / "locks")
    store.save(KEY, big_doc())
    chunk = next(k for k in backend.entries() if KEY.name + "#" in k)
    service, username = chunk.split("\x00")
    backend.set_password(service, username, "tampered")
    with caplog.at_level(logging.WARNING):
        assert store.load(KEY) is None
    assert f"Dropped a corrupt token cache entry {KEY.name}" in caplog.text
    assert not [k for k in backend.entries() if KEY.name in k]  # header and chunks removed
    assert CANARY not in caplog.text


@pytest.mark.parametrize("raw", ["bav1:{not json", "something else", "bav1c:zz:notanumber:abc", "bav1:[1,2]"])
def test_corrupt_entry_is_dropped_never_raised(tmp_path: Path, raw: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    backend = FileKeyring(tmp_path / "keyring.json")
    store = KeyringStore(backend, lock_dir=tmp_path / "locks")
    backend.set_password("brickauth", KEY.name, raw)
    with caplog.at_level(logging.WARNING):
        assert store.load(KEY) is None
    assert "corrupt" in caplog.text
    assert backend.get_password("brickauth", KEY.name) is None
    store.save(KEY, {"ok": 1})  # and the next sign-in can store again
    assert store.load(KEY) == {"ok": 1}


def test_hanging_backend_is_bounded_and_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    HangingKeyring.release.clear()
    HangingKeyring.calls = 0
    try:
        store = open_store(backend=HangingKeyring(), keyring_timeout=0.3, directory=tmp_path)
        assert isinstance(store, ResilientStore)
        start = time.monotonic()
        with caplog.at_level(logging.WARNING):
            assert store.load(KEY) is None
            store.save(KEY, {"access_token": CANARY})
            assert store.load(KEY) == {"access_token": CANARY}
        assert time.monotonic() - start < 10 * 0.3  # generous: the keyring itself never answers
        assert HangingKeyring.calls == 1  # after one timeout the keyring is not asked again
        assert "did not answer within 0.3 s" in caplog.text
        assert "memory" in store.name
        assert caplog.text.count("[BA401]") == 1
        assert CANARY not in caplog.text
    finally:
        HangingKeyring.release.set()


def test_a_hung_keyring_call_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    env = child_env(tmp_path, backend="HangingKeyring")
    env["BRICKAUTH_KEYRING_TIMEOUT"] = "0.5"
    start = time.monotonic()
    child = run_child("""
        from brickauth.store import open_store, StoreKey
        store = open_store()
        print(store.load(StoreKey("https://h", "c")), store.name)
    """, env, timeout=30)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "None memory (this process only)"
    assert "[BA401]" in child.stderr and "BRICKAUTH_ALLOW_PLAINTEXT_STORE=1" in child.stderr
    assert time.monotonic() - start < 20


def test_no_backend_keeps_tokens_in_memory_with_one_warning(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        store = open_store(backend=keyring.backends.fail.Keyring(), directory=tmp_path)
        open_store(backend=keyring.backends.fail.Keyring(), directory=tmp_path)
    assert isinstance(store, MemoryStore)
    assert caplog.text.count("No usable OS keyring backend") == 1
    assert "BRICKAUTH_ALLOW_PLAINTEXT_STORE=1" in caplog.text
    store.save(KEY, {"a": 1})
    assert store.load(KEY) == {"a": 1} and store.keys() == [KEY]
    assert not (tmp_path / "tokens").exists()


def test_no_backend_with_explicit_keyring_mode_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TokenStoreError) as err:
        open_store("keyring", backend=keyring.backends.fail.Keyring(), directory=tmp_path)
    assert err.value.code == "BA403"
    assert "BRICKAUTH_TOKEN_STORE=file" in str(err.value)


def test_plaintext_opt_in_uses_private_atomic_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = open_store(backend=keyring.backends.fail.Keyring(), allow_plaintext=True, directory=tmp_path)
    assert isinstance(store, FileStore)
    store.save(KEY, big_doc(100))
    store.save(KEY, big_doc(200))
    files = list((tmp_path / "tokens").iterdir())
    assert [f.name for f in files] == [f"{KEY.name}.json"]  # no temp file left behind
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tokens").stat().st_mode) == 0o700
    assert store.load(KEY) == big_doc(200)
    assert store.keys() == [KEY]
    files[0].write_text("{truncated")
    with caplog.at_level(logging.WARNING):
        assert store.load(KEY) is None
    assert "corrupt" in caplog.text and not files[0].exists()


def test_unknown_store_mode_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[BA197\].*BRICKAUTH_TOKEN_STORE"):
        open_store("vault", directory=tmp_path)


def test_eight_cold_processes_sign_in_once(tmp_path: Path) -> None:
    """The lock + reload pattern every flow uses: only the first process finds the store empty."""
    env = child_env(tmp_path)
    signins = tmp_path / "signins.log"
    code = f"""
        from brickauth.store import open_store, StoreKey
        store = open_store()
        key = StoreKey("https://adb-1.azuredatabricks.net", "databricks-cli", ("all-apis",))
        with store.lock(key, timeout=60):
            if store.load(key) is None:
                with open({str(signins)!r}, "a") as fh:
                    fh.write("signed in\\n")
                store.save(key, {{"access_token": "t"}})
        print(store.load(key))
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    outs = [p.communicate(timeout=90) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outs
    assert signins.read_text().splitlines() == ["signed in"]
    assert all(o[0].strip() == "{'access_token': 't'}" for o in outs)


def test_lock_held_elsewhere_times_out_naming_the_holder(tmp_path: Path) -> None:
    env = child_env(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from brickauth.store import open_store, StoreKey
            store = open_store()
            with store.lock(StoreKey.from_json({json.dumps(KEY.to_json())})):
                print("locked", flush=True)
                sys.stdin.read()
        """)],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        store = MemoryStore(lock_dir=tmp_path / "state" / "locks")
        with pytest.raises(TokenStoreError) as err, store.lock(KEY, timeout=0.2):
            pass
        assert err.value.code == "BA410"
        assert f"held by process {holder.pid}" in str(err.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    with store.lock(KEY, timeout=5):  # released when the holder ends
        pass
