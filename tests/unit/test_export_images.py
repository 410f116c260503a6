"""YOLO, COCO and VOC with the images packed (export_project(..., with_images=True), the
CLI's --with-images): the archive opens as each format's readers open it (pycocotools for
COCO, Ultralytics' image -> label path rule for YOLO, the XML's filename for VOC), every
packed image is the real file at its size, images come from uploads, from the project's
S3 storage (a real SeaweedFS on loopback) and from URLs, and an image that cannot be read
is listed in missing-images.txt rather than silently left out. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from click.testing import CliRunner
from defusedxml import ElementTree
from PIL import Image
from pycocotools.coco import COCO
from sqlmodel import select

from labelkit import cloud, exporters
from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.labeling import queue, submissions
from labelkit.models import Role, Task
from labelkit.settings import get_settings
from labelkit.storage import local
from tests.s3server import KEYS
from tests.support import reply

CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Cat"/></RectangleLabels>
  <Choices name="quality" toName="image"><Choice value="Clear"/><Choice value="Blurry"/></Choices>
</View>"""


def png(color: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def box(label: str, size: tuple[int, int]) -> dict:
    return {"id": f"r-{label}", "from_name": "box", "to_name": "image", "type": "rectanglelabels", "origin": "manual",
            "original_width": size[0], "original_height": size[1], "image_rotation": 0,
            "value": {"x": 10, "y": 10, "width": 50, "height": 50, "rotation": 0, "rectanglelabels": [label]}}


CLEAR = {"id": "q", "from_name": "quality", "to_name": "image", "type": "choices", "origin": "manual",
         "value": {"choices": ["Clear"]}}


def label_all(project, user, results: list[list[dict]]) -> None:
    for result in results:  # tasks are claimed in order
        with session_scope() as s:
            task = queue.claim_next(s, user, project.id).task
        with session_scope() as s:
            submissions.submit(s, user, task.id, result)


@pytest.fixture
def mixed(factory, s3server, private_urls_allowed):
    """Five labeled tasks: an uploaded street.png (200 x 100), s3 a/cat.png (40 x 30) and
    b/cat.png (50 x 20; labeled without regions, so only its header tells its size), an s3
    key that does not exist, and an object in a bucket no storage of the project has."""
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, config=CONFIG, title="Mixed")
    bucket = f"lk-{uuid.uuid4().hex[:12]}"
    client = s3server.client()
    client.create_bucket(Bucket=bucket)
    cats = {"a/cat.png": png("red", (40, 30)), "b/cat.png": png("blue", (50, 20))}
    for key, body in cats.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
    with session_scope() as s:
        cloud.add_storage(s, admin, project.id, cloud.StorageFields(
            kind=cloud.SOURCE, bucket=bucket, endpoint_url=s3server.endpoint, region="us-east-1",
            access_key_id="labelkit", secret_access_key=KEYS["labelkit"]))
    street = local.save_upload(project.id, "street.png", png("gray", (200, 100)))
    values = [street, f"s3://{bucket}/a/cat.png", f"s3://{bucket}/b/cat.png", f"s3://{bucket}/gone/lost.png",
              "s3://lk-not-this-projects/secret.png"]
    factory.tasks(project, admin, [{"image": v} for v in values])
    label_all(project, admin, [[box("Car", (200, 100))], [box("Cat", (40, 30))], [CLEAR],
                               [box("Car", (64, 48))], [box("Car", (64, 48))]])
    return project, admin, values, cats


def export(user, project, fmt: str, with_images: bool = True) -> tuple[exporters.ExportReport, bytes]:
    out = io.BytesIO()
    with session_scope(write=False) as s:
        report = exporters.export_project(s, user, project.id, fmt, out, with_images=with_images)
    return report, out.getvalue()


def missing_lines(archive: zipfile.ZipFile) -> list[list[str]]:
    text = archive.read("missing-images.txt").decode()
    return [line.split("\t") for line in text.splitlines() if not line.startswith("#")]


def size_of(archive: zipfile.ZipFile, name: str) -> tuple[int, int]:
    return Image.open(io.BytesIO(archive.read(name))).size


