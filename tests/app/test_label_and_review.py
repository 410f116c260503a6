"""The Label and Review pages, as the people using them click through."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlmodel import select

from labelkit.db import session_scope
from labelkit.models import Annotation, AnnotationVersion, Project, Role
from labelkit.storage import local
from tests.app.test_access import texts

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database


@pytest.fixture
def team(factory):
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Reviews")
    factory.tasks(project, admin, [{"text": "Great value."}, {"text": "Broke at once."}, {"text": "It is fine."}, {"text": "Meh."}])
    annotator, reviewer = factory.user(name="Ann"), factory.user(name="Rev")
    factory.member(project, annotator, Role.ANNOTATOR)
    factory.member(project, reviewer, Role.REVIEWER)
    return project, annotator, reviewer


def pick(at, project, task_id: int, value: str):
    return at.button(key=f"lk:{project.id}:{task_id}:sentiment:opt:{value}").click().run()


def annotations() -> list[Annotation]:
    with session_scope() as s:
        return list(s.exec(select(Annotation).order_by(Annotation.id)).all())


def test_an_annotator_labels_submits_and_gets_the_next_task(app_as, team) -> None:
    project, annotator, _ = team
    at = app_as(annotator, "label", project=project.id)
    shown = texts(at)
    assert "Great value." in shown and "Be careful." in shown and "Task 1" in shown
    pick(at, project, 1, "Positive")
    at.button(key="lk_submit").click().run()
    assert "Task 1: Submitted." in texts(at)
    assert "Broke at once." in texts(at)
    (stored,) = annotations()
    assert stored.state == "submitted"
    assert [(r["from_name"], r["type"], r["value"]) for r in stored.result] == [("sentiment", "choices", {"choices": ["Positive"]})]


def test_instructions_load_no_remote_image_in_any_markdown_spelling(app_as, factory) -> None:
    """A remote image in the instructions would be fetched by every annotator's browser (a
    tracking pixel): inline, reference-style, bare HTML or protocol-relative, none is an image."""
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, title="Pixels")
    upload = f"/data/upload/{project.id}/guide.png"
    (local.upload_root() / str(project.id)).mkdir(parents=True, exist_ok=True)
    (local.upload_root() / str(project.id) / "guide.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with session_scope() as s:
        s.get(Project, project.id).instructions = (
            "Read **this** first.\n\n![pixel](http://tracker.example/p.gif) ![ref][r] ![r]\n"
            '<img src="http://tracker.example/html.gif">\n\n'
            "| a |\n|---|\n| ![cell](//tracker.example/cell.gif) |\n\n"
            f"![guide]({upload})\n\n[r]: https://tracker.example/ref.gif\n"
        )
    factory.tasks(project, admin, 1)
    annotator = factory.user(name="Ann")
    factory.member(project, annotator, Role.ANNOTATOR)
    at = app_as(annotator, "label", project=project.id)
    assert not at.exception
    shown = [e.value for e in at.html] + [e.value for e in at.markdown]
    sources = [src for html in shown for src in _image_sources(html)]
    assert not [src for src in sources if "tracker.example" in src], sources
    assert not re.search(r"!\[[^\]]*\]\((https?:)?//", "\n".join(shown))  # no Markdown image left for Streamlit either
    assert [src.split("?")[0].endswith(upload) for src in sources] == [True], sources  # this project's upload: a signed link
    assert f"u={annotator.id}&" in sources[0]  # bound to the annotator, as the media route wants
    assert "pixel (image not shown: open it)" in texts(at)
    assert any("<strong>this</strong>" in html for html in shown)  # the rest is Markdown as before


def _image_sources(html: str) -> list[str]:
    found: list[str] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag == "img":
                found.append(dict(attrs).get("src") or "")

    Images().feed(html)
    return found


def test_a_required_choice_must_be_answered(app_as, team) -> None:
    project, annotator, _ = team
    at = app_as(annotator, "label", project=project.id)
    at.text_area[0].input("no choice made").run()
    at.button(key="lk_submit").click().run()
    assert "Please answer sentiment before submitting." in texts(at)
    assert all(a.state == "draft" for a in annotations())


def test_skip_moves_on_and_the_draft_survives_a_refresh(app_as, team) -> None:
    project, annotator, _ = team
    at = app_as(annotator, "label", project=project.id)
    at.button(key="lk_skip").click().run()
    assert "Task 1 skipped." in texts(at)
    pick(at, project, 2, "Negative")
    refreshed = app_as(annotator, "label", project=project.id)  # a new browser session
    assert "Broke at once." in texts(refreshed)
    chosen = refreshed.button(key=f"lk:{project.id}:2:sentiment:opt:Negative")
    assert chosen.proto.type == "primary"


def test_going_back_and_updating_keeps_the_earlier_version(app_as, team) -> None:
    project, annotator, _ = team
    at = app_as(annotator, "label", project=project.id)
    pick(at, project, 1, "Positive")
    at.button(key="lk_submit").click().run()
    at.session_state["lk_open"] = {project.id: 1}  # what "Open task 1" in the history does
    at.run()
    assert "You submitted this task" in texts(at)
    pick(at, project, 1, "Positive")  # unselect
    pick(at, project, 1, "Neutral")
    at.button(key="lk_submit").click().run()
    assert "Task 1: Updated." in texts(at)
    (stored,) = annotations()
    assert stored.result[0]["value"] == {"choices": ["Neutral"]}
    with session_scope() as s:
        (earlier,) = s.exec(select(AnnotationVersion)).all()
    assert earlier.result[0]["value"] == {"choices": ["Positive"]}


def test_rejected_work_comes_back_with_the_reviewers_comment(app_as, team) -> None:
    project, annotator, reviewer = team
    at = app_as(annotator, "label", project=project.id)
    pick(at, project, 1, "Positive")
    at.button(key="lk_submit").click().run()

    rev = app_as(reviewer, "review", project=project.id)
    assert "1 annotation on 1 task waiting" in texts(rev)
    (annotation,) = annotations()
    rev.button(key=f"lk_reject_{annotation.id}").click().run()
    assert "Say what is wrong" in texts(rev)
    rev.text_input(key=f"lk_comment_{annotation.id}").input("It says great value: positive is right, check the price part")
    rev.button(key=f"lk_reject_{annotation.id}").click().run()
    assert "Sent task 1 back to" in texts(rev)

    back = app_as(annotator, "label", project=project.id)
    assert "Broke at once." in texts(back)  # the task in hand is finished first
    assert "A reviewer sent 1 task back to you with a comment; it comes right after this one." in texts(back)
    pick(back, project, 2, "Negative")
    back.button(key="lk_submit").click().run()
    assert "A reviewer sent this back to you: It says great value" in texts(back)
    assert "Great value." in texts(back)


def test_reviewers_accept_and_fix_but_never_their_own_work(app_as, team, factory) -> None:
    project, annotator, reviewer = team
    own = app_as(reviewer, "label", project=project.id)  # the reviewer labels task 1 too
    pick(own, project, 1, "Neutral")
    own.button(key="lk_submit").click().run()
    at = app_as(annotator, "label", project=project.id)
    for task_id in (3, 4):  # task 2 is in the reviewer's hands now
        pick(at, project, task_id, "Positive")
        at.button(key="lk_submit").click().run()
    mine, first, second = annotations()

    rev = app_as(reviewer, "review", project=project.id)
    assert "2 annotations on 2 tasks waiting" in texts(rev)
    assert f"lk_accept_{mine.id}" not in [b.key for b in rev.button]
    rev.button(key=f"lk_accept_{first.id}").click().run()
    assert "Accepted" in texts(rev)
    rev.toggle(key=f"lk_fixing_{second.id}").set_value(True).run()
    rev.button(key=f"lk:fix:{second.id}:sentiment:opt:Positive").click().run()
    rev.button(key=f"lk:fix:{second.id}:sentiment:opt:Negative").click().run()
    rev.button(key=f"lk_savefix_{second.id}").click().run()
    assert "Fixed and accepted" in texts(rev)
    _, first, second = annotations()
    assert first.review_status == second.review_status == "accepted"
    assert second.result[0]["value"] == {"choices": ["Positive"]}
    assert second.reviewed_result[0]["value"] == {"choices": ["Negative"]}
    assert "Nothing is waiting for your review" in texts(rev)
    assert "1 annotation of yours waits for another reviewer" in texts(rev)


def test_task_text_is_shown_as_text_never_as_html_or_markdown(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    payload = '<script>alert(1)</script> **bold** ![x](http://evil/x.png) $x^2$ <img src=x onerror=alert(1)>'
    factory.tasks(project, admin, [{"text": payload}])
    at = app_as(admin, "label", project=project.id)
    (shown,) = [m for m in at.markdown if "script" in m.value]
    assert not shown.proto.allow_html
    source = shown.value
    assert re.search(r"(?<!\\)[<>*!\[\]()$`_]", source) is None  # every active character is escaped
    assert source.replace("\\", "") == payload


def test_the_queue_says_when_everything_is_done(app_as, team) -> None:
    project, annotator, _ = team
    at = app_as(annotator, "label", project=project.id)
    for task_id in (1, 2, 3, 4):
        pick(at, project, task_id, "Neutral")
        at.button(key="lk_submit").click().run()
    assert "You're all done here" in texts(at)
    assert at.dataframe  # the recent work, to go back to


def test_images_multiple_choices_and_ratings(app_as, factory) -> None:
    import io

    from PIL import Image

    from labelkit import importers
    from labelkit.config.templates import template

    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=template("image-tagging").config)
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(picture, "PNG")
    with session_scope() as s:
        importers.import_sources(s, admin, project.id, [("street.png", io.BytesIO(picture.getvalue()), None)])
    at = app_as(admin, "label", project=project.id)
    assert at.get("image"), "the task's image is shown"
    for tag in ("Person", "Vehicle"):
        at.button(key=f"lk:{project.id}:1:tags:opt:{tag}").click().run()
    at.feedback(key=f"lk:{project.id}:1:quality").set_value(3).run()  # the fourth star
    at.button(key="lk_submit").click().run()
    assert "Task 1: Submitted." in texts(at)
    (stored,) = annotations()
    values = {r["from_name"]: r["value"] for r in stored.result}
    assert values == {"tags": {"choices": ["Person", "Vehicle"]}, "quality": {"rating": 4}}


BOXES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Car"/>
    <Label value="Person"/>
  </RectangleLabels>
  <Choices name="color" toName="image" perRegion="true"><Choice value="Red"/><Choice value="Blue"/></Choices>
</View>"""
PREDICTED = [
    {"id": "p1", "from_name": "label", "to_name": "image", "type": "rectanglelabels", "origin": "prediction",
     "original_width": 320, "original_height": 240,
     "value": {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0, "rotation": 0, "rectanglelabels": ["Car"]}},
]


