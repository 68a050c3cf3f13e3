"""The layers stay layers: the import graph is acyclic and the pure core never loads a UI, cloud SDK or engine.

Read from the source with ``ast`` (every import, also those inside functions, except
``if TYPE_CHECKING:`` blocks), and checked once more in a fresh interpreter, where
``sys.modules`` says what importing the pure core really loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from conftest import REPO

LIBRARY = REPO / "components" / "seawall"
# The pure core: catalogue, pipeline, renderers and the leaves they stand on.
PURE = (
    "seawall.catalog",
    "seawall.catalog.load",
    "seawall.catalog.model",
    "seawall.flows",
    "seawall.stack",
    "seawall.stackconfig",
    "seawall.topology",
    "seawall.aws.render",
    "seawall.azure.render",
    "seawall.addresses.ipsets",
    "seawall.addresses.lock",
    "seawall.export.terraform",
)
FORBIDDEN_IN_PURE = ("rich", "typer", "boto3", "botocore", "pulumi", "pulumi_aws", "pulumi_azure_native", "dns")
# rich belongs to the views and the command line.
RICH_ALLOWED = ("seawall.report", "seawall.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIBRARY.rglob("*.py"))}


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for child in block.body
        for node in ast.walk(child)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:  # ``from seawall.cli import catalog`` imports a module
                if f"{node.module}.{alias.name}" in MODULES:
                    yield f"{node.module}.{alias.name}"


GRAPH = {name: sorted({i for i in imports(path) if i in MODULES and i != name}) for name, path in MODULES.items()}


def test_the_import_graph_is_acyclic() -> None:
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in GRAPH[node]:
            if state.get(nxt) == "open":
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in GRAPH:
        if name not in state:
            visit(name, [name])
    assert cycles == []


def closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += GRAPH[name]
    return seen


def test_the_pure_core_never_imports_ui_sdks_or_pulumi() -> None:
    offenders = {}
    for start in PURE:
        for name in closure(start):
            bad = sorted(i for i in imports(MODULES[name]) if i.split(".")[0] in FORBIDDEN_IN_PURE)
            if bad:
                offenders[f"{start} -> {name}"] = bad
    assert offenders == {}


def test_rich_is_imported_only_by_views_and_commands() -> None:
    users = sorted(
        name
        for name, path in MODULES.items()
        if any(i.split(".")[0] == "rich" for i in imports(path)) and not name.startswith(RICH_ALLOWED)
    )
    assert users == []


def test_importing_the_pure_core_loads_none_of_them() -> None:
    probe = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in PURE)
        + f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FORBIDDEN_IN_PURE)!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
