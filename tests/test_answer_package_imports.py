"""The answer package stands on its own: no module of it imports the edges (serve, the command
line), and its modules import each other without a circle, so each reads and tests alone."""

from __future__ import annotations

import ast
from pathlib import Path

import assistant.answer

PACKAGE = Path(assistant.answer.__file__).parent
EDGES = ("assistant.serve", "assistant.cli", "assistant.terminal")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function or TYPE_CHECKING block."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # "from assistant.answer import extractive" imports a module of the package.
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {
        f"assistant.answer.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"
    }
    return {name: imports(path) & modules.keys() for name, path in modules.items()}


def test_no_module_of_the_answer_package_imports_an_edge() -> None:
    for path in PACKAGE.glob("*.py"):
        edges = {m for m in imports(path) if m.startswith(EDGES)}
        assert not edges, f"{path.name} imports {sorted(edges)}"


def test_the_answer_modules_import_each_other_without_a_circle() -> None:
    deps = graph()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " → ".join((*path, name))
        if name in done:
            return
        for dep in deps[name]:
            visit(dep, (*path, name))
        done.add(name)

    for name in deps:
        visit(name, ())
    assert {"assistant.answer.pipeline", "assistant.answer.grounding"} <= deps.keys()