def test_a_prediction_is_drawn_first_and_reviewers_see_and_fix_regions(app_as, factory) -> None:
    from labelkit.storage import local

    local.install_samples()  # as `labelkit serve` does at start
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=BOXES)
    factory.tasks(project, admin, [{"data": {"image": "/data/upload/samples/shape-1.png"},
                                    "predictions": [{"result": PREDICTED, "model_version": "v1"}]}])
    annotator, reviewer = factory.user(name="Ann"), factory.user(name="Rev")
    factory.member(project, annotator, Role.ANNOTATOR)
    factory.member(project, reviewer, Role.REVIEWER)

    at = app_as(annotator, "label", project=project.id)
    assert not at.exception
    (regions,) = [r for r in at.radio if r.label == "Regions"]
    assert regions.options == ["1. Car · rectangle"]  # the model's box, before anyone labeled
    # The per-region question for the selected (predicted) region, then submit.
    where = f"lk:{project.id}:1:image:"
    at.button_group(key=f"{where}:attr:p1:color").set_value("Blue").run()
    at.button(key="lk_submit").click().run()
    assert "Task 1: Submitted." in texts(at)
    (stored,) = annotations()
    items = {r["from_name"]: r for r in stored.result}
    assert items["label"]["id"] == "p1" and items["label"]["origin"] == "prediction"
    assert items["label"]["value"]["rectanglelabels"] == ["Car"]
    assert items["color"]["id"] == "p1" and items["color"]["value"]["choices"] == ["Blue"]
    assert items["color"]["value"]["x"] == 10.0

    rev = app_as(reviewer, "review", project=project.id)
    assert not rev.exception
    shown = texts(rev)
    assert "1. Car · rectangle (Color: Blue)" in shown
    assert rev.get("image"), "the regions are drawn on the image"
    rev.toggle(key=f"lk_fixing_{stored.id}").set_value(True).run()
    fix = f"lk:fix:{stored.id}:image:"
    rev.button_group(key=f"{fix}:labels:p1:label").set_value("Person").run()
    rev.button(key=f"lk_savefix_{stored.id}").click().run()
    assert "Fixed and accepted" in texts(rev)
    (fixed,) = annotations()
    assert fixed.result[0]["value"]["rectanglelabels"] == ["Car"]  # the annotator's original is kept
    fixed_box = {r["from_name"]: r for r in fixed.reviewed_result}["label"]
    assert fixed_box["value"]["rectanglelabels"] == ["Person"]
    assert fixed_box["origin"] == "prediction-changed"  # as Label Studio marks a model's region a person changed


