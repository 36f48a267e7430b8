"""Issue 10, docs: every shell and Python block of README.md and docs/*.md runs as written from the
sandbox's env file (a block that cannot, e.g. one naming a real workspace, says so with
``<!-- doc-test: skip (why) -->`` right above it); docs/errors.md lists every code raised in plugin/;
docs/sandbox.md names every control the sandbox has."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from u2m_harness import HERE

from brickauth.cli.sandbox import write_env_file
from brickauth_sandbox import admin
from brickauth_sandbox.core import Sandbox
from brickauth_sandbox.faults import Faults
from brickauth_sandbox.requestlog import RequestLog

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"sh": "bash", "bash": "bash", "shell": "bash", "python": "python"}
BLOCK = re.compile(
    r"(?P<marker><!-- doc-test: skip \((?P<why>[^)]*(?:\([^)]*\)[^)]*)*)\) -->\n\s*)?"
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```",
    re.S | re.M,
)
COMMAND_START = re.compile(r"^\s*(brickauth|pip|python3?|curl|dbt|set -a|export|nox)\b", re.M)


def blocks() -> list[tuple[str, str, str, str | None]]:
    """(id, language, body, skip reason or None) of every fenced block."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for m in BLOCK.finditer(text):
            line = text[: m.start("indent")].count("\n") + 1
            body = "\n".join(row[len(m["indent"]):] for row in m["body"].splitlines())
            found.append((f"{doc.name}:{line}", m["lang"], body, m["why"]))
    return found


RUN = [pytest.param(lang, body, why, id=name) for name, lang, body, why in blocks() if lang in RUNNABLE]


def test_every_command_block_is_labelled_with_its_language() -> None:
    unlabelled = [name for name, lang, body, _ in blocks() if not lang and COMMAND_START.search(body)]
    assert unlabelled == [], "label these ```sh or ```python (or they are never run)"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(("lang", "body", "why"), RUN)
def test_block_runs_against_the_sandbox(
    lang: str, body: str, why: str | None, sandbox: Sandbox, u2m_env: dict[str, str], tmp_path: Path
) -> None:
    if why is not None:
        pytest.skip(f"marked in the docs: {why}")
    env = {**u2m_env, **sandbox.env()}  # the env file, as `set -a; . sandbox.env; set +a` gives it
    env["BRICKAUTH_TEST_BROWSER_USER"] = env["BRICKAUTH_SANDBOX_USER"]  # the person at the browser
    env["BRICKAUTH_TEST_BROWSER_PASSWORD"] = env["BRICKAUTH_SANDBOX_PASSWORD"]
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    write_env_file(tmp_path / "sandbox.env", sandbox.env())
    command = ["bash", "-e", "-o", "pipefail", "-c", body] if RUNNABLE[lang] == "bash" else [
        sys.executable, "-c", body]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=500,
                          check=False)  # fmt: skip
    failed = [line for line in done.stdout.splitlines() if "fail" in line.lower()]
    assert done.returncode == 0, (failed, done.stdout[-1500:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


def test_the_marker_test_sees_skips_and_runs() -> None:
    reasons = [why for _, lang, _, why in blocks() if lang in RUNNABLE]
    assert any(r is None for r in reasons) and any(r for r in reasons)
    assert HERE.name == "u2m"


# -- errors.md lists every code ------------------------------------------------------------------

RAISED = re.compile(r"""code\s*[:=]\s*(?:str\s*=\s*)?["'](BA\d{3})["']|["'][^"'\n]*\[(BA\d{3})\]""")


def test_errors_md_lists_every_code_raised_in_plugin() -> None:
    raised: dict[str, str] = {}
    for path in sorted((ROOT / "plugin").rglob("*.py")):
        for m in RAISED.finditer(path.read_text()):
            raised.setdefault(m.group(1) or m.group(2), str(path.relative_to(ROOT)))
    listed = set(re.findall(r"^- (BA\d{3}) ", (ROOT / "docs" / "errors.md").read_text(), re.M))
    missing = {code: where for code, where in raised.items() if code not in listed}
    assert missing == {}, "add these to docs/errors.md"
    assert {"BA300", "BA123", "BA411", "BA503", "BA504", "BA618"} <= listed


# -- sandbox.md names every control ----------------------------------------------------------------


def public_names(cls: type) -> set[str]:
    return {n for n, v in vars(cls).items()
            if not n.startswith("_") and (callable(v) or isinstance(v, property)) and not inspect.isclass(v)}


def test_sandbox_md_documents_every_control() -> None:
    text = (ROOT / "docs" / "sandbox.md").read_text()
    internal = {"handle", "generate", "app", "decide", "wait", "matches", "to_dict", "record", "pred", "wsgi"}
    names = (public_names(Sandbox) | public_names(Faults) | public_names(RequestLog) | set(admin.ACTIONS))
    undocumented = sorted(n for n in names - internal if not re.search(rf"`[^`]*\b{n}\b[^`]*`", text))
    assert undocumented == []
    for rule in admin.AdminApp(None).url_map.iter_rules():  # type: ignore[arg-type]
        shown = re.sub(r"<(?:\w+:)?service>", "{service}", rule.rule).split("<")[0].rstrip("/")
        assert shown in text, rule.rule
