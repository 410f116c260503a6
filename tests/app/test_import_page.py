"""The Import page's server folder (admins only, when LABELKIT_LOCAL_FILES_ROOT is set) and
its duplicate switch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.models import Role, Task
from labelkit.settings import get_settings
from tests.app.test_access import texts

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

SAMPLES = Path(__file__).resolve().parents[2] / "labelkit" / "samples"
IMAGES = '<View><Image name="img" value="$image"/><Choices name="ok" toName="img"><Choice value="Fine"/></Choices></View>'


def images_of(project) -> list[str]:
    with session_scope(write=False) as s:
        return [t.data["image"] for t in s.exec(select(Task).where(Task.project_id == project.id).order_by(Task.id))]


def import_button(at):
    return next(b for b in at.button if b.label.startswith("Import"))


def test_an_admin_imports_a_server_folder_once_and_a_manager_never_sees_it(app_as, factory, tmp_path, monkeypatch) -> None:
    root = tmp_path / "shared"
    (root / "batch-1").mkdir(parents=True)
    for n in (1, 2, 3):
        shutil.copyfile(SAMPLES / f"shape-{n}.png", root / "batch-1" / f"shape-{n}.png")
    monkeypatch.setenv("LABELKIT_LOCAL_FILES_ROOT", str(root))
    get_settings.cache_clear()
    admin, manager = factory.user(Role.ADMIN), factory.user(Role.MANAGER)
    project = factory.project(admin, config=IMAGES)
    factory.member(project, manager, Role.MANAGER)

    at = app_as(admin, "import", project=project.id)
    at.text_input(key="lk_import_folder_0").input("../").run()
    assert "outside the folder the admin allowed" in texts(at)
    at.text_input(key="lk_import_folder_0").input("batch-1").run()
    assert "3 files match: batch-1/shape-1.png" in texts(at)
    import_button(at).click().run()
    assert "Imported 3 tasks from 3 files." in texts(at)
    assert images_of(project) == [f"/data/local-files/?d=batch-1/shape-{n}.png" for n in (1, 2, 3)]

    at.text_input(key="lk_import_folder_1").input("batch-1").run()
    at.checkbox(key="lk_import_skip_duplicates").check().run()
    import_button(at).click().run()
    assert "Imported 0 tasks from 3 files. 3 duplicates of tasks already there were skipped." in texts(at)
    assert len(images_of(project)) == 3

    at = app_as(manager, "import", project=project.id)
    assert not [t for t in at.text_input if t.key and t.key.startswith("lk_import_folder")]
    assert "a folder on the server" not in texts(at).lower()
