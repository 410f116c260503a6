"""The direction of imports in DESIGN.md: pages -> labelkit.ui -> labelkit services -> models."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI_ONLY = {"streamlit", "streamlit_drawable_canvas"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_labelkit_ui_imports_streamlit() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "labelkit").rglob("*.py")
        if "ui" not in path.relative_to(ROOT / "labelkit").parts[:1] and _imports(path) & UI_ONLY
    ]
    assert offenders == []


def test_pages_run_no_sql() -> None:
    offenders = []
    for path in (ROOT / "pages").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"exec", "execute", "query"}:
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module in {"sqlmodel", "sqlalchemy"}:
                offenders.append(f"{path.name}:{node.lineno} imports {node.module}")
    assert offenders == []


def test_test_modules_have_names_of_their_own() -> None:
    """tests/ has no package __init__ files: two test modules of one name stop pytest's collection."""
    from collections import Counter
    from pathlib import Path

    names = Counter(p.name for p in (Path(__file__).parents[1]).rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []
