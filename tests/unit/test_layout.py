"""The house rules a machine can check: every module is where the README's Layout says, the
layers of DESIGN.md hold (pages -> labelkit.ui -> services -> models), and pages run no SQL."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout_block() -> list[str]:
    """The lines of the code block under the README's '## Layout' heading."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Layout\n"):]
    start = section.index("```\n") + 4
    return section[start:section.index("```", start)].splitlines()


def listed_modules() -> set[str]:
    """Paths of the modules the Layout names: `name.py` in the first column of a line, under
    the folder (`name/`) of the nearest less indented folder line."""
    folders: list[tuple[int, str]] = []  # (indent, path) from the root down
    found = set()
    for line in layout_block():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        names = re.split(r"\s{2,}", line.strip())[0]
        while folders and folders[-1][0] >= indent:
            folders.pop()
        parent = folders[-1][1] if folders else ""
        if names.endswith("/") and " " not in names:
            folders.append((indent, f"{parent}{names}"))
            found.add(f"{parent}{names}")
            continue
        found |= {f"{parent}{name}" for name in re.findall(r"(?<![\w/.])[\w]+\.py\b", names)}
    return found


def test_every_module_under_labelkit_is_in_the_readme_layout_and_nothing_gone_is() -> None:
    package = ROOT / "labelkit"
    actual = {str(p.relative_to(ROOT)) for p in package.rglob("*.py") if p.name != "__init__.py"}
    actual |= {"labelkit/"} | {f"{p.relative_to(ROOT)}/" for p in package.rglob("*") if p.is_dir() and (p / "__init__.py").exists()}
    listed = {entry for entry in listed_modules() if entry.startswith("labelkit/")}
    assert sorted(actual - listed) == [], "modules missing from README.md's Layout section"
    assert sorted(listed - actual) == [], "README.md's Layout names modules that are not there"


def test_the_layers_hold(capsys, monkeypatch) -> None:
    """The import-linter contracts in pyproject.toml ([tool.importlinter]): only labelkit.ui
    imports Streamlit or labelkit.ui, and server > ui | api | cli > ops > services > models."""
    from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert status == EXIT_STATUS_SUCCESS, capsys.readouterr().out[-4000:]


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
    names = Counter(p.name for p in (ROOT / "tests").rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []


# Who may call what. A service function takes the session, then the acting user, and checks
# that person's permission (DESIGN.md). One that takes no acting user checks nothing: it is
# internal (its name starts with "_"), or its module is one of these, for the reason given.
ACTS_WITHOUT_AN_ACTOR = {
    "labelkit.auth": "identity itself: sign-in, sessions, invites and the permission checks act for the person they identify",
    "labelkit.db": "the engine's locks; no data",
    "labelkit.ops": "operator tooling, run from a shell (`labelkit demo`, `labelkit backup`) or at start-up",
}
INTERFACES = ("pages", "app.py", "labelkit/ui", "labelkit/api", "labelkit/cli", "labelkit/server.py")


def _modules(folder: Path, prefix: str):
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        yield ".".join((prefix, *(p for p in parts if p != "__init__"))), path


def test_service_functions_without_the_acting_user_are_internal() -> None:
    offenders = []
    for name, path in _modules(ROOT / "labelkit", "labelkit"):
        if name.split(".")[1:2] in (["ui"], ["api"], ["cli"], ["server"]) or any(name.startswith(m) for m in ACTS_WITHOUT_AN_ACTOR):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                params = [a.arg for a in node.args.args]
                if params[:1] == ["session"] and params[1:2] != ["actor"]:
                    offenders.append(f"{name}.{node.name}({', '.join(params[:3])}...)")
    assert offenders == [], "take the acting user and check, or name the function _internal"


def test_pages_ui_api_and_cli_call_no_internal_service_function() -> None:
    """What a page, the API or the CLI calls checks the caller's permission itself."""
    offenders = []
    for entry in INTERFACES:
        paths = [ROOT / entry] if entry.endswith(".py") else sorted((ROOT / entry).rglob("*.py"))
        for path in paths:
            tree = ast.parse(path.read_text())
            modules = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labelkit"):
                    private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                    offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{n}" for n in private]
                    modules |= {a.asname or a.name for a in node.names}
                elif isinstance(node, ast.Import):
                    modules |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("labelkit")}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                        and isinstance(node.value, ast.Name) and node.value.id in modules):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {node.value.id}.{node.attr}")
    assert offenders == []
