"""Kura's import arrows, read from the source with `ast` (issue 15).

Four programs (api, backup, monitor, cli) use the infrastructure in common/ and the bookmark
application in domain/; a program reads another one only through that program's read-only view;
common/ imports nothing of Kura's but itself; and no module imports itself in a circle, counting the
imports inside functions too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What each top-level package may import besides itself.
MAY_IMPORT = {
    "common": set(),
    "domain": {"common"},
    "migrations": {"common", "domain"},
    "api": {"common", "domain"},
    "cli": {"common", "domain"},
    "backup": {"common", "domain.models"},  # the run log is a table of the bookmark database
    "monitor": {"common"},
}
PROGRAMS = {"api", "backup", "monitor", "cli"}
# Each program's read-only view for the others: the only modules of a program another one imports.
VIEWS = {
    "api.request_stats",  # the request figures kura-api leaves for kura-monitor
    "backup.status",  # the newest verified backup, the run log, the lock names
    "monitor.query",  # metrics.db's series, latest sample and alert history
}


def kura_modules() -> dict[str, Path]:
    found = {}
    for package in MAY_IMPORT:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(path: Path, known: Mapping[str, Path]) -> Iterator[str]:
    """The Kura modules a file imports anywhere in it (`from pkg import mod` names pkg.mod)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                yield name


def allowed(importer: str, target: str) -> bool:
    own, other = importer.split(".")[0], target.split(".")[0]
    if own == other or (own in PROGRAMS and target in VIEWS):
        return True
    return any(target == ok or target.startswith(ok + ".") for ok in MAY_IMPORT[own])


def cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """One import circle in the graph, as the modules around it, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return []

    return next((found for node in sorted(graph) if node not in state
                 for found in [visit(node, [node])] if found), [])


def import_graph() -> dict[str, set[str]]:
    known = kura_modules()
    return {module: set(imported(path, known)) - {module} for module, path in known.items()}


def test_every_import_follows_the_arrows() -> None:
    wrong = sorted(f"{module} imports {target}" for module, targets in import_graph().items()
                   for target in targets if not allowed(module, target))
    assert wrong == []


def test_the_import_graph_has_no_cycle() -> None:
    assert cycle(import_graph()) == []


def test_the_views_exist_and_are_used() -> None:
    graph = import_graph()
    for view in VIEWS:
        assert view in graph, f"{view} is declared a view but there is no such module"
        assert any(view in targets and module.split(".")[0] != view.split(".")[0]
                   for module, targets in graph.items()), f"no other program reads {view}"


def test_the_arrows_refuse_internals_and_infrastructure_reaching_up() -> None:
    assert not allowed("monitor.sources", "backup.pipeline")
    assert not allowed("api.routes.system_metrics", "monitor.store")
    assert not allowed("common.db", "domain.models")
    assert not allowed("domain.listing", "api.hot")
    assert not allowed("backup.runlog", "domain.listing")
    assert allowed("monitor.sources", "backup.status") and allowed("backup.runlog", "domain.models")


def test_a_circle_of_imports_is_found() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) == []



def stdlib_sqlite_importers(paths: Iterable[Path]) -> list[Path]:
    """The files that import the standard library's sqlite3 themselves (anywhere in the file)."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            if any(name == "sqlite3" or name.startswith("sqlite3.") for name in names):
                found.append(path)
                break
    return found


def test_only_common_sqlite_chooses_the_sqlite_library() -> None:
    # Two SQLite libraries in one process drop each other's file locks: every module, the tests and
    # the bench included, takes sqlite3 from common.sqlite.
    files = [p for tree in (*MAY_IMPORT, "bench", "tests") for p in (ROOT / tree).rglob("*.py")]
    assert stdlib_sqlite_importers(files) == [ROOT / "common" / "sqlite.py"]


def test_a_plain_sqlite3_import_is_found_wherever_it_is(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    import sqlite3\n")
    (tmp_path / "b.py").write_text("from sqlite3 import Connection\n")
    (tmp_path / "c.py").write_text("import sqlite3.dbapi2 as db\n")
    (tmp_path / "d.py").write_text("from common.sqlite import sqlite3\nimport sqlite3x\n")
    found = stdlib_sqlite_importers(sorted(tmp_path.glob("*.py")))
    assert [p.name for p in found] == ["a.py", "b.py", "c.py"]