def test_a_multi_page_document_is_labeled_page_by_page(app_as, factory) -> None:
    from labelkit.storage import local
    from tests.unit.test_repeater import PAGES

    local.install_samples()
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=PAGES)
    pages = [{"page": "/data/upload/samples/form.png"}, {"page": "/data/upload/samples/receipt.png"}]
    factory.tasks(project, admin, [{"document": pages}])
    at = app_as(admin, "label", project=project.id)
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Page 1", "Page 2"]
    prefix = f"lk:{project.id}:1"
    at.feedback(key=f"{prefix}:rating_0").set_value(2).run()
    at.button(key="lk_submit").click().run()
    assert "Please answer rating_1 before submitting." in texts(at)
    at.feedback(key=f"{prefix}:rating_1").set_value(4).run()
    at.button(key="lk_submit").click().run()
    assert "Task 1: Submitted." in texts(at)
    (stored,) = annotations()
    assert {(r["from_name"], r["to_name"], r["value"]["rating"]) for r in stored.result} == {
        ("rating_0", "page_0", 3), ("rating_1", "page_1", 5)}


TAXONOMY = """<View>
  <Text name="text" value="$text"/>
  <Taxonomy name="topic" toName="text" required="true">
    <Choice value="Animal"><Choice value="Dog"/><Choice value="Cat"/></Choice>
    <Choice value="Plant"/>
  </Taxonomy>
</View>"""


