"""The machine-wide M2M token cache (brickauth.store.token_cache) in one process: the store is shared
by providers the way it is by processes. Time moves with a FakeClock; nothing sleeps."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

import brickauth
from brickauth.clock import FakeClock
from brickauth.errors import TokenStoreError
from brickauth.provider import CredentialsProvider
from brickauth.store import FileStore, MemoryStore
from brickauth.store.token_cache import (
    KEY_FILE,
    CacheIdentity,
    MachineCachedSource,
    fingerprint_key,
    is_fresh,
    store_key,
)
from brickauth.token import AccessToken
from sql_client import query_current_user as query

pytest.importorskip("databricks.sql")
pytest.importorskip("brickauth_sandbox.core")

from brickauth_sandbox.core import Sandbox

DBX_TOKEN = {"service": "workspace", "grant_type": "client_credentials", "path": "/oidc/v1/token"}
ENTRA_TOKEN = {"service": "entra", "grant_type": "client_credentials", "path_contains": "/oauth2/v2.0/token"}
EXCHANGE = {"service": "workspace", "path": "/oidc/v1/token",
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange"}


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    monkeypatch.setenv("BRICKAUTH_STATE_DIR", str(root))
    return root


def provider(sb: Sandbox, auth_type: str, *, clock: Any = None, **kw: Any) -> CredentialsProvider:
    env = sb.env()
    settings: dict[str, Any] = {"ca_bundle": env["REQUESTS_CA_BUNDLE"], "token_store": "file"}
    if auth_type == "azure-m2m":
        settings |= {"tenant_id": sb.ids.tenant_id, "authority_host": sb.entra_url,
                     "client_id": sb.ids.m2m_client_id, "client_secret": sb.ids.m2m_client_secret.reveal()}
    else:
        settings |= {"client_id": sb.ids.databricks_sp_client_id,
                     "client_secret": sb.ids.databricks_sp_secret.reveal()}
    settings |= kw
    extra = {"clock": clock} if clock is not None else {}
    return brickauth.credentials_provider(auth_type, sb.workspace_url, env={}, **extra, **settings)



# -- through the real connector and the sandbox ------------------------------------------------------


@pytest.mark.parametrize("auth_type", ["databricks-m2m", "azure-m2m"])
def test_second_provider_uses_the_cached_token(sandbox: Sandbox, state_dir: Path, auth_type: str) -> None:
    token_request = DBX_TOKEN if auth_type == "databricks-m2m" else ENTRA_TOKEN
    first, second = provider(sandbox, auth_type), provider(sandbox, auth_type)
    ids = sandbox.ids
    expected = ids.databricks_sp_client_id if auth_type == "databricks-m2m" else ids.m2m_client_id
    assert query(sandbox, first) == expected
    assert query(sandbox, second) == expected
    assert sandbox.request_log.count(**token_request) == 1
    assert second.source.cache_hits == 1  # type: ignore[attr-defined]
    assert second.token().token == first.token().token
    # The access token is in the store; the secret is nowhere under the state dir.
    secret = (sandbox.ids.databricks_sp_secret if auth_type == "databricks-m2m"
              else sandbox.ids.m2m_client_secret).reveal()
    texts = [p.read_bytes() for p in state_dir.rglob("*") if p.is_file()]
    assert any(first.token().token.encode() in t for t in texts)
    assert not any(secret.encode() in t for t in texts)


def test_a_rotated_secret_never_reuses_the_old_token(sandbox: Sandbox, state_dir: Path) -> None:
    from brickauth_sandbox.workspace.model import OAuthSecret

    sp = sandbox.workspace.account_service_principals[sandbox.ids.databricks_sp_client_id]
    rotated = OAuthSecret(value="dose" + "1234abcd" * 8)
    sp.secrets.append(rotated)
    old = provider(sandbox, "databricks-m2m")
    new = provider(sandbox, "databricks-m2m", client_secret=rotated.value)
    again_old = provider(sandbox, "databricks-m2m")
    assert query(sandbox, old) == query(sandbox, new) == query(sandbox, again_old)
    assert sandbox.request_log.count(**DBX_TOKEN) == 2  # old secret, rotated secret; then a cache hit
    assert new.token().token != old.token().token
    assert again_old.token().token == old.token().token


def test_a_corrupt_entry_is_dropped(
    sandbox: Sandbox, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = provider(sandbox, "databricks-m2m")
    first.token()
    (entry,) = (state_dir / "tokens").glob("brickauth-*.json")
    for damage in ('{"key": {}, "doc": {"kind": "m2m-access-token", "expires_at": "soon"}}', "{not json"):
        entry.write_text(damage)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert query(sandbox, provider(sandbox, "databricks-m2m")) == sandbox.ids.databricks_sp_client_id
        assert "corrupt" in caplog.text
        assert json.loads(entry.read_text())["doc"]["access_token"]  # replaced by a good entry
    assert sandbox.request_log.count(**DBX_TOKEN) == 3


def test_no_keyring_means_per_process_tokens_and_a_debug_line(
    sandbox: Sandbox, state_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with caplog.at_level(logging.DEBUG, logger="brickauth"):
        providers = [provider(sandbox, "databricks-m2m", token_store="auto") for _ in range(2)]
        assert [query(sandbox, p) for p in providers] == [sandbox.ids.databricks_sp_client_id] * 2
    assert sandbox.request_log.count(**DBX_TOKEN) == 2
    off = [r for r in caplog.records if "machine-wide token cache off" in r.getMessage()]
    assert off and all(r.levelno == logging.DEBUG for r in off)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("setting", [{"token_cache": False}, {"token_store": "memory"}])
def test_opt_out(sandbox: Sandbox, state_dir: Path, setting: dict[str, Any]) -> None:
    for _ in range(2):
        provider(sandbox, "databricks-m2m", **setting).token()
    assert sandbox.request_log.count(**DBX_TOKEN) == 2


def test_opt_out_from_the_environment(sandbox: Sandbox, state_dir: Path) -> None:
    env = {k: v for k, v in sandbox.env().items() if not k.startswith("AZURE_")}
    env |= {"BRICKAUTH_TOKEN_CACHE": "off", "BRICKAUTH_TOKEN_STORE": "file"}
    p = brickauth.credentials_provider("databricks-m2m", env=env)
    assert p.settings.token_cache is False
    assert p.settings.source_of("token_cache") == "env:BRICKAUTH_TOKEN_CACHE"
    assert not isinstance(p.source, MachineCachedSource)


def test_ageing_token_one_request_for_many_providers(sandbox: Sandbox, state_dir: Path) -> None:
    """Past the cache's freshness point the first provider to look fetches; the others reuse its token."""
    clock = FakeClock(sandbox.clock.now())
    providers = [provider(sandbox, "databricks-m2m", clock=clock) for _ in range(4)]
    first = {p.token().token for p in providers}
    assert len(first) == 1 and sandbox.request_log.count(**DBX_TOKEN) == 1
    clock.advance(3480)  # 2 min left: stale for the cache (mandatory window), still fine for the workspace
    for p in providers:
        p.refreshing_token.invalidate()  # as if each process started again now
    second = {p.token().token for p in providers}
    assert len(second) == 1  # (it may equal the first: the sandbox signs the same claims in one second)
    assert sandbox.request_log.count(**DBX_TOKEN) == 2


