"""One home for each rule: views load, validate, call one domain function and render.

Transactions, audit rows and alerts live in domain modules, so a rule like "one open alert per
piece of writing" is written once. These checks read the source, so a view that starts doing a
domain function's work fails here before it can disagree with the rule's real home.
"""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "aftercare"
VIEWS = sorted(APP.glob("*/views.py"))


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            names.add(f"{owner_name}.{node.func.attr}")
    return names


@pytest.mark.parametrize("path", VIEWS, ids=[p.parent.name for p in VIEWS])
def test_views_open_no_transaction_and_write_no_audit_row(path):
    tree = ast.parse(path.read_text())
    calls = _calls(tree)
    assert "db.atomic" not in calls, f"{path}: a transaction belongs in a domain function"
    assert not {"AuditEvent.record", "AuditEvent.record_many"} & calls, f"{path}: audit rows belong in domain functions"
    assert not {"SafetyAlert.create", "alerts.raise_alert", "alerts.flag_writing"} & calls, f"{path}: alerts too"
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert "db" not in imports, f"{path}: views do not touch the database connection"


def test_no_blueprint_imports_another_blueprints_views():
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".views"):
                own = path.parent.name
                assert node.module.split(".")[-2] == own or path.name == "__init__.py", (path, node.module)


def test_the_auth_package_is_not_a_shared_kernel():
    for path in APP.rglob("*.py"):
        if path.parent.name == "auth" or path.name == "__init__.py":
            continue
        source = path.read_text()
        assert "from ..auth" not in source and "from .auth" not in source, path


def test_session_means_one_thing():
    """The sign-in session module and treatment-session scheduling have names that say which."""
    assert (APP / "websessions.py").exists() and not (APP / "sessions.py").exists()
    assert (APP / "journey" / "scheduling.py").exists() and not (APP / "schedule.py").exists()