def test_a_taxonomy_is_answered_with_paths(app_as, factory) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=TAXONOMY)
    factory.tasks(project, admin, [{"text": "The puppy sleeps."}, {"text": "A fern."}])
    at = app_as(admin, "label", project=project.id)
    (picker,) = at.multiselect
    assert picker.options == ["Animal", "Animal › Dog", "Animal › Cat", "Plant"]
    at.button(key="lk_submit").click().run()
    assert "Please answer topic before submitting." in texts(at)
    at.multiselect[0].select("Animal\x1fDog").run()
    at.button(key="lk_submit").click().run()
    assert "Task 1: Submitted." in texts(at)
    (stored,) = [a for a in annotations() if a.state == "submitted"]
    assert stored.result[0]["type"] == "taxonomy"
    assert stored.result[0]["value"] == {"taxonomy": [["Animal", "Dog"]]}


def test_a_link_opens_one_task_on_the_review_page_even_when_nothing_waits(app_as, team) -> None:
    project, annotator, reviewer = team
    at = app_as(annotator, "label", project=project.id)
    pick(at, project, 1, "Positive")
    at.button(key="lk_submit").click().run()
    rev = app_as(reviewer, "review", project=project.id)
    (annotation,) = annotations()
    rev.text_input(key=f"lk_comment_{annotation.id}").input("**Bold** [click](https://example.com)")
    rev.button(key=f"lk_reject_{annotation.id}").click().run()

    linked = app_as(reviewer, "review", project=project.id, task="1")  # the Tasks page's "review ↗"
    shown = texts(linked)
    assert "Task 1, opened from a link." in shown and "Great value." in shown
    # A reviewer's comment is text: Markdown in it is shown, not followed.
    assert r"reject: \*\*Bold\*\* \[click\]\(https\:" in "\n".join(c.value for c in linked.caption)
    linked.button(key=f"lk_review_unpin_{project.id}").click().run()
    assert "Nothing is waiting for your review" in texts(linked)