# -- the connector's exchange ------------------------------------------------------------------------


def test_entra_tokens_are_exchanged_once_per_token_not_per_connection(
    sandbox: Sandbox, state_dir: Path
) -> None:
    p = provider(sandbox, "azure-m2m")
    for _ in range(5):
        assert query(sandbox, p) == sandbox.ids.m2m_client_id
    assert sandbox.request_log.count(**ENTRA_TOKEN) == 1
    assert sandbox.request_log.count(**EXCHANGE) == 1  # brickauth's own, once; none from the connector
    assert set(p()()) == {"authorization"}  # the name the connector's federation layer passes through
    assert set(p(object())()) == {"Authorization"}  # databricks-sdk's p(cfg)


def test_databricks_tokens_are_never_exchanged(sandbox: Sandbox, state_dir: Path) -> None:
    p = provider(sandbox, "databricks-m2m")
    for _ in range(3):
        query(sandbox, p)
    assert sandbox.request_log.count(**EXCHANGE) == 0
    assert set(p()()) == {"Authorization"}


# -- the wrapper on its own --------------------------------------------------------------------------


class CountingSource:
    def __init__(self, clock: FakeClock, ttl: float = 3600.0) -> None:
        self.clock, self.ttl, self.calls = clock, ttl, 0
        self.gate = threading.Event()
        self.gate.set()

    def describe(self) -> str:
        return "counting source"

    def fetch(self) -> AccessToken:
        self.gate.wait(10)
        self.calls += 1
        return AccessToken(token=f"tok-{self.calls}", expires_at=self.clock.now() + self.ttl)

    def cache_identity(self) -> CacheIdentity:
        return CacheIdentity("test-m2m", "https://h", "client", credential=b"s3cret")


