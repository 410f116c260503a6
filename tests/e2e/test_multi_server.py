"""Two `labelkit serve` processes on one PostgreSQL and one S3-compatible store (SeaweedFS),
as replicas behind a load balancer run them, with 16 annotators at once: 14 through the REST
API (7 per server, each with a token of their own) and 2 in Chromium (one per server, on the
label page), on a project with overlap 2 whose image tasks live in S3 (shown through each
server's signed links) and whose annotations are written to an S3 target storage.

The servers share the database, the bucket and LABELKIT_SECRET_KEY, nothing else: each has
its own data dir and its own memory. When the queue is empty, every task has exactly its
overlap of submitted annotations, and each of them is in the JSON export of either server
and in the target bucket. A session cookie and a signed media link made by one server work
on the other."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import sync_playwright
from sqlmodel import Session, select

from labelkit.auth.sessions import SIGNIN_COOKIE, SigninTicket, sign_out_proof
from labelkit.db import make_engine
from labelkit.models import (
    Annotation,
    AnnotationState,
    Identity,
    Membership,
    Project,
    Role,
    Task,
    User,
)
from tests.e2e.servers import (
    ADMIN_EMAIL,
    PROVIDER_BUTTON,
    ROOT,
    Server,
    drop_database,
    oidc_secrets,
    running_oidc_provider,
    running_server,
    start_server,
)
from tests.e2e.steps import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SESSION_COOKIE,
    button,
    choice,
    click,
    fresh,
    goto,
    pick,
    see,
    settled,
    sign_in,
    sign_in_page,
    whoami,
)
from tests.support import BACKENDS, create_database, free_port

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif("postgresql" not in BACKENDS, reason="replicas share a PostgreSQL database")]

OVERLAP, TASKS, API_PER_SERVER = 2, 160, 7
SHAPES = 12  # images in the bucket; tasks cycle through them
PASSWORD = "annotator password"
CHOICES = ("Round", "Square")
CONFIG = """<View><Image name="image" value="$image"/>
<Choices name="shape" toName="image"><Choice value="Round"/><Choice value="Square"/></Choices></View>"""
SAMPLES = Path(__file__).resolve().parents[2] / "labelkit" / "samples"
ALL_DONE = "You're all done here"


@dataclass
class Person:
    email: str
    token: str = ""


@dataclass
class Setup:
    project_id: int
    bucket: str
    api: list[Person]
    browsers: list[Person]


@pytest.fixture(scope="module")
def secret_key() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="module")
def servers(request: pytest.FixtureRequest, secret_key: str) -> Iterator[tuple[Server, Server]]:
    """Server A makes the database (migrations, first admin); server B joins it with its own
    data dir. Only LABELKIT_SECRET_KEY is configured alike."""
    settings = {"LABELKIT_SECRET_KEY": secret_key, "LABELKIT_ALLOW_PRIVATE_URLS": "true"}  # the S3 store is on loopback
    with running_server(request, "postgresql", settings=settings) as a:
        failed_before = request.session.testsfailed
        b = start_server("postgresql", settings=settings, database_url=a.database_url)
        try:
            yield a, b
        finally:
            b.stop()
            if request.session.testsfailed > failed_before:
                print(f"\n--- server B log ({b.log}) ---\n{b.log_text()[-6000:]}")
            shutil.rmtree(b.workdir, ignore_errors=True)


def prepare(a: Server, b: Server, s3server, bucket: str) -> Setup:
    """The admin's work: images in the bucket, a project made on A over the REST API, its S3
    source (through the server, signed links) and target storages, the team and their
    tokens, then the tasks imported on B."""
    client = s3server.client()
    for n in range(1, SHAPES + 1):
        client.put_object(Bucket=bucket, Key=f"media/shape-{n}.png", Body=(SAMPLES / f"shape-{n}.png").read_bytes(),
                          ContentType="image/png")
    admin = {"Authorization": f"Token {a.admin_token()}"}
    made = httpx.post(f"http://127.0.0.1:{a.port}/api/projects", headers=admin, timeout=60,
                      json={"title": "Shapes", "label_config": CONFIG, "maximum_annotations": OVERLAP})
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]

    from labelkit.auth.accounts import create_user, find_user
    from labelkit.auth.sessions import create_api_token
    from labelkit.cloud import SOURCE, TARGET, StorageFields, add_storage

    api = [Person(f"api{i}@example.com") for i in range(1, 2 * API_PER_SERVER + 1)]
    browsers = [Person(f"browser{i}@example.com") for i in (1, 2)]
    with a.services() as db:  # keyed like the servers: storage secrets are encrypted with the portal's key
        owner = find_user(db, ADMIN_EMAIL)
        keys = {"endpoint_url": s3server.endpoint, "access_key_id": "labelkit",
                "secret_access_key": s3server_secret()}
        add_storage(db, owner, project_id, StorageFields(kind=SOURCE, bucket=bucket, prefix="media/", presign=False, **keys))
        add_storage(db, owner, project_id, StorageFields(kind=TARGET, bucket=bucket, prefix="annotations", **keys))
        for person in api + browsers:
            user = create_user(db, person.email, name=person.email.split("@")[0], password=PASSWORD, role=Role.ANNOTATOR)
            db.add(Membership(project_id=project_id, user_id=user.id, role=Role.ANNOTATOR))
            if person in api:
                person.token = create_api_token(db, user, "multi-server test")
    rows = [{"image": f"s3://{bucket}/media/shape-{n % SHAPES + 1}.png"} for n in range(TASKS)]
    imported = httpx.post(f"http://127.0.0.1:{b.port}/api/projects/{project_id}/import", headers=admin, json=rows,
                          timeout=120)
    assert imported.status_code == 201 and imported.json()["task_count"] == TASKS, imported.text
    return Setup(project_id, bucket, api, browsers)


def s3server_secret() -> str:
    from tests.s3server import KEYS

    return KEYS["labelkit"]


def shape_result(value: str) -> list[dict]:
    return [{"from_name": "shape", "to_name": "image", "type": "choices", "value": {"choices": [value]}}]


def api_annotator(server: Server, person: Person, project_id: int, go: threading.Event) -> list[tuple[int, int]]:
    """Label through the REST API until the queue is empty: (task id, annotation id) of each submit."""
    done: list[tuple[int, int]] = []
    go.wait()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60,
                      headers={"Authorization": f"Token {person.token}"}) as client:
        for _ in range(TASKS + 5):  # never more tasks than the project has (a loop is a bug)
            given = client.get(f"/api/projects/{project_id}/next")
            if given.status_code == 404:
                return done
            assert given.status_code == 200, given.text
            task_id = given.json()["id"]
            sent = client.post(f"/api/tasks/{task_id}/annotations", json={
                "result": shape_result(CHOICES[task_id % 2]), "lead_time": 1.5})
            assert sent.status_code == 201, f"{person.email} on task {task_id}: {sent.status_code} {sent.text}"
            done.append((task_id, sent.json()["id"]))
            time.sleep(0.1)  # a person's pace: the browsers get their share of the queue
    raise AssertionError(f"{person.email} was handed more tasks than the project has")


@dataclass
class BrowserRun:
    email: str
    submitted: list[int]
    cookie: str
    media_link: str


def browser_annotator(server: Server, person: Person, project_id: int, started: threading.Event,
                      go: threading.Event, shots: Path) -> BrowserRun:
    """Sign in on this server and label on its label page until it says all is done.
    A playwright of its own: its objects stay in the thread that made them."""
    submitted: list[int] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        page = context.new_page()
        try:
            sign_in(page, server, person.email, PASSWORD, path=f"/label?project={project_id}")
            caption = fresh(page.get_by_text(re.compile(r"^Task \d+( · .*)?$")))  # not the flash "Task N: Submitted."
            caption.first.wait_for()
            media_link = fresh(page.locator('img[src*="/data/storage/"]')).first.get_attribute("src")
            started.set()
            go.wait()
            while True:
                done, task = fresh(page.get_by_text(ALL_DONE)), choice(page, "Round")
                done.or_(task).first.wait_for()
                settled(page)  # the caption of this run, not the one before the submit
                if done.first.is_visible():
                    break
                task_id = int(re.match(r"^Task (\d+)", caption.first.inner_text()).group(1))
                pick(page, CHOICES[task_id % 2])
                click(page, "Submit")
                see(page, re.compile(rf"^Task {task_id}: Submitted\.$"), timeout=60_000)
                submitted.append(task_id)
            cookie = next(c["value"] for c in context.cookies() if c["name"] == SESSION_COOKIE)
            return BrowserRun(person.email, submitted, cookie, media_link)
        except BaseException:
            page.screenshot(path=str(shots / f"{person.email}.png"), full_page=True)
            (shots / f"{person.email}.txt").write_text(f"{page.url}\n\n{page.locator('body').inner_text()}")
            print(f"\nscreenshot of {person.email}'s page: {shots}")
            raise
        finally:
            context.close()
            browser.close()


def exported(server: Server, token: str, project_id: int) -> list[dict]:
    got = httpx.get(f"http://127.0.0.1:{server.port}/api/projects/{project_id}/export", params={"exportType": "JSON"},
                    headers={"Authorization": f"Token {token}"}, timeout=120)
    assert got.status_code == 200, got.text
    return json.loads(got.content)


def test_sixteen_annotators_on_two_servers_fill_every_task_exactly_to_its_overlap(
        servers, s3server, bucket) -> None:
    a, b = servers
    setup = prepare(a, b, s3server, bucket)
    shots = Path(tempfile.mkdtemp(prefix="labelkit-multi-shots-"))
    go = threading.Event()
    started = [threading.Event(), threading.Event()]
    with ThreadPoolExecutor(max_workers=len(setup.api) + 2) as pool:
        web = [pool.submit(browser_annotator, server, person, setup.project_id, ready, go, shots)
               for server, person, ready in zip((a, b), setup.browsers, started, strict=True)]
        api = [pool.submit(api_annotator, (a, b)[i % 2], person, setup.project_id, go) for i, person in enumerate(setup.api)]
        for ready, future in zip(started, web, strict=True):  # both browsers have a task open (or failed)
            while not ready.wait(1):
                if future.done():
                    break
        go.set()
        runs = [f.result() for f in web]
        by_api = [f.result() for f in api]

    # Every task got exactly its overlap, from different people; nobody's submit was lost.
    with a.db() as db:
        rows = db.exec(select(Annotation).where(Annotation.project_id == setup.project_id,
                                                Annotation.state == AnnotationState.SUBMITTED)).all()
        tasks = db.exec(select(Task).where(Task.project_id == setup.project_id)).all()
        project = db.get(Project, setup.project_id)
    per_task = Counter(r.task_id for r in rows)
    assert len(tasks) == TASKS
    assert max(per_task.values()) <= OVERLAP, {t: n for t, n in per_task.items() if n > OVERLAP}
    assert all(per_task[t.id] == OVERLAP for t in tasks), {t.id: per_task[t.id] for t in tasks if per_task[t.id] != OVERLAP}
    assert all(t.done and t.total_annotations == OVERLAP for t in tasks)
    assert (project.task_count, project.done_count) == (TASKS, TASKS)  # the counters both servers kept
    assert len({(r.task_id, r.user_id) for r in rows}) == len(rows) == TASKS * OVERLAP
    api_ids = {annotation for done in by_api for _, annotation in done}
    web_tasks = [task for run in runs for task in run.submitted]
    assert len(api_ids) + len(web_tasks) == len(rows)
    assert all(len(run.submitted) >= 1 for run in runs), [(r.email, r.submitted) for r in runs]
    assert sum(1 for done in by_api if done) == len(setup.api)  # every API annotator got work on its server
    print(f"\nsubmitted in the browsers: {[(r.email, len(r.submitted)) for r in runs]}; "
          f"through the API: {sorted(len(d) for d in by_api)}")

    # Each submitted annotation is in the JSON export of either server, and in the target bucket.
    token = setup.api[0].token  # an annotator may not export: the admin's token
    admin_token = a.admin_token()
    for server in (a, b):
        tasks_out = exported(server, admin_token, setup.project_id)
        out = {x["id"]: (t["id"], x["result"][0]["value"]["choices"]) for t in tasks_out for x in t["annotations"]}
        assert set(out) == {r.id for r in rows}
        assert all(out[r.id] == (r.task_id, [CHOICES[r.task_id % 2]]) for r in rows)
    written = set()
    for page in s3server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="annotations/"):
        written |= {int(o["Key"].rsplit("/", 1)[1]) for o in page.get("Contents", [])}
    assert written == {r.id for r in rows}
    assert token  # the annotators' tokens were their own (the export above refuses them)
    assert httpx.get(f"http://127.0.0.1:{b.port}/api/projects/{setup.project_id}/export", params={"exportType": "JSON"},
                     headers={"Authorization": f"Token {token}"}, timeout=30).status_code == 403

    # What one server made, the other honours: the session cookies (both ways) and a signed media link.
    for run, other in zip(runs, (b, a), strict=True):
        me = whoami(other, run.cookie)
        assert me.status_code == 200 and me.json()["email"] == run.email, me.text
    link = urlsplit(runs[0].media_link)  # made by A for its label page
    assert link.port == a.port and link.path.startswith("/data/storage/")
    on_b = httpx.get(f"http://127.0.0.1:{b.port}{link.path}?{link.query}", timeout=30)
    assert on_b.status_code == 200 and on_b.content.startswith(b"\x89PNG")
    key = link.path.split("/", 4)[4]
    assert on_b.content == s3server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    forged = link.query.replace("sig=", "sig=x")
    assert httpx.get(f"http://127.0.0.1:{b.port}{link.path}?{forged}", timeout=30).status_code == 403

    # A sign-out on B ends the session A made.
    httpx.post(f"http://127.0.0.1:{b.port}/session/logout", cookies={SESSION_COOKIE: runs[0].cookie},
               data={"proof": sign_out_proof(runs[0].cookie)}, timeout=30)
    assert whoami(a, runs[0].cookie).status_code == 401
    for server in (a, b):
        assert "Traceback" not in server.log_text(), server.log_text()[-4000:]


START_UP = """
import os, sys, time
from labelkit.ops.startup import prepare
from labelkit.settings import get_settings
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):  # all at the same moment
    time.sleep(0.005)
key = get_settings().signing_key()  # what a server signs with from its first request
prepare()
print(key.decode())
"""


def test_replicas_starting_together_on_a_new_database_all_start(postgres_server_url: str, tmp_path: Path) -> None:
    """What `docker compose up` with several replicas does on the first day: three servers run
    their start-up (migrations, the first admin from LABELKIT_ADMIN_EMAIL, the signing key of a
    shared data dir without LABELKIT_SECRET_KEY) at the same moment. None fails, the admin is
    made once, and all three sign with the same key."""
    database_url = create_database(postgres_server_url, f"labelkit_replicas_{free_port()}")
    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABELKIT_", "STREAMLIT_"))}
    env.update(LABELKIT_DATABASE_URL=database_url, LABELKIT_DATA_DIR=str(tmp_path / "shared-data"),
               LABELKIT_ADMIN_EMAIL="boss@example.com", LABELKIT_ADMIN_PASSWORD="boss password", PYTHONPATH=str(ROOT),
               LABELKIT_TEST_CHEAP_PASSWORD_HASHES="true")
    try:
        replicas = [subprocess.Popen([sys.executable, "-c", START_UP, str(go)], env=env, cwd=tmp_path, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
        for replica in replicas:  # each has imported labelkit and waits
            assert replica.stdout.readline().strip() == "ready", replica.communicate()[1][-3000:]
        go.touch()
        outcomes = [(*p.communicate(timeout=300), p.returncode) for p in replicas]
        assert [code for _, _, code in outcomes] == [0, 0, 0], "\n".join(err[-3000:] for _, err, _ in outcomes)
        assert len({out.strip().splitlines()[-1] for out, _, _ in outcomes}) == 1  # one signing key
        engine = make_engine(database_url)
        with Session(engine) as db:
            assert [(u.email, u.role) for u in db.exec(select(User)).all()] == [("boss@example.com", Role.ADMIN)]
        engine.dispose()
    finally:
        drop_database(postgres_server_url, database_url)



def test_a_sign_in_ticket_opens_one_session_even_when_both_servers_get_it_at_once(servers) -> None:
    """A password sign-in hands the browser a one-time ticket for /session/start; the same ticket
    sent to both servers at the same moment (a retried request through a load balancer) opens
    one session at most."""
    from labelkit.auth.accounts import find_user
    from labelkit.auth.sessions import issue_signin_ticket

    a, b = servers
    opened = []
    for _ in range(12):
        with a.db() as db:
            ticket = issue_signin_ticket(db, find_user(db, ADMIN_EMAIL))
            db.commit()
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            opened.append(sum(pool.map(lambda server, t=ticket, go=barrier: _redeem(server, t, go), (a, b))))
    assert opened == [1] * 12


def _redeem(server: Server, ticket: SigninTicket, barrier: threading.Barrier) -> bool:
    """Bring a sign-in ticket to the server's /session/start; whether it opened a session."""
    barrier.wait()
    got = httpx.get(f"http://127.0.0.1:{server.port}/session/start", params={"ticket": ticket.ticket},
                    cookies={SIGNIN_COOKIE: ticket.browser_key}, timeout=30)
    return SESSION_COOKIE in got.cookies



@pytest.fixture(scope="module")
def own_oidc_provider() -> Iterator[tuple[int, int]]:
    """A provider of this module's: its callback goes to a port of these servers, not the session's oidc_server."""
    with running_oidc_provider() as ports:
        yield ports


def test_an_identity_sign_in_begun_on_one_server_ends_on_the_other(request, own_oidc_provider, new_page) -> None:
    """Behind a load balancer the provider's callback may reach another replica than the one
    that sent the person to the provider. With the same secrets.toml (one cookie_secret) on
    both, the sign-in begun on server B (its /auth/login keeps the OAuth state and PKCE
    verifier in a cookie signed with that secret) ends on server A's /oauth2callback.
    (Streamlit binds the identity cookie to redirect_uri's origin, so replicas must share
    one public address, as they do behind the balancer; two ports here are two origins.)"""
    from tests.e2e.test_oidc import provider_login

    app_port, oidc_port = own_oidc_provider
    secrets_toml = oidc_secrets(app_port, oidc_port, "labelkit-e2e-two-replicas-one-cookie-secret-0123456789")
    settings = {"LABELKIT_SECRET_KEY": secrets.token_urlsafe(48)}
    with running_server(request, "postgresql", secrets=secrets_toml, port=app_port, settings=settings) as a:
        b = start_server("postgresql", secrets=secrets_toml, settings=settings, database_url=a.database_url)
        try:
            a.person("Robin", email="robin@example.com", password="robin's password")
            page = new_page()
            goto(page, b.url)
            sign_in_page(page)
            click(page, PROVIDER_BUTTON, "began")  # B's /auth/login
            provider_login(page, "robin")
            page.wait_for_url(re.compile(rf"^http://localhost:{a.port}/(\?.*)?$"))  # A took the callback
            see(page, "Hello, Robin")
            button(page, "Sign out").wait_for()
            with a.db() as db:
                robin = db.exec(select(User).where(User.email == "robin@example.com")).one()
                assert [i.subject for i in db.exec(select(Identity).where(Identity.user_id == robin.id))] == ["robin"]
            for server in (a, b):
                assert "Traceback" not in server.log_text(), server.log_text()[-4000:]
        finally:
            b.stop()
            shutil.rmtree(b.workdir, ignore_errors=True)