def test_coco_zip_loads_in_pycocotools_with_every_file_packed_at_its_size(mixed, tmp_path) -> None:
    project, admin, values, cats = mixed
    report, raw = export(admin, project, "COCO")
    assert report.file_name.endswith(".zip") and report.mime == "application/zip"
    assert (report.images, report.missing_images) == (3, 2)
    archive = zipfile.ZipFile(io.BytesIO(raw))
    (tmp_path / "annotations.json").write_bytes(archive.read("annotations.json"))
    coco = COCO(str(tmp_path / "annotations.json"))
    images = coco.loadImgs(coco.getImgIds())
    assert len(images) == 5 and len({i["file_name"] for i in images}) == 5  # the two cat.png do not collide
    packed = [i for i in images if i["file_name"] in archive.namelist()]
    assert [i["task_id"] for i in packed] == [i["task_id"] for i in images[:3]]
    for image in packed:
        assert image["file_name"].startswith("images/")
        assert size_of(archive, image["file_name"]) == (image["width"], image["height"])
    street, cat_a, cat_b = packed
    assert (street["width"], street["height"]) == (200, 100)
    assert archive.read(cat_a["file_name"]) == cats["a/cat.png"]  # read from the bucket, byte for byte
    assert archive.read(cat_b["file_name"]) == cats["b/cat.png"]
    assert (cat_b["width"], cat_b["height"]) == (50, 20)  # no region said it: from the packed image's header
    assert [a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=[cat_a["id"]]))] == [[4, 3, 20, 15]]
    lost = missing_lines(archive)
    assert [(entry, value) for entry, value, _ in lost] == [
        (images[3]["file_name"], values[3]), (images[4]["file_name"], values[4])]
    assert "lk-not-this-projects" in lost[1][2] and "no cloud storage of this project" in lost[1][2]


def ultralytics_label_path(image_path: str) -> str:
    """Ultralytics' img2label_paths: the last /images/ becomes /labels/, the suffix .txt."""
    path = "/" + image_path
    return ("/labels/".join(path.rsplit("/images/", 1))).rsplit(".", 1)[0][1:] + ".txt"


def test_yolo_images_beside_their_labels_as_ultralytics_finds_them(mixed) -> None:
    project, admin, _values, cats = mixed
    report, raw = export(admin, project, "YOLO")
    assert (report.images, report.missing_images) == (3, 2)
    archive = zipfile.ZipFile(io.BytesIO(raw))
    names = archive.namelist()
    data = yaml.safe_load(archive.read("data.yaml"))
    for split in ("train", "val"):  # relative to the folder data.yaml is in: the archive's root
        assert any(n.startswith(data[split].rstrip("/") + "/") for n in names)
    images = [n for n in names if n.startswith("images/train/")]
    labels = [n for n in names if n.startswith("labels/train/")]
    assert len(images) == 3 and len(labels) == 5
    assert all(ultralytics_label_path(i) in labels for i in images)
    unpacked = [n for n in labels if n not in {ultralytics_label_path(i) for i in images}]
    assert sorted(ultralytics_label_path(entry) for entry, _, _ in missing_lines(archive)) == sorted(unpacked)
    assert sorted(size_of(archive, i) for i in images) == [(40, 30), (50, 20), (200, 100)]
    assert sorted(archive.read(i) for i in images if archive.read(i) in cats.values()) == sorted(cats.values())


def test_voc_xml_filenames_are_the_packed_jpegimages(mixed) -> None:
    project, admin, values, _ = mixed
    report, raw = export(admin, project, "VOC")
    archive = zipfile.ZipFile(io.BytesIO(raw))
    names = set(archive.namelist())
    roots = [ElementTree.fromstring(archive.read(n)) for n in sorted(names) if n.startswith("Annotations/")]
    packed = [r for r in roots if f"JPEGImages/{r.findtext('filename')}" in names]
    assert len(roots) == 5 and len(packed) == report.images == 3
    for root in packed:
        size = root.find("size")
        assert size_of(archive, f"JPEGImages/{root.findtext('filename')}") == (
            int(size.findtext("width")), int(size.findtext("height")))
    assert sorted(v for _, v, _ in missing_lines(archive)) == sorted(values[3:])


