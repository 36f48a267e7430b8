"""The public API is what ``brickauth.__all__`` lists, and the typed keywords match the settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import brickauth
from brickauth.config.fields import EXPLICIT_ALIASES, EXPLICIT_NAMES, ProviderSettings

CANARY_SECRET = "dose" + "0123456789abcdef" * 2


def test_all_names_resolve() -> None:
    for name in brickauth.__all__:
        assert getattr(brickauth, name) is not None, name
    assert sorted(brickauth.__all__) == sorted(set(brickauth.__all__))


def test_provider_class_is_public_and_is_what_the_factory_returns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from brickauth.provider import CredentialsProvider

    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "AZURE_", "ARM_", "BRICKAUTH_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    provider = brickauth.credentials_provider(  # no network until the first token
        "databricks-m2m", "adb-1234567890123456.7.azuredatabricks.net",
        client_id="11111111-2222-3333-4444-555555555555", client_secret=CANARY_SECRET,
    )
    assert brickauth.CredentialsProvider is CredentialsProvider
    assert isinstance(provider, brickauth.CredentialsProvider)
    assert CANARY_SECRET not in repr(provider)


def test_typed_keywords_are_the_explicit_settings() -> None:
    typed = set(ProviderSettings.__annotations__)
    assert typed == (set(EXPLICIT_NAMES) - {"host", "auth_type"}) | set(EXPLICIT_ALIASES)


def test_import_stays_cheap_with_the_lazy_provider_class() -> None:
    code = "import sys, brickauth; print('brickauth.provider' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
