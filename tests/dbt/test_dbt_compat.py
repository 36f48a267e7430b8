"""The version guard around the dbt-databricks hook (``DatabricksCredentialManager.create_from``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dbt_harness import PROFILES, DbtRunner, dbt_env

pytestmark = pytest.mark.dbt


def test_installed_line_is_supported_and_has_the_hooked_shape() -> None:
    from dbt.adapters.brickauth import compat

    version = compat.databricks_version()
    compat.check_supported(version)  # the installed line (nox -s compat installs each one)
    assert compat._shape_problems(compat.parse_line(version)) == []


@pytest.mark.parametrize("version", ["1.9.8", "1.13.0", "2.0.0", "dev"])
def test_unknown_lines_are_refused(version: str) -> None:
    from dbt.adapters.brickauth import compat

    with pytest.raises(compat.UnsupportedDatabricksAdapter) as info:
        compat.check_supported(version)
    message = str(info.value)
    assert message.startswith("[BA171]") and version in message and "Fix:" in message
    assert "1.10.x, 1.11.x, 1.12.x" in message


def test_the_interception_is_installed_once_and_only_answers_for_brickauth() -> None:
    from dbt.adapters.databricks.credentials import DatabricksCredentialManager

    import dbt.adapters.brickauth  # noqa: F401  (installs the hook)
    from dbt.adapters.brickauth import compat
    from dbt.adapters.brickauth.credentials import is_brickauth, make_manager

    hooked = DatabricksCredentialManager.__dict__["create_from"]
    compat.install(make_manager, is_brickauth)  # idempotent
    assert DatabricksCredentialManager.__dict__["create_from"] is hooked
    assert getattr(hooked.__func__, "__brickauth_wrapped__", False)


def test_dbt_on_an_untested_line_fails_loudly_instead_of_another_login(dbt: DbtRunner) -> None:
    """dbt shows our line through its own display; nothing falls back to dbt-databricks' browser login."""
    code = (
        "import dbt.adapters.databricks.__version__ as v; v.version = '1.13.0'; "
        "from dbt.cli.main import cli; cli()"
    )
    env = {"DATABRICKS_HOST": "adb-1234567890123456.7.azuredatabricks.net", "DATABRICKS_HTTP_PATH": "/sql/x"}
    proc = subprocess.run(
        [sys.executable, "-c", code, "debug", "--project-dir", str(dbt.project),
         "--profiles-dir", str(PROFILES / "databricks-u2m")],
        cwd=dbt.project, env=dbt_env({**dbt.env, **env}, home=dbt.home),
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'Credentials in profile "brickauth_sample", target "dev" invalid: [BA171]' in output, output
    assert "dbt-databricks 1.13.0" in output and "Traceback" not in output
