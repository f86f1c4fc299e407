"""The CLI is one package without cycles: commands import shared code from `helpers` only, and only
`program` (and the package's entry points) import the commands (issue 13's circle of __import__s)."""

from __future__ import annotations

import ast
from pathlib import Path

import cli

PACKAGE = Path(cli.__file__).parent
ENTRY_POINTS = {"__init__", "__main__", "program"}


def cli_imports(path: Path) -> set[str]:
    """The cli modules a file imports (`from cli import x` counts as `x`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "cli":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cli."):
            found.add(node.module.rsplit(".", 1)[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.rsplit(".", 1)[1] for a in node.names if a.name.startswith("cli.")}
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            found.add("__import__")
    return found


def test_commands_import_only_the_shared_helpers() -> None:
    modules = {path.stem: cli_imports(path) for path in PACKAGE.glob("*.py")}
    commands = set(modules) - ENTRY_POINTS - {"helpers"}
    assert commands >= {"database", "users", "transfer", "search", "deploy"}
    for name in commands:
        assert modules[name] <= {"helpers"}, f"cli/{name}.py imports {modules[name] - {'helpers'}}"
    assert modules["helpers"] == set(), "helpers must not import the commands"
    assert modules["program"] >= commands and "__import__" not in set().union(*modules.values())
