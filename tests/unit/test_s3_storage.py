"""S3 source and target storage against a real S3-compatible server (SeaweedFS on
loopback, tests/s3server.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from labelkit import cloud
from labelkit.cloud import links, targets
from labelkit.cloud.sync import SyncReport
from labelkit.cloud.sync import sync as sync_source
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.labeling import queue, submissions
from labelkit.models import CloudStorage, Project, Role, StorageObject, Task
from labelkit.storage import s3
from tests.s3server import KEYS, SeaweedS3
from tests.support import free_port

IMAGES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="Cat"/></RectangleLabels>
</View>"""


def png(color: str, size: tuple[int, int] = (4, 3)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def fields(server: SeaweedS3, bucket: str, kind: str = cloud.SOURCE, key: str = "labelkit", secret: str | None = None,
           **more) -> cloud.StorageFields:
    return cloud.StorageFields(kind=kind, bucket=bucket, endpoint_url=server.endpoint, region="us-east-1",
                               access_key_id=key, secret_access_key=secret or KEYS[key], **more)


def add(user, project, f: cloud.StorageFields) -> int:
    with session_scope() as s:
        return cloud.add_storage(s, user, project.id, f).id


def sync(user, storage_id: int) -> SyncReport:
    with session_scope() as s:
        return sync_source(s, user, storage_id)


def task_data(project) -> list[dict]:
    with session_scope(write=False) as s:
        return [t.data for t in s.exec(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()]


def task_count(project) -> int:
    with session_scope(write=False) as s:
        return s.get(Project, project.id).task_count


@pytest.fixture
def images(factory, s3server, bucket):
    """An image project and a bucket with two images and a task file under in/, and
    objects the sync must leave alone."""
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, config=IMAGES, title="Cats")
    client = s3server.client()
    client.put_object(Bucket=bucket, Key="in/a.png", Body=png("red"))
    client.put_object(Bucket=bucket, Key="in/sub/b.png", Body=png("blue"))
    tasks = [{"data": {"image": f"s3://{bucket}/in/json-1.png"}}, {"image": "https://example.com/cat.png"}]
    client.put_object(Bucket=bucket, Key="in/tasks.json", Body=json.dumps(tasks).encode())
    client.put_object(Bucket=bucket, Key="in/notes.txt", Body=b"not a task")
    client.put_object(Bucket=bucket, Key="elsewhere/c.png", Body=png("green"))
    return project, admin


def test_sync_makes_tasks_once_and_a_second_sync_adds_only_new_objects(images, s3server, bucket) -> None:
    project, admin = images
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/"))

    first = sync(admin, storage_id)

    assert (first.objects, first.tasks, first.known) == (3, 4, 0)
    assert first.ignored == ["in/notes.txt"]
    assert sorted(map(json.dumps, task_data(project))) == sorted(
        json.dumps(d) for d in [
            {"image": f"s3://{bucket}/in/a.png"},
            {"image": f"s3://{bucket}/in/sub/b.png"},
            {"image": f"s3://{bucket}/in/json-1.png"},
            {"image": "https://example.com/cat.png"},
        ]
    )
    assert task_count(project) == 4

    again = sync(admin, storage_id)
    assert (again.objects, again.tasks, again.known) == (0, 0, 3)
    assert task_count(project) == 4

    s3server.client().put_object(Bucket=bucket, Key="in/d.png", Body=png("white"))
    third = sync(admin, storage_id)
    assert (third.objects, third.tasks, third.known) == (1, 1, 3)
    assert task_data(project)[-1] == {"image": f"s3://{bucket}/in/d.png"}
    assert task_count(project) == 5
    with session_scope(write=False) as s:
        assert len(s.exec(select(StorageObject).where(StorageObject.storage_id == storage_id)).all()) == 4
        assert cloud.list_storages(s, admin, project.id)[0]["objects_synced"] == 4


@pytest.mark.parametrize(
    ("pattern", "regex", "expected"),
    [("*.png", False, {"in/a.png", "in/sub/b.png"}), ("sub/*", False, {"in/sub/b.png"}), (r"^a\.png$|\.json$", True, {"in/a.png", "in/tasks.json"})],
)
def test_the_file_pattern_picks_the_objects(images, s3server, bucket, pattern, regex, expected) -> None:
    project, admin = images
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/", pattern=pattern, regex=regex))
    sync(admin, storage_id)
    with session_scope(write=False) as s:
        assert set(s.exec(select(StorageObject.key)).all()) == expected


def test_presigned_links_fetch_the_image_and_a_wrong_secret_is_refused(images, s3server, bucket, factory) -> None:
    project, admin = images
    with session_scope() as s:  # a target with other keys on the same bucket: links are signed with the source's
        s.add(CloudStorage(project_id=project.id, kind=cloud.TARGET, bucket=bucket, endpoint_url=s3server.endpoint,
                           access_key_id="limited", secret_encrypted=cloud.encrypt_secret("limited-secret")))
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/", pattern="*.png"))
    sync(admin, storage_id)
    value = f"s3://{bucket}/in/a.png"
    with session_scope(write=False) as s:
        url = links.presigned_media_url(s, admin, project.id, value)
        # The same link while it is young (a rerun keeps its image), none for other projects' buckets.
        assert links.presigned_media_url(s, admin, project.id, value) == url
        other = factory.project(admin, config=IMAGES, title="Other")
        assert links.presigned_media_url(s, admin, other.id, value) is None
        assert links.presigned_media_url(s, admin, project.id, "s3://another-bucket/in/a.png") is None

    response = httpx.get(url)
    assert response.status_code == 200
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (4, 3) and image.getpixel((0, 0)) == (255, 0, 0)

    wrong = s3.S3Settings(bucket=bucket, endpoint_url=s3server.endpoint, region="us-east-1",
                          access_key_id="labelkit", secret_access_key="not-the-secret")
    refused = httpx.get(s3.presigned_url(wrong, "in/a.png"))
    assert refused.status_code == 403 and b"SignatureDoesNotMatch" in refused.content
    assert httpx.get(url.replace("in/a.png", "in/sub/b.png")).status_code == 403  # a link is for its own key


def test_media_of_a_bucket_browsers_cannot_reach_streams_through_the_server(images, s3server, bucket) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from labelkit.server import routes

    project, admin = images
    s3server.client().put_object(Bucket=bucket, Key="in/clip.wav", Body=bytes(range(256)) * 4, ContentType="audio/wav")
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/", pattern="*.png", presign=False))
    with session_scope(write=False) as s:
        url = links.presigned_media_url(s, admin, project.id, f"s3://{bucket}/in/a.png")
        clip = links.presigned_media_url(s, admin, project.id, f"s3://{bucket}/in/clip.wav")
        assert cloud.list_storages(s, admin, project.id)[0]["presign"] is False
    assert url.startswith(f"/data/storage/{storage_id}/in/a.png?")  # on this server, not the bucket's address
    client = TestClient(Starlette(routes=routes), base_url="http://localhost")
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (4, 3) and image.getpixel((0, 0)) == (255, 0, 0)
    part = client.get(clip, headers={"Range": "bytes=256-511"})  # a player seeking
    assert part.status_code == 206 and part.content == bytes(range(256))
    assert part.headers["content-range"] == "bytes 256-511/1024"
    assert client.get(url.replace("a.png", "sub/b.png")).status_code == 403  # a link is for its own key
    assert client.get(url.split("?")[0]).status_code == 403
    assert client.get(links.proxy_path(storage_id, "in/a.png") + "?exp=1&sig=x").status_code == 403


def test_the_secret_is_stored_encrypted(images, s3server, bucket) -> None:
    project, admin = images
    storage_id = add(admin, project, fields(s3server, bucket))
    with session_scope(write=False) as s:
        storage = s.get(CloudStorage, storage_id)
        assert storage.secret_encrypted and "labelkit-secret" not in storage.secret_encrypted
        assert cloud.settings_of(storage).secret_access_key == "labelkit-secret"
        listed = cloud.list_storages(s, admin, project.id)
    assert "labelkit-secret" not in json.dumps(listed, default=str)


def test_bad_buckets_keys_and_endpoints_are_refused_clearly_and_nothing_is_kept(images, s3server, bucket) -> None:
    project, admin = images
    client = s3server.client()
    if "allowed" not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket="allowed")
    add(admin, project, fields(s3server, "allowed", key="limited"))  # its own bucket: fine
    cases = [
        (fields(s3server, bucket, key="limited"), "may not use this bucket \\(access denied\\)"),
        (fields(s3server, bucket, secret="wrong-secret"), "secret access key is wrong"),
        (cloud.StorageFields(cloud.SOURCE, bucket, endpoint_url=s3server.endpoint, access_key_id="nobody",
                             secret_access_key="x"), "access key ID is not known"),
        (fields(s3server, "no-such-bucket-here"), "bucket does not exist"),
        (cloud.StorageFields(cloud.SOURCE, bucket, endpoint_url=f"http://127.0.0.1:{free_port()}",
                             access_key_id="labelkit", secret_access_key="labelkit-secret"), "endpoint cannot be reached"),
        (fields(s3server, "s3://bucket/path"), "bucket's name"),
        (fields(s3server, bucket, pattern="(unclosed", regex=True), "not a valid regular expression"),
    ]
    for f, message in cases:
        with pytest.raises(InvalidInput, match=message), session_scope() as s:
            cloud.add_storage(s, admin, project.id, f)
    with session_scope(write=False) as s:
        assert [r["bucket"] for r in cloud.list_storages(s, admin, project.id)] == ["allowed"]