def cached(source: CountingSource, store: Any, clock: FakeClock, root: Path) -> MachineCachedSource:
    identity = source.cache_identity()
    return MachineCachedSource(source, store, store_key(identity, fingerprint_key(root)), identity,
                               clock=clock)


def test_fresh_rule() -> None:
    """Handed out until the mandatory window of the whole lifetime: skew + mandatory lead."""
    token = AccessToken(token="t", expires_at=1000.0 + 3600)
    assert is_fresh(token, 1000.0, 1000.0 + 3440)  # 160 s left > 30 s skew + 120 s lead
    assert not is_fresh(token, 1000.0, 1000.0 + 3460)
    short = AccessToken(token="t", expires_at=20.0)
    assert is_fresh(short, 0.0, 15.9) and not is_fresh(short, 0.0, 16.1)  # 1 s skew + 15 % of 20 s


@pytest.mark.parametrize("ttl", [3600.0, 10.0])
def test_processes_sharing_the_store_make_about_one_request_per_lifetime(tmp_path: Path, ttl: float) -> None:
    """Eight processes (each its own lifecycle over the shared store) through ten token lifetimes,
    started at different moments: the machine asks the identity provider once per shared refresh
    (ttl / (ttl - lead): 1.04 for one-hour tokens), never once per process or per advisory window,
    and each process reads the store a few times per lifetime, not on every call."""
    from brickauth.lifecycle import RefreshingToken
    from brickauth.windows import DEFAULT_POLICY

    clock = FakeClock(1000.0)
    store = FileStore(tmp_path / "tokens", lock_dir=tmp_path / "locks")
    source = CountingSource(clock, ttl=ttl)
    reads = {"n": 0}

    class CountingReads(MachineCachedSource):
        def _cached(self) -> AccessToken | None:
            reads["n"] += 1
            return super()._cached()

    identity = source.cache_identity()
    key = store_key(identity, fingerprint_key(tmp_path))
    processes = [RefreshingToken(CountingReads(source, store, key, identity, clock=clock), clock=clock,
                                 spawn=lambda run: run()) for _ in range(8)]  # fmt: skip
    step, lifetimes = ttl / 400, 10
    for i in range(int(lifetimes * ttl / step)):
        clock.advance(step)
        for n, process in enumerate(processes):
            if i >= n * 37:  # staggered starts
                token = process.get()
                assert token.expires_at - clock.now() > DEFAULT_POLICY.skew(ttl) / 2  # never near expiry
    per_lifetime = source.calls / lifetimes
    expected = ttl / (ttl - DEFAULT_POLICY.shared_refresh_lead(ttl))
    assert per_lifetime <= expected + 0.1, (source.calls, expected)
    assert reads["n"] / (8 * lifetimes) < 12  # store reads per process per lifetime (a file or keyring)


def test_refresh_race_resolves_to_one_fetch(tmp_path: Path) -> None:
    clock = FakeClock()
    store = FileStore(tmp_path / "tokens", lock_dir=tmp_path / "locks")
    source = CountingSource(clock)
    source.gate.clear()  # the first fetch blocks until every thread is waiting on the lock
    wrappers = [cached(source, store, clock, tmp_path) for _ in range(8)]
    results: list[str] = []
    threads = [threading.Thread(target=lambda w=w: results.append(w.fetch().token)) for w in wrappers]
    for t in threads:
        t.start()
    source.gate.set()
    for t in threads:
        t.join(30)
    assert results == ["tok-1"] * 8 and source.calls == 1


def test_invalidate_skips_the_refused_token(tmp_path: Path) -> None:
    clock = FakeClock()
    store = MemoryStore(lock_dir=tmp_path / "locks")
    source = CountingSource(clock)
    a, b = cached(source, store, clock, tmp_path), cached(source, store, clock, tmp_path)
    token = a.fetch()
    assert b.fetch() == token and source.calls == 1
    b.invalidate()  # what CredentialsProvider.invalidate does after a 401
    assert b.fetch().token == "tok-2"
    assert a.fetch().token == "tok-2"  # the replacement is shared too


