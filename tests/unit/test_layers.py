"""The web layer is HTTP plumbing: it depends on no domain module, so a type or a status is added once."""

import ast
from pathlib import Path

from app.settings import PROJECT_ROOT

DOMAIN = ("app.actions", "app.models", "app.workflow", "app.accounts", "app.audit")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_app_web_imports_no_domain_module():
    offending = {
        f"{path.name}: {module}"
        for path in sorted((PROJECT_ROOT / "app" / "web").glob("*.py"))
        for module in imported_modules(path)
        if module.startswith(DOMAIN)
    }
    assert offending == set()
