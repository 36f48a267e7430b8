"""brickauth.config is the only reader of environment variables (issue 9): no other module of the library
touches ``os.environ``/``os.getenv``; they take what ``brickauth.config`` read as input."""

from __future__ import annotations

import ast
from pathlib import Path

import brickauth
from brickauth.config import Platform, Settings, config_path, config_profile

ROOT = Path(brickauth.__file__).parent
# The one module that reads os.environ: every other reader goes through its ``environment()``.
READER = ROOT / "config" / "environment.py"
_ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _env_uses(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES:
            lines.append(node.lineno)  # os.environ, os.getenv(...), os.environ.get(...)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in _ENV_NAMES for alias in node.names):
                lines.append(node.lineno)  # from os import environ
        elif isinstance(node, ast.Name) and node.id in _ENV_NAMES:
            lines.append(node.lineno)  # environ.get(...) after such an import
    return lines


def test_only_config_reads_the_environment() -> None:
    found = {
        str(path.relative_to(ROOT.parent)): lines
        for path in sorted(ROOT.rglob("*.py"))
        if path != READER and (lines := _env_uses(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert found == {}, "read the environment through brickauth.config (config/environment.py)"
    assert _env_uses(ast.parse(READER.read_text(encoding="utf-8")))  # the scan sees the one reader


def test_the_platform_reads_what_it_is_given() -> None:
    github = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://gh/token?x=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
    ci = Platform(github).ci_oidc()
    assert ci is not None and (ci.provider, ci.url, ci.request_token) == ("GitHub Actions", *github.values())
    assert "request_token" not in repr(ci)  # a credential
    ado = Platform({"SYSTEM_OIDCREQUESTURI": "https://ado", "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "c"})
    assert ado.ci_oidc() == type(ci)("Azure DevOps", "https://ado", "", "c")
    assert Platform({}).ci_oidc() is None
    assert Platform({}).msi_endpoint() == ("IMDS", "default http://169.254.169.254")
    app_service = {"IDENTITY_ENDPOINT": "http://localhost:1", "IDENTITY_HEADER": "h"}
    assert Platform(app_service).msi_endpoint() == ("App Service", "env:IDENTITY_ENDPOINT")
    assert Platform({**app_service, "IDENTITY_SERVER_THUMBPRINT": "x"}).msi_endpoint()[0] == "Service Fabric"
    assert Platform({"MY_TOKEN": "a.b.c"}).variable("MY_TOKEN") == "a.b.c"
    assert Settings(auth_type="azure-msi").platform == Platform()  # the process environment, read live


def test_config_file_and_profile_from_the_environment(tmp_path: Path) -> None:
    assert config_path({"DATABRICKS_CONFIG_FILE": f" {tmp_path}/cfg "}) == tmp_path / "cfg"
    assert config_path({}) == Path("~/.databrickscfg").expanduser()
    assert config_profile({"DATABRICKS_CONFIG_PROFILE": "dev"}) == "dev"
    assert config_profile({"DATABRICKS_CONFIG_PROFILE": ""}) is None and config_profile({}) is None
