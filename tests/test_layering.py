"""The package's import rules (DESIGN.md sections 1 and 9), read from the source's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from miniflare_py.bindings import registry

PACKAGE = Path(__file__).resolve().parent.parent / "miniflare_py"
# The Local Explorer is a front door too: served by `server`, never imported by the engine.
FRONT_DOORS = {"__main__", "cli", "commands", "dev", "check", "server", "pytest_plugin", "explorer"}
# Every registered binding type's package (`miniflare_py.d1.binding:D1Binding` -> "d1").
BINDING_PACKAGES = {spec.split(".")[1] for spec in registry._BINDING_TYPES}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Modules of the package that `path` imports, anywhere in it (inside functions and under
    `if TYPE_CHECKING:` too: a type-only import still ties the two modules together)."""
    tree = ast.parse(path.read_text())
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("miniflare_py"))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                if target.startswith("miniflare_py"):
                    found.add(target)
                    # `from . import x` may import a submodule
                    found.update(f"{target}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: {i for i in imports_of(path) if i in MODULES} for name, path in MODULES.items()}


def top(name: str) -> str:
    return name.split(".")[1] if "." in name else ""


def test_the_engine_never_imports_a_front_door() -> None:
    for name, imports in GRAPH.items():
        if top(name) in FRONT_DOORS:
            continue
        assert not {i for i in imports if top(i) in FRONT_DOORS}, name


@pytest.mark.parametrize("module", ["miniflare_py.config", "miniflare_py.runtime"])
def test_config_and_runtime_name_no_binding_type(module: str) -> None:
    assert not {i for i in GRAPH[module] if top(i) in BINDING_PACKAGES}
    source = MODULES[module].read_text()
    for word in ("d1_databases", "queue_consumers", "queue_producers", "D1Database", "QueueBroker"):
        assert word not in source, f"{module} names {word}"


def test_the_queue_broker_never_imports_the_worker() -> None:
    assert "miniflare_py.worker" not in GRAPH["miniflare_py.queues.broker"]


def test_there_are_no_import_cycles() -> None:
    # Package `__init__` modules re-export their submodules; a submodule importing a sibling
    # through its package is not a cycle of its own, so edges into an `__init__` are followed
    # only from outside that package.
    def edges(name: str) -> set[str]:
        out = set()
        for target in GRAPH[name]:
            if MODULES[target].name == "__init__.py" and name.startswith(target + "."):
                continue
            out.add(target)
        return out

    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(edges(name)):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                walk(target)
        stack.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            walk(name)