def test_a_sync_that_fails_keeps_nothing(images, s3server, bucket) -> None:
    project, admin = images
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/"))
    s3server.client().put_object(Bucket=bucket, Key="in/zz-broken.json", Body=b"[{\"image\": ")
    with pytest.raises(InvalidInput, match=r"zz-broken\.json: not valid JSON"):
        sync(admin, storage_id)
    assert task_data(project) == [] and task_count(project) == 0
    with session_scope(write=False) as s:
        assert s.exec(select(StorageObject)).all() == []

    # Keys that stopped working: a clear error, nothing made.
    with session_scope() as s:
        storage = s.get(CloudStorage, storage_id)
        storage.secret_encrypted = cloud.encrypt_secret("changed")
    with pytest.raises(InvalidInput, match="secret access key is wrong"):
        sync(admin, storage_id)
    assert task_count(project) == 0


def test_only_managers_and_admins_manage_storages(images, s3server, bucket, factory) -> None:
    project, admin = images
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/"))
    ann = factory.user(email="ann@example.com")
    factory.member(project, ann, Role.ANNOTATOR)
    manager = factory.user(email="manager@example.com")
    factory.member(project, manager, Role.MANAGER)
    for call in (
        lambda s: cloud.add_storage(s, ann, project.id, fields(s3server, bucket)),
        lambda s: sync_source(s, ann, storage_id),
        lambda s: cloud.list_storages(s, ann, project.id),
        lambda s: cloud.delete_storage(s, ann, storage_id),
    ):
        with pytest.raises(PermissionDenied), session_scope() as s:
            call(s)
    assert sync(manager, storage_id).tasks == 4


