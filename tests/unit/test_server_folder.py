"""Imports from a folder on the server (admins only, never outside LABELKIT_LOCAL_FILES_ROOT;
media referenced where it is and served by signed links) and duplicate detection on request."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from labelkit import importers
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.importers import server_folder
from labelkit.models import AuditEvent, Role, Task
from labelkit.server import routes
from labelkit.settings import get_settings
from labelkit.storage import local

SAMPLES = Path(__file__).resolve().parents[2] / "labelkit" / "samples"
IMAGES = '<View><Image name="img" value="$image"/><Choices name="ok" toName="img"><Choice value="Fine"/></Choices></View>'
TEXTS = '<View><Text name="t" value="$text"/><Choices name="ok" toName="t"><Choice value="Fine"/></Choices></View>'


@pytest.fixture
def root(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "datasets"
    (folder / "birds" / "nested").mkdir(parents=True)
    shutil.copyfile(SAMPLES / "shape-1.png", folder / "birds" / "a.png")
    shutil.copyfile(SAMPLES / "shape-2.png", folder / "birds" / "nested" / "b.png")
    (folder / "birds" / "notes.md").write_text("not a task file")
    (tmp_path / "secret.png").write_bytes((SAMPLES / "shape-3.png").read_bytes())
    monkeypatch.setenv("LABELKIT_LOCAL_FILES_ROOT", str(folder))
    get_settings.cache_clear()
    return folder


def import_folder(user, project, relative: str, pattern: str = "*", **options):
    names = server_folder.list_files(relative, pattern, importers.extensions())
    with session_scope() as s:
        return importers.import_sources(s, user, project.id, server_folder.opened(names), in_place=True, **options)


def task_data(project) -> list[dict]:
    with session_scope(write=False) as s:
        return [t.data for t in s.exec(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()]


def test_media_in_a_server_folder_is_referenced_where_it_is(factory, root) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=IMAGES)
    report = import_folder(admin, project, "birds")
    assert report.created == 2
    values = [d["image"] for d in task_data(project)]
    assert values == ["/data/local-files/?d=birds/a.png", "/data/local-files/?d=birds/nested/b.png"]
    assert local.resolve(values[1]) == (root / "birds" / "nested" / "b.png").resolve()
    assert not (get_settings().media_dir / "upload" / str(project.id)).exists(), "nothing is copied"
    with session_scope(write=False) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "task.import")).one()
        assert event.detail["server_folder"] is True


def test_a_pattern_picks_files_and_task_files_in_the_folder_are_read(factory, root) -> None:
    admin = factory.user(Role.ADMIN)
    (root / "birds" / "tasks.jsonl").write_text('{"image": "https://example.com/c.png"}\n')
    project = factory.project(admin, config=IMAGES)
    assert server_folder.list_files("birds", "*.png", importers.extensions()) == ["birds/a.png", "birds/nested/b.png"]
    report = import_folder(admin, project, str(root / "birds"))  # an absolute path inside the root works too
    assert report.created == 3
    assert {d["image"] for d in task_data(project)} >= {"https://example.com/c.png", "/data/local-files/?d=birds/a.png"}


@pytest.mark.parametrize("relative", ["..", "../", "birds/../../", "/etc", "missing"])
def test_folders_outside_the_root_are_refused(factory, root, relative) -> None:
    with pytest.raises(InvalidInput, match=r"outside the folder the admin allowed|no such folder"):
        server_folder.list_files(relative)


def test_a_symlink_out_of_the_root_is_not_followed(factory, root, tmp_path) -> None:
    os.symlink(tmp_path / "secret.png", root / "birds" / "escape.png")
    os.symlink(tmp_path, root / "birds" / "up")
    assert server_folder.list_files("birds") == ["birds/a.png", "birds/nested/b.png", "birds/notes.md"]
    with pytest.raises(InvalidInput, match="leaves LABELKIT_LOCAL_FILES_ROOT"):
        local.resolve("/data/local-files/?d=birds/escape.png")
    with pytest.raises(InvalidInput, match="leaves LABELKIT_LOCAL_FILES_ROOT"):
        local.resolve("/data/local-files/?d=../secret.png")


def test_only_admins_import_from_the_server(factory, root) -> None:
    admin, manager = factory.user(Role.ADMIN), factory.user(Role.MANAGER)
    project = factory.project(admin, config=IMAGES)
    factory.member(project, manager, Role.MANAGER)
    with pytest.raises(PermissionDenied):
        import_folder(manager, project, "birds")
    assert task_data(project) == []


def test_without_a_root_server_folders_are_off(factory, settings) -> None:
    with pytest.raises(InvalidInput, match="LABELKIT_LOCAL_FILES_ROOT"):
        server_folder.list_files("anything")


def test_a_file_that_is_not_what_its_name_says_refuses_the_whole_folder(factory, root) -> None:
    admin = factory.user(Role.ADMIN)
    (root / "birds" / "z-broken.png").write_text("not an image")
    project = factory.project(admin, config=IMAGES)
    with pytest.raises(InvalidInput, match=r"z-broken\.png: not a readable image"):
        import_folder(admin, project, "birds")
    assert task_data(project) == []


def test_server_files_are_served_to_signed_links_and_signed_in_people_only(factory, root) -> None:
    client = TestClient(Starlette(routes=routes), base_url="http://localhost", follow_redirects=False)
    path = "/data/local-files/?d=birds/nested/b.png"
    signed = local.signed_url(path)
    response = client.get(signed)
    assert response.status_code == 200
    assert response.content == (root / "birds" / "nested" / "b.png").read_bytes()
    assert client.get(path).status_code == 403
    assert client.get(signed.replace("b.png", "a.png")).status_code == 403  # a signature is for one file
    outside = local.signed_url("/data/local-files/?d=../secret.png")
    assert client.get(outside).status_code == 404


# --- duplicates ------------------------------------------------------------------------


def run_import(user, project, name: str, content: bytes, **options):
    with session_scope() as s:
        return importers.import_sources(s, user, project.id, [(name, io.BytesIO(content), len(content))], **options)


def test_duplicates_are_skipped_on_request_against_the_project_and_the_file(factory) -> None:
    owner = factory.user(Role.ADMIN)
    project = factory.project(owner, config=TEXTS)
    run_import(owner, project, "first.json", json.dumps([{"text": "a"}, {"text": "b"}]).encode())
    again = [{"data": {"text": "b"}}, {"text": "c"}, {"text": "c"}, {"text": "a", "extra": 1}]
    report = run_import(owner, project, "again.json", json.dumps(again).encode(), skip_duplicates=True)
    assert (report.created, report.duplicates) == (2, 2)
    assert "2 duplicates of tasks already there were skipped" in report.summary()
    assert [d["text"] for d in task_data(project)] == ["a", "b", "c", "a"]
    # without the option every row is a new task
    assert run_import(owner, project, "third.json", json.dumps(again).encode()).created == 4


def test_a_file_of_nothing_but_duplicates_imports_nothing_and_says_so(factory) -> None:
    owner = factory.user(Role.ADMIN)
    project = factory.project(owner, config=TEXTS)
    run_import(owner, project, "first.csv", b"text\nx\ny\n")
    report = run_import(owner, project, "same.csv", b"text\ny\nx\n", skip_duplicates=True)
    assert (report.created, report.duplicates) == (0, 2)
    assert report.summary().startswith("Imported 0 tasks")
    assert len(task_data(project)) == 2


BOXES = '<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img"><Label value="Shape"/></RectangleLabels></View>'


def test_server_folder_images_export_and_pack_like_uploads(factory, root) -> None:
    import zipfile

    from PIL import Image

    from labelkit import exporters
    from labelkit.labeling import queue, submissions

    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=BOXES)
    import_folder(admin, project, "birds/nested")
    with session_scope() as s:
        task = queue.claim_next(s, admin, project.id).task
    with session_scope() as s:  # a box without the image's size: the export reads it from the file
        submissions.submit(s, admin, task.id, [{"id": "r1", "from_name": "box", "to_name": "img", "type": "rectanglelabels",
                                         "value": {"x": 0, "y": 0, "width": 50, "height": 50, "rectanglelabels": ["Shape"]}}])
    out = io.BytesIO()
    with session_scope(write=False) as s:
        report = exporters.export_project(s, admin, project.id, "COCO", out, with_images=True)
    assert report.images == 1 and report.missing_images == 0
    archive = zipfile.ZipFile(out)
    coco = json.loads(archive.read("annotations.json"))
    (image,) = coco["images"]
    with Image.open(root / "birds" / "nested" / "b.png") as original:
        assert (image["width"], image["height"]) == original.size
    assert archive.read(image["file_name"]) == (root / "birds" / "nested" / "b.png").read_bytes()
