"""The sandbox is its own distribution: brickauth installs none of it, and its fixtures are opt-in."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest


def test_brickauth_distribution_holds_no_sandbox_code() -> None:
    files = [str(f) for f in metadata.files("brickauth") or []]
    assert any(f.startswith("brickauth/") for f in files)  # the listing is real
    assert not [f for f in files if f.startswith(("brickauth_sandbox", "brickauth/sandbox"))]
    assert "sandbox" not in (metadata.metadata("brickauth").get_all("Provides-Extra") or [])


def test_no_pytest_plugin_is_registered_by_either_distribution() -> None:
    for dist in ("brickauth", "brickauth-sandbox"):
        assert not [ep for ep in metadata.distribution(dist).entry_points if ep.group == "pytest11"]


def test_one_version_source() -> None:
    import brickauth
    from dbt.adapters.brickauth.__version__ import version

    assert metadata.version("brickauth") == brickauth.__version__ == version


FIXTURES = (
    "brickauth_sandbox", "brickauth_sandbox_env", "brickauth_sandbox_session", "brickauth_sandbox_factory",
)


def _fixtures_listing(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    # A fresh interpreter, as a user's own suite would start: nothing of this suite's conftest applies.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", *args],
        cwd=pytester.path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_users_suite_sees_no_brickauth_fixtures(pytester: pytest.Pytester) -> None:
    listing = _fixtures_listing(pytester)
    assert "tmp_path" in listing  # the listing is real
    assert not [name for name in (*FIXTURES, "sandbox_env") if f"\n{name} " in "\n" + listing]


def test_fixtures_load_when_asked_for(pytester: pytest.Pytester) -> None:
    listing = _fixtures_listing(pytester, "-p", "brickauth_sandbox.pytest")
    for name in FIXTURES:
        assert f"{name} " in listing or f"{name} [" in listing


def test_sandbox_up_without_the_sandbox_names_the_package_to_install() -> None:
    code = (
        "import sys; sys.modules['brickauth_sandbox'] = None; sys.modules['brickauth_sandbox.core'] = None\n"
        "from brickauth.cli.main import main; sys.exit(main(['sandbox', 'up']))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "[BA192]" in out.stderr and "pip install brickauth-sandbox" in out.stderr
    assert "Traceback" not in out.stderr