def test_the_pages_show_s3_media_through_presigned_links(images, s3server, bucket, factory, monkeypatch) -> None:
    import streamlit as st

    from labelkit.ui import media
    from labelkit.ui.context import USER_KEY

    project, admin = images
    sync(admin, add(admin, project, fields(s3server, bucket, prefix="in/", pattern="*.png")))
    monkeypatch.setattr(st, "session_state", {})
    assert media.s3_url(f"s3://{bucket}/in/sub/b.png", project.id) is None  # nobody signed in: nothing signed
    st.session_state[USER_KEY] = factory.user(Role.ANNOTATOR).id  # not a member of the project
    assert media.s3_url(f"s3://{bucket}/in/sub/b.png", project.id) is None
    st.session_state[USER_KEY] = admin.id
    url = media.s3_url(f"s3://{bucket}/in/sub/b.png", project.id)
    with Image.open(io.BytesIO(httpx.get(url).raise_for_status().content)) as image:
        assert image.getpixel((3, 2)) == (0, 0, 255)
    assert media.s3_url(f"s3://{bucket}/in/sub/b.png", project.id + 1) is None
    # Outside a project (no page chose one), nothing is signed.
    assert media.image_source(f"s3://{bucket}/in/a.png") is None
    assert media.browser_url(f"s3://{bucket}/in/a.png", "http://localhost:8501/label") is None


