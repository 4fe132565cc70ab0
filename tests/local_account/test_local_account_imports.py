"""How the local account's own modules import one another (no circle), and how the functions' package is imported
in it: once per deployed function, in a module space of its own, apart from the host's."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import local_account
from local_account.runtime import ModuleSpaces, asset_packages

PACKAGE_DIR = Path(local_account.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's own modules this one imports, anywhere in it (module level, TYPE_CHECKING blocks, functions).
    A child importing its parent package is not counted: Python imports the parent first, by design."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
                elif base in modules:
                    found.add(base)
    return {imported for imported in found if imported != name and not name.startswith(imported + ".")}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, str] = {}  # "open" while on the walk's path, "done" after

    def walk(node: str, path: list[str]) -> None:
        state[node] = "open"
        for imported in sorted(graph[node]):
            if state.get(imported) == "open":
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                walk(imported, [*path, imported])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    return cycles


def test_no_module_of_the_local_account_imports_itself_through_others() -> None:
    # Given every module of the local_account package and the package's own modules each imports
    paths = sorted(PACKAGE_DIR.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph = {_module_name(path): _imports(path, modules) for path in paths}
    assert graph["local_account.account"] >= {"local_account.trail", "local_account.runtime"}  # the walk sees imports

    # When the imports are followed
    cycles = _cycles(graph)

    # Then none leads back to where it started
    assert cycles == []


def test_the_walk_finds_a_circle_when_there_is_one() -> None:
    # Given two modules importing each other, beside a third importing one of them
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}

    # Then the circle is found
    assert _cycles(graph) == [["a", "b", "a"]]


def test_the_functions_package_is_the_assets_one_top_level_name() -> None:
    # Then the module spaces swap exactly the functions' package, key_lifecycle, and everything under it
    assert asset_packages() == frozenset({"key_lifecycle"})


def test_each_function_imports_the_package_in_a_space_of_its_own_and_the_host_keeps_its_modules() -> None:
    # Given the host process with the functions' package imported
    import key_lifecycle.models.dates as host_dates

    spaces = ModuleSpaces()

    # When two functions import the same module, one of them twice
    with spaces.entered("rotate_keys"):
        assert "key_lifecycle" not in sys.modules and "key_lifecycle.models.dates" not in sys.modules
        import key_lifecycle.models.dates as rotate_dates
    with spaces.entered("cleanup_users"):
        import key_lifecycle.models.dates as cleanup_dates
    with spaces.entered("rotate_keys"):
        import key_lifecycle.models.dates as rotate_dates_again

    # Then each function has its own module, kept from one run to the next, and the host's is back in place
    assert rotate_dates is not host_dates and cleanup_dates is not host_dates and rotate_dates is not cleanup_dates
    assert rotate_dates_again is rotate_dates
    assert sys.modules["key_lifecycle.models.dates"] is host_dates
    assert sys.modules["key_lifecycle"].models.dates is host_dates
