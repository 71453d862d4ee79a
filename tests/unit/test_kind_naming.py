"""An ActionType object is called `kind` everywhere; `action_type` is only ever a type's name."""

import ast

from app.settings import PROJECT_ROOT

SOURCES = [PROJECT_ROOT / "app", PROJECT_ROOT / "tests"]


def _gives_an_action_type(node: ast.expr | None) -> bool:
    """REGISTRY[...], get_action_type(...), REGISTRY.values() or an `ActionType` annotation."""
    match node:
        case ast.Subscript(value=ast.Name(id="REGISTRY")):
            return True
        case ast.Call(func=ast.Name(id="get_action_type")):
            return True
        case ast.Call(func=ast.Attribute(value=ast.Name(id="REGISTRY"), attr="values")):
            return True
        case ast.BoolOp(values=values):
            return any(_gives_an_action_type(value) for value in values)
        case ast.Name(id="ActionType") | ast.Constant(value="ActionType"):
            return True
        case ast.BinOp(left=left, right=right):  # ActionType | None
            return _gives_an_action_type(left) or _gives_an_action_type(right)
    return False


def _misnamed(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _gives_an_action_type(node.value):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign | ast.arg) and _gives_an_action_type(node.annotation):
            names = [node.target.id if isinstance(node, ast.AnnAssign) else node.arg]
        elif isinstance(node, ast.For | ast.comprehension) and _gives_an_action_type(node.iter):
            names = [node.target.id] if isinstance(node.target, ast.Name) else []
        else:
            continue
        lines += [getattr(node, "lineno", 0) for name in names if name == "action_type"]
    return lines


def test_no_variable_named_action_type_holds_an_action_type():
    offending = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}"
        for root in SOURCES
        for path in sorted(root.rglob("*.py"))
        for line in _misnamed(ast.parse(path.read_text()))
    ]
    assert offending == []