def test_the_storage_page_connects_and_syncs_and_is_refused_to_annotators(images, s3server, bucket, factory) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, link_identity

    project, admin = images

    def page(user) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.user = link_identity(user)
        at.query_params["project"] = str(project.id)
        at.run()
        at.switch_page("pages/storage.py")
        return at.run()

    def shown(at) -> str:
        return "\n".join(str(e.value) for kind in ("markdown", "error", "success", "caption", "info") for e in getattr(at, kind))

    at = page(admin)
    at.text_input(key="lk_storage_bucket").input(bucket)
    at.text_input(key="lk_storage_prefix").input("in/")
    at.text_input(key="lk_storage_endpoint").input(s3server.endpoint)
    at.text_input(key="lk_storage_key_id").input("labelkit")
    at.text_input(key="lk_storage_secret").input("wrong")
    at.button[-1].click().run()
    assert "secret access key is wrong" in shown(at)
    at.text_input(key="lk_storage_secret").input("labelkit-secret")
    at.checkbox(key="lk_storage_proxy").check()
    at.button[-1].click().run()
    assert f"Connected s3://{bucket}/in/" in shown(at)
    assert "media through this server" in shown(at)
    with session_scope(write=False) as s:
        storage_id = cloud.list_storages(s, admin, project.id)[0]["id"]
    at.button(key=f"lk_storage_run_{storage_id}").click().run()
    assert not at.exception
    assert "4 task(s) from 3 new object(s); 0 synced before." in shown(at)
    assert task_count(project) == 4

    ann = factory.user(email="ann@example.com")
    factory.member(project, ann, Role.ANNOTATOR)
    refused = page(ann)
    assert "You don't have access to the Cloud storage page" in shown(refused)
    assert bucket not in shown(refused)


# --- target storage --------------------------------------------------------------------


