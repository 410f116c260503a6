"""Every page against every kind of person, the expected answer generated from the one
permission table (labelkit/auth/permissions.py) and each page's declared needs
(labelkit/ui/navigation.py PAGES): a page opened by someone who may not use it says so (or
asks them to sign in) and shows nothing of any project; a page someone may use opens without
a refusal; nobody but an admin sees a project they are not a member of, on any page.

A page file in pages/ that is not in PAGES (or the signed-out pages of the shell), or a page
that does not check its declaration when opened, fails here; an entry without a declaration
cannot be written (PageSpec.needs has no default)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labelkit.auth.accounts import set_active
from labelkit.auth.permissions import PORTAL_CAPABILITIES, ROLE_CAPABILITIES, Capability
from labelkit.db import session_scope
from labelkit.models import Role
from labelkit.ui.navigation import PAGES, SIGNED_IN, refusal
from labelkit.ui.shell import SIGNED_OUT_PAGES
from tests.app.conftest import APP, link_identity

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

ROOT = Path(__file__).resolve().parents[2]
PERSONAS = ["signed out", "annotator", "reviewer", "manager", "portal manager", "admin", "deactivated"]
PROJECT_ROLE = {"annotator": Role.ANNOTATOR, "reviewer": Role.REVIEWER, "manager": Role.MANAGER, "deactivated": Role.MANAGER}

# What each project shows when someone may see it (titles and task text).
MINE = ("Heron survey", "heron-secret-text")
THEIRS = ("Osprey survey", "osprey-secret-text")


def held(persona: str) -> set[Capability]:
    """What the permission table gives the persona: derived from ROLE_CAPABILITIES here, not
    from the app's own helpers, so a change to either side shows up."""
    if persona in ("signed out", "deactivated"):
        return set()
    if persona == "admin":
        return set(ROLE_CAPABILITIES[Role.ADMIN])
    if persona == "portal manager":  # a manager account in no project: may create projects
        return set(ROLE_CAPABILITIES[Role.MANAGER] & PORTAL_CAPABILITIES)
    return set(ROLE_CAPABILITIES[PROJECT_ROLE[persona]] - PORTAL_CAPABILITIES) | set(
        ROLE_CAPABILITIES[Role.ANNOTATOR] & PORTAL_CAPABILITIES)


def expected_allowed(persona: str, needs: tuple[Capability, ...]) -> bool:
    if persona in ("signed out", "deactivated"):
        return False
    return needs == SIGNED_IN or any(c in held(persona) for c in needs)


def rendered(at: AppTest) -> str:
    """Everything in the page's element tree (main and sidebar), as protobuf text: titles,
    markdown, widget labels and options, table cells."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def open_address(at: AppTest, key: str) -> None:
    """Open a page by its address (/label, /admin...), as a person typing the URL does: for
    someone signed out every address leads to the sign-in page."""
    url_path = "" if key == "home" else key
    found = [h for h, info in at._registered_pages.items() if info.get("url_pathname") == url_path]
    assert found, f"no page answers /{url_path}: {[i.get('url_pathname') for i in at._registered_pages.values()]}"
    at._page_hash = found[0]


@dataclass
class World:
    people: dict[str, object] = field(default_factory=dict)
    theirs: int = 0  # the id of a project none of them but the admin is in


@pytest.fixture
def world(factory) -> World:
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    mine = factory.project(admin, title=MINE[0])
    factory.tasks(mine, admin, [{"text": f"{MINE[1]} {i}"} for i in range(2)])
    theirs = factory.project(admin, title=THEIRS[0])
    factory.tasks(theirs, admin, [{"text": f"{THEIRS[1]} {i}"} for i in range(2)])
    w = World(theirs=theirs.id)
    w.people["admin"] = admin
    w.people["portal manager"] = factory.user(Role.MANAGER, email="portal-manager@example.com")
    for persona, role in PROJECT_ROLE.items():
        user = factory.user(email=f"{persona}@example.com")
        factory.member(mine, user, role)
        w.people[persona] = user
    link_identity(w.people["deactivated"])  # signed in once, then deactivated by an admin
    with session_scope() as s:
        set_active(s, admin, w.people["deactivated"].id, False)
    return w


def test_every_page_file_is_declared_and_checks_its_declaration() -> None:
    files = {p.stem for p in (ROOT / "pages").glob("*.py")}
    declared = {spec.key for spec in PAGES}
    assert files - declared - set(SIGNED_OUT_PAGES) == set(), "a page in pages/ without an entry in navigation.PAGES"
    assert declared - files == set(), "an entry in navigation.PAGES without its page file"
    for spec in PAGES:
        assert isinstance(spec.needs, tuple) and all(isinstance(c, Capability) for c in spec.needs), spec.key
        # The page checks its own entry when opened by URL: its first statement of substance is page_user("key"),
        # or page_project("key", ...), which calls it.
        calls = [n for n in ast.walk(ast.parse(spec.path.read_text())) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", None) in ("page_user", "page_project")]
        assert [ast.literal_eval(c.args[0]) for c in calls] == [spec.key], f"pages/{spec.key}.py must call page_user({spec.key!r}) or page_project({spec.key!r}, ...)"


def test_the_matrix_covers_every_capability_a_page_needs() -> None:
    """The personas between them reach every page (an unreachable page would be a dead entry)."""
    for spec in PAGES:
        assert any(expected_allowed(p, spec.needs) for p in PERSONAS), spec.key


def test_each_page_opens_or_refuses_as_the_permission_table_says(world: World) -> None:
    wrong: list[str] = []
    for persona in PERSONAS:
        wrong += pages_as(world, persona)
    assert not wrong, "\n".join(wrong)


def pages_as(world: World, persona: str) -> list[str]:
    """Every page opened by its address as the persona: what differs from the table."""
    user = world.people.get(persona)
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = link_identity(user) if user is not None else {"is_logged_in": False}
    at.run()
    wrong: list[str] = []
    for spec in PAGES:
        open_address(at, spec.key)
        at.query_params["project"] = str(world.theirs)  # asking for another project by its id, in the URL
        at.run()
        shown = rendered(at)
        allowed = expected_allowed(persona, spec.needs)
        if at.exception:
            wrong.append(f"{spec.key} as {persona}: exception {at.exception[0].message}")
            continue
        refused_here = refusal(spec) in shown if spec.needs != SIGNED_IN else False
        # Signed out or deactivated: the sign-in page, the "no account" page, or the page's own "Please sign in."
        asked_to_sign_in = persona in ("signed out", "deactivated") and (
            "Please sign in." in shown or 'label: "Password"' in shown or "deactivated" in shown)
        if allowed and (refused_here or "Please sign in" in shown):
            wrong.append(f"{spec.key}: refused, but {persona} holds {sorted(set(spec.needs) & held(persona))}")
        if not allowed and not (refused_here or asked_to_sign_in):
            wrong.append(f"{spec.key}: not refused, but {persona} holds none of {[str(c) for c in spec.needs]}")
        may_see_mine = persona in ("annotator", "reviewer", "manager", "admin")
        for label, (title, text) in (("its project", MINE), ("another project", THEIRS)):
            visible = allowed and (may_see_mine if label == "its project" else persona == "admin")
            if not visible and (title in shown or text in shown):
                wrong.append(f"{spec.key}: shows {label} ({title!r}) to {persona}")
    return wrong
