"""Test folders say what they test: tests/unit holds only tests that need neither a database nor HTTP."""

import ast
from pathlib import Path

UNIT = Path(__file__).parent
TESTS = UNIT.parent
SERVICE_FIXTURES = {"server_url", "database_url", "db", "client", "maker", "checker"}
"""The fixtures of tests/conftest.py that start PostgreSQL or the app."""
SERVICE_MODULES = ("asyncpg", "httpx", "litestar.testing", "app.db", "tests.http", "tests.servers")


def _requested_fixtures(tree: ast.Module) -> set[str]:
    return {
        arg.arg
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
        for arg in node.args.args
    }


def _imported(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_unit_tests_use_neither_the_database_nor_http():
    offending = set()
    for path in sorted(UNIT.rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        name = path.relative_to(TESTS).as_posix()
        offending |= {f"{name} requests {f}" for f in _requested_fixtures(tree) & SERVICE_FIXTURES}
        offending |= {f"{name} imports {m}" for m in _imported(tree) if m.startswith(SERVICE_MODULES)}
    assert offending == set()


def test_each_action_type_is_tested_under_tests_actions():
    from app.actions import REGISTRY

    assert {f"test_{name}.py" for name in REGISTRY} <= {p.name for p in (TESTS / "actions").glob("*.py")}
