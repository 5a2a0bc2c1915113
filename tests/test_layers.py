"""Keeps the layering of STYLE.md honest: tools <- agent <- evals, one module per outside SDK."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_tools_never_imports_agent_or_evals() -> None:
    offenders = [p for p in _modules("tools") if _imports(p) & {"agent", "evals"}]
    assert offenders == []


def test_agent_never_imports_evals() -> None:
    offenders = [p for p in _modules("agent") if "evals" in _imports(p)]
    assert offenders == []


def test_only_the_openai_client_imports_openai() -> None:
    users = [
        p.relative_to(ROOT).as_posix()
        for pkg in ("agent", "tools", "evals")
        for p in _modules(pkg)
        if "openai" in _imports(p)
    ]
    assert users in ([], ["agent/openai_client.py"])


def test_only_refs_imports_prance() -> None:
    users = [
        p.relative_to(ROOT).as_posix()
        for pkg in ("agent", "tools", "evals")
        for p in _modules(pkg)
        if "prance" in _imports(p)
    ]
    assert users in ([], ["tools/refs.py"])