def choice(value: str) -> list[dict]:
    return [{"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}, "origin": "manual"}]


@pytest.fixture
def texts(factory):
    admin = factory.user(Role.ADMIN, email="admin@example.com")
    project = factory.project(admin, title="Reviews")
    factory.tasks(project, admin, [{"text": "good"}, {"text": "bad"}, {"text": "unlabeled"}])
    ann = factory.user(email="ann@example.com")
    factory.member(project, ann, Role.ANNOTATOR)
    return project, admin, ann


def label_next(ann, project, value: str) -> tuple[int, int]:
    """(task id, annotation id) of the next task, submitted with `value`."""
    with session_scope() as s:
        task = queue.claim_next(s, ann, project.id).task
    with session_scope() as s:
        return task.id, submissions.submit(s, ann, task.id, choice(value)).annotation.id


def stored(server: SeaweedS3, bucket: str, key: str) -> dict:
    return json.loads(server.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_target_storage_receives_each_submitted_annotation_with_its_task(texts, s3server, bucket) -> None:
    project, admin, ann = texts
    add(admin, project, fields(s3server, bucket, kind=cloud.TARGET, prefix="out/"))
    task_id, annotation_id = label_next(ann, project, "Positive")

    body = stored(s3server, bucket, f"out/{annotation_id}")
    assert body["id"] == annotation_id and body["result"] == choice("Positive")
    assert body["task"]["id"] == task_id and body["task"]["data"] == {"text": "good"}
    assert (body["completed_by_email"], body["was_cancelled"], body["project"]) == ("ann@example.com", False, project.id)

    # An update overwrites the same object.
    with session_scope() as s:
        submissions.submit(s, ann, task_id, choice("Negative"))
    assert stored(s3server, bucket, f"out/{annotation_id}")["result"] == choice("Negative")


def test_export_now_writes_every_submitted_annotation(texts, s3server, bucket) -> None:
    project, admin, ann = texts
    ids = [label_next(ann, project, value)[1] for value in ("Positive", "Negative")]
    storage_id = add(admin, project, fields(s3server, bucket, kind=cloud.TARGET, prefix="backup"))
    assert s3server.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # connected after the submits
    with session_scope() as s:
        assert targets.export_now(s, admin, storage_id) == 2
    listed = s3server.client().list_objects_v2(Bucket=bucket, Prefix="backup/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"backup/{i}" for i in ids)
    assert [stored(s3server, bucket, f"backup/{i}")["result"] for i in ids] == [choice("Positive"), choice("Negative")]


def test_a_failing_target_never_fails_the_submit_and_its_error_is_kept(texts, s3server, bucket) -> None:
    project, admin, ann = texts
    client = s3server.client()
    if "allowed" not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket="allowed")
    storage_id = add(admin, project, fields(s3server, "allowed", kind=cloud.TARGET, key="limited"))
    with session_scope() as s:  # the bucket changes to one these keys may not write
        s.get(CloudStorage, storage_id).bucket = bucket
    task_id, annotation_id = label_next(ann, project, "Positive")

    with session_scope(write=False) as s:
        assert queue._my_annotation(s, task_id, ann.id).state == "submitted"
        error = cloud.list_storages(s, admin, project.id)[0]["last_error"]
    assert f"Annotation {annotation_id} was not written" in error and "access denied" in error
    with pytest.raises(InvalidInput, match="access denied"), session_scope() as s:
        targets.export_now(s, admin, storage_id)


def test_credentials_from_the_environment(images, s3server, bucket, monkeypatch) -> None:
    project, admin = images
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "labelkit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "labelkit-secret")
    f = cloud.StorageFields(cloud.SOURCE, bucket, prefix="in/", pattern="*.png", region="us-east-1", endpoint_url=s3server.endpoint)
    storage_id = add(admin, project, f)
    assert sync(admin, storage_id).tasks == 2
    with session_scope(write=False) as s:
        assert cloud.list_storages(s, admin, project.id)[0]["credentials"] == "from the environment"
        assert s.get(CloudStorage, storage_id).secret_encrypted == ""


def test_export_now_on_the_page(texts, s3server, bucket) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, link_identity

    project, admin, ann = texts
    _, annotation_id = label_next(ann, project, "Positive")
    storage_id = add(admin, project, fields(s3server, bucket, kind=cloud.TARGET, prefix="out"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = link_identity(admin)
    at.query_params["project"] = str(project.id)
    at.run()
    at.switch_page("pages/storage.py")
    at.run()
    at.button(key=f"lk_storage_run_{storage_id}").click().run()
    assert not at.exception
    assert f"1 annotation(s) written to s3://{bucket}/out." in [s.value for s in at.success]
    assert stored(s3server, bucket, f"out/{annotation_id}")["result"] == choice("Positive")


def test_an_endpoint_in_a_private_network_is_refused_unless_an_admin_allows_it(images, s3server, bucket, monkeypatch) -> None:
    from labelkit.settings import get_settings

    project, admin = images
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/"))  # loopback, allowed by the admin setting
    monkeypatch.setenv("LABELKIT_ALLOW_PRIVATE_URLS", "false")
    get_settings.cache_clear()
    for endpoint in (s3server.endpoint, "http://169.254.169.254", "http://10.1.2.3:9000", "http://[::ffff:127.0.0.1]:8333"):
        f = cloud.StorageFields(cloud.SOURCE, bucket, endpoint_url=endpoint, access_key_id="labelkit",
                                secret_access_key="labelkit-secret")
        with pytest.raises(InvalidInput, match="private network"), session_scope() as s:
            cloud.add_storage(s, admin, project.id, f)
    with pytest.raises(InvalidInput, match="private network"):  # a storage kept from before is not called either
        sync(admin, storage_id)
    with session_scope(write=False) as s:
        assert len(cloud.list_storages(s, admin, project.id)) == 1 and task_count(project) == 0


def test_a_new_endpoint_or_bucket_needs_the_keys_again_and_never_gets_the_stored_secret(images, s3server, bucket) -> None:
    from tests.mlserver import Running

    project, admin = images
    storage_id = add(admin, project, fields(s3server, bucket, prefix="in/"))
    seen: list[str] = []

    async def anything(scope, receive, send):  # an endpoint that records what reaches it
        seen.append(repr(scope.get("headers")))
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with Running(anything) as other:
        for change in ({"endpoint_url": other.url}, {"bucket": "another-bucket"}):
            f = cloud.StorageFields(**{**vars(fields(s3server, bucket, prefix="in/")), "secret_access_key": "", **change})
            with pytest.raises(InvalidInput, match="enter the secret access key again"), session_scope() as s:
                cloud.update_storage(s, admin, storage_id, f)
    assert seen == []  # nothing was sent to the new endpoint
    with session_scope() as s:  # the same place keeps its stored secret; a new prefix is fine
        kept = cloud.update_storage(s, admin, storage_id, cloud.StorageFields(
            **{**vars(fields(s3server, bucket, prefix="in/sub/")), "secret_access_key": ""}))
        assert (kept.prefix, cloud.settings_of(kept).secret_access_key) == ("in/sub/", "labelkit-secret")
    assert sync(admin, storage_id).objects == 1  # in/sub/b.png, with the stored secret