def test_store_failures_fall_back_to_the_flow(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class BrokenStore(MemoryStore):
        def load(self, key: Any) -> Any:
            raise TokenStoreError("keyring timed out", fix="none", code="BA401")

    clock = FakeClock()
    source = CountingSource(clock)
    w = cached(source, BrokenStore(lock_dir=tmp_path / "locks"), clock, tmp_path)
    with caplog.at_level(logging.DEBUG):
        assert w.fetch().token == "tok-1"
        assert w.fetch().token == "tok-2"  # per-process from now on: the store is not asked again
    assert w.store is None
    assert "machine-wide token cache off" in caplog.text


def test_the_fingerprint_key_is_private_and_shared(tmp_path: Path) -> None:
    key = fingerprint_key(tmp_path)
    assert fingerprint_key(tmp_path) == key and len(key) == 32
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0
    identity = CacheIdentity("databricks-m2m", "https://h", "c", credential=b"one")
    rotated = CacheIdentity("databricks-m2m", "https://h", "c", credential=b"two")
    assert store_key(identity, key).name != store_key(rotated, key).name
    assert store_key(identity, key).name != store_key(identity, b"\0" * 32).name  # keyed
    assert "one" not in repr(identity) and "one" not in json.dumps(store_key(identity, key).to_json())


class StubResponse:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code, self._body = status, body
        self.text = "" if isinstance(body, Exception) else str(body)

    def json(self) -> Any:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class StubHttp:
    def __init__(self, response: StubResponse) -> None:
        self.response, self.forms = response, []  # type: list[dict[str, str]]

    def request(self, method: str, url: str, **kw: Any) -> StubResponse:
        self.forms.append(kw["data"])
        return self.response


def entra_jwt(iss: str = "https://sts.windows.net/tenant/") -> str:
    import base64

    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'iss': iss, 'exp': 2_000_000_000})}.sig"


@pytest.mark.parametrize(("response", "exchanged"), [
    (StubResponse(400, {"error": "invalid_request"}), False),  # refused: the Entra token, as the connector
    (StubResponse(200, ValueError("not json")), False),
    (StubResponse(200, {"access_token": "SAME"}), False),  # return_original_token_if_authenticated
    (StubResponse(200, {"access_token": "dbx-token", "expires_in": 600}), True),  # a federation policy
])
def test_the_exchange_once_per_token(response: StubResponse, exchanged: bool) -> None:
    from brickauth.exchange import ExchangedSource

    clock = FakeClock()
    entra = entra_jwt()
    if isinstance(response._body, dict) and response._body.get("access_token") == "SAME":
        response._body["access_token"] = entra

    class Entra:
        def describe(self) -> str:
            return "entra"

        def fetch(self) -> AccessToken:
            return AccessToken(token=entra, expires_at=clock.now() + 3600)

    http = StubHttp(response)
    source = ExchangedSource(Entra(), "https://adb-1.2.azuredatabricks.net", "adb-1.2.azuredatabricks.net",
                             http=http, clock=clock)
    token = source.fetch()
    assert token.token == ("dbx-token" if exchanged else entra)
    if exchanged:
        assert token.expires_at == clock.now() + 600
    (form,) = http.forms
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert form["return_original_token_if_authenticated"] == "true" and form["scope"] == "sql"


def test_workspace_tokens_are_not_exchanged() -> None:
    from brickauth.exchange import ExchangedSource, issued_by_workspace

    host = "adb-1.2.azuredatabricks.net"
    assert issued_by_workspace(entra_jwt(f"https://{host}/oidc"), host)
    assert issued_by_workspace("opaque-token", host)
    assert not issued_by_workspace(entra_jwt(), host)
    http = StubHttp(StubResponse(500, {}))

    class Workspace:
        def describe(self) -> str:
            return "ws"

        def fetch(self) -> AccessToken:
            return AccessToken(token=entra_jwt(f"https://{host}/oidc"), expires_at=1e10)

    ExchangedSource(Workspace(), f"https://{host}", host, http=http).fetch()
    assert http.forms == []
