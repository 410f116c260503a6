"""`labelkit import` beyond local files: task files at URLs, S3 prefixes (synced as a source
storage, so a second run adds only new objects), server folders in place, duplicates."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.models import CloudStorage, Role, Task
from labelkit.settings import get_settings
from tests.unit.test_s3_storage import png

SAMPLES = Path(__file__).resolve().parents[2] / "labelkit" / "samples"
TEXTS = '<View><Text name="t" value="$text"/><Choices name="ok" toName="t"><Choice value="Fine"/></Choices></View>'
IMAGES = '<View><Image name="img" value="$image"/><Choices name="ok" toName="img"><Choice value="Fine"/></Choices></View>'


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result


def task_data(project) -> list[dict]:
    with session_scope(write=False) as s:
        return [t.data for t in s.exec(select(Task).where(Task.project_id == project.id).order_by(Task.id))]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A web server on loopback serving a folder."""
    folder = tmp_path / "web"
    folder.mkdir()
    def handler(*a):
        return http.server.SimpleHTTPRequestHandler(*a, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", folder
    finally:
        server.shutdown()


def test_a_task_file_at_a_url_is_fetched_and_imported(factory, web, monkeypatch) -> None:
    base, folder = web
    (folder / "tasks.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    (folder / "bad.json").write_text('[{"text": "ok"}, {"body": "no text"}]')
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=TEXTS)
    refused = run("import", str(project.id), f"{base}/tasks.jsonl", ok=False)
    assert "private" in refused.output or "loopback" in refused.output  # the portal fetches public addresses only
    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "true")
    get_settings.cache_clear()
    assert "Imported 2 tasks from 1 file." in run("import", str(project.id), f"{base}/tasks.jsonl").output
    result = run("import", str(project.id), f"{base}/bad.json", f"{base}/tasks.jsonl", ok=False)
    assert "bad.json, task 2: missing key 'text'" in result.output
    assert "missing.json" in run("import", str(project.id), f"{base}/missing.json", ok=False).output
    assert [d["text"] for d in task_data(project)] == ["one", "two"]
    assert "2 duplicates" in run("import", str(project.id), f"{base}/tasks.jsonl", "--skip-duplicates").output
    assert len(task_data(project)) == 2


def test_an_s3_prefix_is_synced_as_a_source_storage(factory, s3server, bucket, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "labelkit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "labelkit-secret")
    client = s3server.client()
    client.put_object(Bucket=bucket, Key="photos/a.png", Body=png("red"))
    client.put_object(Bucket=bucket, Key="other/b.png", Body=png("blue"))
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=IMAGES)
    args = ("import", str(project.id), f"s3://{bucket}/photos/", "--s3-endpoint", s3server.endpoint, "--s3-region", "us-east-1")
    assert "1 task" in run(*args).output
    client.put_object(Bucket=bucket, Key="photos/c.png", Body=png("green"))
    run(*args)
    assert [d["image"] for d in task_data(project)] == [f"s3://{bucket}/photos/a.png", f"s3://{bucket}/photos/c.png"]
    with session_scope(write=False) as s:
        assert len(s.exec(select(CloudStorage).where(CloudStorage.project_id == project.id)).all()) == 1
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    failed = run("import", str(project.id), f"s3://{bucket}/other/", "--s3-endpoint", s3server.endpoint, ok=False)
    assert "the secret access key is wrong" in failed.output and len(task_data(project)) == 2


def test_in_place_imports_reference_server_files_and_stay_inside_the_root(factory, tmp_path, monkeypatch) -> None:
    root = tmp_path / "shared"
    (root / "set").mkdir(parents=True)
    for n in (1, 2):
        shutil.copyfile(SAMPLES / f"shape-{n}.png", root / "set" / f"s{n}.png")
    shutil.copyfile(SAMPLES / "shape-3.png", tmp_path / "outside.png")
    monkeypatch.setenv("LABELKIT_LOCAL_FILES_ROOT", str(root))
    get_settings.cache_clear()
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=IMAGES)
    refused = run("import", str(project.id), str(tmp_path / "outside.png"), "--in-place", ok=False)
    assert "outside the folder the admin allowed" in refused.output
    run("import", str(project.id), str(root / "set"), "--in-place")
    assert [d["image"] for d in task_data(project)] == ["/data/local-files/?d=set/s1.png", "/data/local-files/?d=set/s2.png"]
    manager = factory.user(Role.MANAGER, email="manager@example.com")
    factory.member(project, manager, Role.MANAGER)
    assert "import from folders on the server" in run(
        "import", str(project.id), str(root / "set"), "--in-place", "--as", "manager@example.com", ok=False).output


def test_a_2_gb_file_is_refused_before_it_is_read(factory, tmp_path) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=TEXTS)
    small, huge = tmp_path / "a.jsonl", tmp_path / "huge.jsonl"
    small.write_text('{"text": "fine"}\n')
    with huge.open("wb") as f:  # sparse: 2 GB on paper, nothing on disk
        f.truncate(2 * 1024**3)
    result = run("import", str(project.id), str(small), str(huge), ok=False)
    assert "huge.jsonl: larger than the 200 MB upload limit" in result.output
    assert task_data(project) == []