def test_the_cli_packs_and_says_how_many_could_not_be_read(mixed, tmp_path) -> None:
    _project, _admin, values, _ = mixed
    out = tmp_path / "mixed.zip"
    result = CliRunner().invoke(main, ["export", "Mixed", "--format", "coco", "--with-images", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "with 3 images" in result.stdout
    assert "2 images could not be read; missing-images.txt" in result.stderr
    archive = zipfile.ZipFile(out)
    assert {"annotations.json", "missing-images.txt"} <= set(archive.namelist())
    assert sorted(v for _, v, _ in missing_lines(archive)) == sorted(values[3:])


def test_without_the_choice_no_images_and_coco_stays_one_json(mixed) -> None:
    project, admin, _, _ = mixed
    report, raw = export(admin, project, "COCO", with_images=False)
    assert report.file_name.endswith(".json") and (report.images, report.missing_images) == (0, 0)
    assert len(json.loads(raw)["images"]) == 5
    for fmt in ("YOLO", "VOC"):
        names = zipfile.ZipFile(io.BytesIO(export(admin, project, fmt, with_images=False)[1])).namelist()
        assert not [n for n in names if n.startswith(("images/", "JPEGImages/", "missing-images"))]


def test_a_format_that_cannot_pack_is_refused_and_writes_nothing(mixed) -> None:
    project, admin, _, _ = mixed
    assert {n for n, f in exporters.FORMATS.items() if f.packs_images} == {"YOLO", "YOLO_SEG", "YOLO_OBB", "COCO", "VOC"}
    out = io.BytesIO()
    with session_scope(write=False) as s, pytest.raises(InvalidInput, match="cannot pack images; formats that can: "):
        exporters.export_project(s, admin, project.id, "JSON", out, with_images=True)
    assert out.getvalue() == b""


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        reply(self, png("green", (30, 60)) if self.path == "/pics/photo" else b"\0" * (3 << 19))  # 1.5 MB

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_urls_are_fetched_within_the_rules(factory, site, monkeypatch) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=CONFIG)
    factory.tasks(project, admin, [{"image": f"{site}/pics/photo"}, {"image": f"{site}/big.png"}])
    label_all(project, admin, [[box("Car", (30, 60))], [box("Car", (30, 60))]])

    # By default the server fetches only public addresses: a loopback URL is listed, with why.
    report, raw = export(admin, project, "YOLO")
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert report.images == 0 and all("private network" in why for _, _, why in missing_lines(archive))

    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("LABELKIT_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    report, raw = export(admin, project, "YOLO")
    archive = zipfile.ZipFile(io.BytesIO(raw))
    # A name without an image suffix gets the one its header tells, so Ultralytics takes it; the stem stays.
    assert [n for n in archive.namelist() if n.startswith("images/")] == ["images/train/photo.png"]
    assert "labels/train/photo.txt" in archive.namelist() and size_of(archive, "images/train/photo.png") == (30, 60)
    (entry, value, why), = missing_lines(archive)
    assert (entry, value) == ("images/train/big.png", f"{site}/big.png") and "larger than 1 MB" in why


def test_an_upload_of_another_project_is_never_packed(factory) -> None:
    admin = factory.user(Role.ADMIN)
    theirs, mine = factory.project(admin, config=CONFIG, title="Theirs"), factory.project(admin, config=CONFIG, title="Mine")
    secret = local.save_upload(theirs.id, "secret.png", png("black", (30, 60)))
    own = local.save_upload(mine.id, "own.png", png("white", (30, 60)))
    factory.tasks(mine, admin, [{"image": own, "n": 1}, {"image": own}])
    with session_scope() as s:  # a task stored before imports refused another project's files
        task = s.exec(select(Task).where(Task.project_id == mine.id).order_by(Task.id)).first()
        task.data = {"image": secret}
        s.add(task)
    label_all(mine, admin, [[box("Car", (30, 60))], [box("Car", (30, 60))]])
    report, raw = export(admin, mine, "VOC")
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert report.images == 1 and [n for n in archive.namelist() if n.startswith("JPEGImages/")] == [f"JPEGImages/{own.rsplit('/', 1)[1]}"]
    (_, value, why), = missing_lines(archive)
    assert value == secret and "another project" in why
