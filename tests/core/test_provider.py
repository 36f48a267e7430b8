"""CredentialsProvider: connector and databricks-sdk call shapes, clock hand-off, no secret in repr,
and `import brickauth` staying light."""

from __future__ import annotations

import subprocess
import sys
import threading

from core_support import AZ_HOST, CANARY_DATABRICKS_SECRET, CLIENT

import brickauth
from brickauth.clock import FakeClock
from brickauth.config import Settings, resolve_settings
from brickauth.provider import CredentialsProvider, build_source
from brickauth.token import AccessToken


class CountingSource:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0

    def describe(self) -> str:
        return "counting"

    def fetch(self) -> AccessToken:
        self.calls += 1
        return AccessToken(token=f"t{self.calls}", expires_at=self.clock.now() + 3600)


def test_connector_and_sdk_call_shapes() -> None:
    clock = FakeClock()
    source = CountingSource(clock)
    p = CredentialsProvider(Settings(auth_type="databricks-m2m"), source, clock=clock)
    assert p.auth_type() == "brickauth-databricks-m2m"
    connector_factory = p()  # sql.connect: p()
    sdk_factory = p(object())  # databricks-sdk: p(cfg)
    assert connector_factory() == sdk_factory() == {"Authorization": "Bearer t1"}
    assert p.token().token == "t1" and source.calls == 1
    clock.advance(3600)  # expired: the factory fetches and rebuilds its header
    assert connector_factory() == {"Authorization": "Bearer t2"}
    header = connector_factory()
    header["X"] = "mutated"
    assert connector_factory() == {"Authorization": "Bearer t2"}  # callers get their own dict


def test_factory_threads_see_one_header() -> None:
    clock = FakeClock()
    p = CredentialsProvider(Settings(auth_type="databricks-m2m"), CountingSource(clock), clock=clock)
    factory = p()
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(factory()["Authorization"])) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert seen == ["Bearer t1"] * 16


def test_repr_and_settings_hide_secret(clean_env: dict[str, str]) -> None:
    p = brickauth.credentials_provider(host=AZ_HOST, client_id=CLIENT, client_secret=CANARY_DATABRICKS_SECRET)
    assert p.settings.auth_type == "databricks-m2m"
    for text in (repr(p), str(p), repr(p.settings), str(p.settings.describe()), p.source.describe()):
        assert CANARY_DATABRICKS_SECRET not in text
    assert AZ_HOST in repr(p)


def test_build_source_passes_fake_clock(clean_env: dict[str, str]) -> None:
    s = resolve_settings(
        {"host": AZ_HOST, "client_id": CLIENT, "client_secret": CANARY_DATABRICKS_SECRET}, {}
    )
    clock = FakeClock()
    source = build_source(s, clock=clock)
    assert source._clock is clock  # type: ignore[attr-defined]


def test_import_brickauth_is_light() -> None:
    code = (
        "import sys, brickauth; heavy = [m for m in ('msal', 'keyring', 'databricks', 'dbt', 'requests', "
        "'duckdb', 'cryptography') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
