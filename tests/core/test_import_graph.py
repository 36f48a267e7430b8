"""The library's modules import each other without cycles (every import, at any depth of the module:
a function-level import is still a dependency), and the module size stays reviewable."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import brickauth

ROOT = Path(brickauth.__file__).parent
MAX_LINES = 500
# Data tables, not logic: allowed to be longer.
LONG_DATA_MODULES: set[str] = set()


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], base])
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                target = target.strip(".")
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def test_no_import_cycle() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its own submodules is not a cycle of ideas: drop edges from a
    # package to its children (the children importing the package's names is the real dependency).
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_modules_stay_small() -> None:
    big = {
        _module_name(p): n
        for p in ROOT.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES and _module_name(p) not in LONG_DATA_MODULES
    }
    assert not big, big


def _sources() -> dict[str, str]:
    return {_module_name(p): p.read_text() for p in ROOT.rglob("*.py")}


def test_one_definition_of_each_shared_idea() -> None:
    """The Azure Databricks resource id and the Entra authority hosts live in brickauth.entra, the
    expiry rule in brickauth.token, token endpoint requests in brickauth.oauth.client."""
    sources = _sources()
    for name, text in sources.items():
        if name != "brickauth.entra":
            assert "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d" not in text, name
            assert '"https://login.microsoftonline.com"' not in text, name
        if name not in ("brickauth.oauth.client", "brickauth.http"):
            assert "post_form(" not in text, name
        if name != "brickauth.token":
            assert "def expires_at_for" not in text, name


def test_one_home_for_entra_error_knowledge() -> None:
    """brickauth.entra_codes is the one table of Entra's AADSTS codes (BA code, class, short cause and
    fix). The doctor knows every code the library classifies, with the same BA code: the library's error
    for it is explained by the doctor's cause for that AADSTS number. The pairing and the short fixes are
    written once: causes.yaml names AADSTS numbers only, no other module spells an Entra BA code."""
    from brickauth.doctor import knowledge
    from brickauth.entra_codes import ENTRA_CODES, PRIMARY_NUMBER
    from brickauth.idp_errors import from_entra

    kb = knowledge.load()
    for number, known in ENTRA_CODES.items():
        cause = kb.for_aadsts(number)
        assert cause is not None, f"AADSTS{number} ({known.code}) has no cause in causes.yaml"
        assert kb.for_code(known.code) is kb.for_aadsts(PRIMARY_NUMBER[known.code]), known.code
        err = from_entra({"error": "invalid_client", "error_description": f"AADSTS{number}: refused",
                          "error_codes": [number]})
        assert err.code == known.code and [m.cause_id for m in kb.classify(str(err))] == [cause.id]
    causes_yaml = (ROOT / "doctor" / "causes.yaml").read_text(encoding="utf-8")
    written = set(re.findall(r"^ +codes: \[(.*)\]", causes_yaml, re.M))
    entra_ba = {known.code for known in ENTRA_CODES.values()}
    assert not entra_ba & {c.strip() for line in written for c in line.split(",")}
    fixes = [k.fix for k in ENTRA_CODES.values() if len(k.fix) > 40]  # not "Sign in again: brickauth login."
    for name, text in _sources().items():
        if name != "brickauth.entra_codes":
            assert not [c for c in entra_ba if f'"{c}"' in text], name
            assert not [fix for fix in fixes if fix in text], name
    assert not [fix for fix in fixes if fix in causes_yaml]
    entry = "- {id: a.b, category: entra, title: t, explanation: e, fix: f, matchers: {codes: [BA210]}}\n"
    with pytest.raises(knowledge.KnowledgeBaseError, match="Entra code"):  # the loader refuses one too
        knowledge.parse("causes:\n" + entry)
    # docs/errors.md names each Entra BA code with the AADSTS numbers of the table.
    errors_md = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")
    for code in entra_ba:
        listed = re.search(rf"^- {code} AADSTS([\d/]+) ", errors_md, re.M)
        assert listed is not None, code
        assert {int(n) for n in listed.group(1).split("/")} == {
            n for n, k in ENTRA_CODES.items() if k.code == code
        }, code


# The layers of docs/DESIGN.md: a module imports (at module level) only from its own layer or lower
# numbers. Function-level imports are the documented narrow exceptions (config -> flows, sign-in page ->
# doctor) and are allowed; cycles among them are caught above.
LAYERS: dict[int, tuple[str, ...]] = {
    1: ("errors", "secret", "token", "windows", "clock", "durations", "bounded", "entra", "entra_codes",
        "hosts", "logging_utils"),
    2: ("config",),
    3: ("http", "oauth.metadata", "oauth.pkce", "oauth.client", "oauth.loopback", "oauth.landing",
        "idp_errors", "browser"),
    4: ("store",),
    5: ("lifecycle", "flows", "oauth", "exchange"),
    6: ("provider",),
    7: ("doctor", "cli"),
}  # fmt: skip


def _layer(module: str) -> int | None:
    found = [(len(name), n) for n, names in LAYERS.items() for name in names
             if module == name or module.startswith(name + ".")]  # fmt: skip
    return max(found)[1] if found else None


def test_module_level_imports_follow_the_layers() -> None:
    root = Path(brickauth.__file__).parent
    problems = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not module or module == "__main__":
            continue
        own = _layer(module)
        assert own is not None, f"{module} has no layer: add it to LAYERS and docs/DESIGN.md"
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("brickauth."):
                base = node.module.removeprefix("brickauth.")
                # `from brickauth.oauth import landing` imports the submodule oauth.landing
                targets = [f"{base}.{a.name}" if _is_module(root, f"{base}.{a.name}") else base
                           for a in node.names]  # fmt: skip
            elif isinstance(node, ast.Import):
                targets = [a.name.removeprefix("brickauth.") for a in node.names
                           if a.name.startswith("brickauth.")]  # fmt: skip
            for target in targets:
                layer = _layer(target)
                if layer is not None and layer > own:
                    problems.append(f"{module} (layer {own}) imports {target} (layer {layer})")
    assert problems == []


def _is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()
