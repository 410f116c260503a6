"""Agreement: the metrics on hand-worked examples and against the libraries that
compute the same numbers, score() per control type, and the project service on a team of
three with ground truth (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC

import krippendorff
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlmodel import select

from labelkit import agreement
from labelkit.agreement import metrics
from labelkit.agreement import report as agreement_report
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, PermissionDenied
from labelkit.labeling import gold, submissions
from labelkit.models import Annotation, Project, Role, Task

# ---------------------------------------------------------------- categories


def test_cohen_kappa_hand_worked() -> None:
    # 50 items: both Yes 20, A Yes/B No 5, A No/B Yes 10, both No 15.
    # p_o = (20 + 15) / 50 = 0.7; A says Yes 25/50 = 0.5, B 30/50 = 0.6
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5;  kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    a = ["Yes"] * 20 + ["Yes"] * 5 + ["No"] * 10 + ["No"] * 15
    b = ["Yes"] * 20 + ["No"] * 5 + ["Yes"] * 10 + ["No"] * 15
    assert metrics.cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa_score(a, b) == pytest.approx(0.4)


def test_cohen_kappa_agrees_with_scikit_learn() -> None:
    rng = random.Random(7)
    for _ in range(20):
        labels = ["cat", "dog", "bird", "fish"][: rng.randint(2, 4)]
        a = [rng.choice(labels) for _ in range(40)]
        b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
        assert metrics.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_cohen_kappa_is_undefined_not_invented() -> None:
    assert metrics.cohen_kappa([], []) is None
    assert metrics.cohen_kappa(["A", "A"], ["A", "A"]) is None  # one category: chance agreement is 1
    with pytest.raises(ValueError):
        metrics.cohen_kappa(["A"], ["A", "B"])


def test_fleiss_kappa_on_the_classic_table() -> None:
    # Fleiss' worked example (as on Wikipedia): 10 subjects, 14 raters, 5 categories.
    # p_j = (0.143, 0.200, 0.279, 0.150, 0.229); P_e = sum p_j^2 = 0.2128
    # P_i = (sum n_ij^2 - 14) / (14 * 13), e.g. row 1: (196 - 14) / 182 = 1.000; P-bar = 0.3780
    # kappa = (0.3780 - 0.2128) / (1 - 0.2128) = 0.2099
    table = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
    assert metrics.fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)
    with pytest.raises(ValueError):
        metrics.fleiss_kappa([[2, 1], [1, 1]])  # 3 raters then 2


def test_krippendorff_alpha_hand_worked() -> None:
    # Units (two coders): [a, a], [a, b], [b, b], [b, -]; the last is not pairable.
    # Coincidences o_aa = 2, o_ab = o_ba = 1, o_bb = 2; n_a = n_b = 3, n = 6
    # D_o = o_ab + o_ba = 2; D_e = n_a n_b + n_b n_a = 18
    # alpha = 1 - (n - 1) D_o / D_e = 1 - 5 * 2 / 18 = 0.4444
    data = [["a", "a", "b", "b"], ["a", "b", "b", None]]
    assert metrics.krippendorff_alpha(data) == pytest.approx(4 / 9)


def test_krippendorff_alpha_agrees_with_the_krippendorff_package_with_missing_values() -> None:
    # Krippendorff's own example: 3 coders, 15 units, * = not coded.
    rows = [
        "*    *    *    *    *    3    4    1    2    1    1    3    3    *    3",
        "1    *    2    1    3    3    4    3    *    *    *    *    *    *    *",
        "*    *    2    1    3    4    4    *    2    1    1    3    3    *    4",
    ]
    data = [[None if v == "*" else int(v) for v in row.split()] for row in rows]
    nan_data = [[float("nan") if v is None else v for v in row] for row in data]
    for level in ("nominal", "interval"):
        expected = krippendorff.alpha(reliability_data=nan_data, level_of_measurement=level)
        assert metrics.krippendorff_alpha(data, level) == pytest.approx(expected)
    assert metrics.krippendorff_alpha(data, "nominal") == pytest.approx(0.691, abs=1e-3)
    assert metrics.krippendorff_alpha(data, "interval") == pytest.approx(0.811, abs=1e-3)
    rng = random.Random(3)
    for _ in range(10):
        grid = [[rng.choice([None, 1, 2, 3, 4]) for _ in range(25)] for _ in range(4)]
        nan_grid = [[float("nan") if v is None else v for v in row] for row in grid]
        for level in ("nominal", "interval"):
            assert metrics.krippendorff_alpha(grid, level) == pytest.approx(
                krippendorff.alpha(reliability_data=nan_grid, level_of_measurement=level))
    assert metrics.krippendorff_alpha([["a", None], [None, "a"]]) is None  # nothing pairable


# ---------------------------------------------------------------- spans, shapes, text


def test_span_f1_exact_and_overlap() -> None:
    gold_spans = [(0, 5, "PER"), (10, 15, "ORG"), (20, 25, "LOC")]
    found = [(0, 5, "PER"), (11, 15, "ORG"), (20, 25, "PER"), (30, 35, "LOC")]
    # exact: only (0, 5, PER) is found: P = 1/4, R = 1/3, F1 = 2 * 1 / (3 + 4) = 2/7
    exact = metrics.span_prf(gold_spans, found, "exact")
    assert (exact.precision, exact.recall, exact.f1) == (pytest.approx(1 / 4), pytest.approx(1 / 3), pytest.approx(2 / 7))
    # overlap: ORG 11-15 overlaps 10-15 too; 20-25 has another label: P = 2/4, R = 2/3, F1 = 4/7
    overlap = metrics.span_prf(gold_spans, found, "overlap")
    assert (overlap.precision, overlap.recall, overlap.f1) == (pytest.approx(1 / 2), pytest.approx(2 / 3), pytest.approx(4 / 7))
    # one span cannot be found twice
    assert metrics.span_prf([(0, 10, "X")], [(0, 4, "X"), (5, 10, "X")], "overlap").f1 == pytest.approx(2 / 3)
    assert metrics.span_prf([], [], "overlap").f1 is None


def box(region_id: str, label: str, x: float, y: float, w: float, h: float, rotation: float = 0.0) -> dict:
    return {"id": region_id, "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 200, "original_height": 100,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]}}


BOXES = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels></View>"""


def test_box_iou_f1_in_pixels() -> None:
    # A 200 x 100 px image. Car A: x 10%, y 10%, 50% x 50% -> px (20, 10) 100 x 50, area 5000.
    # Car C: x 15% -> px (30, 10) 100 x 50: overlap 90 x 50 = 4500, union 5500, IoU 0.818 -> a match.
    # Car B: x 20%, y 20% -> px (40, 20): overlap 80 x 40 = 3200, union 6800, IoU 0.47 < 0.5 -> none.
    a_car = metrics.rectangle(20, 10, 100, 50)
    assert metrics.iou(a_car, metrics.rectangle(30, 10, 100, 50)) == pytest.approx(4500 / 5500)
    assert metrics.iou(a_car, metrics.rectangle(40, 20, 100, 50)) == pytest.approx(3200 / 6800)
    reference = [box("1", "Car", 10, 10, 50, 50), box("2", "Person", 70, 0, 10, 50)]
    # the person is drawn in the same place but called a car: no match by label
    other = [box("3", "Car", 15, 10, 50, 50), box("4", "Car", 70, 0, 10, 50)]
    # matched 1 of 2 each side: P = R = 1/2, F1 = 2 * 1 / 4 = 0.5
    assert agreement.score(BOXES, reference, other) == pytest.approx(0.5)
    assert agreement.score(BOXES, reference, [box("5", "Car", 20, 20, 50, 50), other[1]]) == pytest.approx(0.0)
    assert agreement.score(BOXES, reference, []) == pytest.approx(0.0)  # boxes against none: no agreement
    assert agreement.score(BOXES, [], []) is None


def test_rotated_box_turns_in_pixels_about_its_corner() -> None:
    # px (100, 0) 50 x 50 turned 90 degrees clockwise about its top-left corner covers
    # x 50..100, y 0..50: the unrotated box at x 25% (50 px), 25% x 50% is the same place.
    # (Turned in percent, 25% x 50% would become 50% wide: not the same box.)
    turned = [box("1", "Car", 50, 0, 25, 50, rotation=90)]
    plain = [box("2", "Car", 25, 0, 25, 50)]
    assert agreement.score(BOXES, turned, plain) == pytest.approx(1.0)
    assert metrics.iou(metrics.rectangle(100, 0, 50, 50, 90), metrics.rectangle(50, 0, 50, 50)) == pytest.approx(1.0)


def test_polygon_iou() -> None:
    # squares 50 x 50 shifted by 25: overlap 25 x 50, union 75 x 50 -> IoU 1/3
    left = metrics.polygon([(0, 0), (50, 0), (50, 50), (0, 50)])
    right = metrics.polygon([(25, 0), (75, 0), (75, 50), (25, 50)])
    assert metrics.iou(left, right) == pytest.approx(1 / 3)
    bow_tie = metrics.polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # crosses itself: still an area
    assert bow_tie.area == pytest.approx(50)


def test_text_exact_and_edit_distance() -> None:
    # kitten -> sitting: 3 edits over 7 characters: 1 - 3/7
    assert metrics.edit_similarity("kitten", "sitting") == pytest.approx(4 / 7)
    assert metrics.edit_similarity("same", "same") == 1.0


# ---------------------------------------------------------------- score() per control

MIXED = """<View><Text name="text" value="$text"/>
<Choices name="topic" toName="text" choice="multiple"><Choice value="Sport"/><Choice value="Politics"/><Choice value="Music"/></Choices>
<TextArea name="summary" toName="text"/>
<Rating name="quality" toName="text" maxRating="5"/>
<Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
</View>"""


def item(name: str, kind: str, value: dict, region: str | None = None) -> dict:
    return {"id": region or name, "from_name": name, "to_name": "text", "type": kind, "value": value}


def test_score_averages_the_controls_both_answered() -> None:
    a = [item("topic", "choices", {"choices": ["Sport", "Politics"]}),
         item("summary", "textarea", {"text": ["kitten"]}),
         item("quality", "rating", {"rating": 5}),
         item("ner", "labels", {"start": 0, "end": 5, "text": "Alice", "labels": ["PER"]}, "r1")]
    b = [item("topic", "choices", {"choices": ["Sport"]}),
         item("summary", "textarea", {"text": ["sitting"]}),
         item("quality", "rating", {"rating": 4}),
         item("ner", "labels", {"start": 0, "end": 3, "text": "Ali", "labels": ["PER"]}, "r2")]
    # topic: Jaccard {Sport} / {Sport, Politics} = 1/2; summary: 1 - 3/7 = 4/7;
    # quality: 1 - |5 - 4| / (5 - 1) = 3/4; ner: the spans overlap with the same label: F1 1
    assert agreement.score(MIXED, a, b) == pytest.approx((1 / 2 + 4 / 7 + 3 / 4 + 1) / 4)
    assert agreement.score(MIXED, a, a) == pytest.approx(1.0)
    # only the topic in b: the others are not compared, except the spans (none against one: 0)
    only_topic = [b[0]]
    assert agreement.score(MIXED, a, only_topic) == pytest.approx((1 / 2 + 0) / 2)
    assert agreement.score(MIXED, [], only_topic) is None


# ---------------------------------------------------------------- the project service

SENTIMENT = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"""


def choice(label: str) -> list[dict]:
    return [{"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


@pytest.fixture
def team(factory):
    manager = factory.user(Role.MANAGER, name="Manager")
    project = factory.project(manager, config=SENTIMENT, overlap=3)
    factory.tasks(project, manager, 5)
    with session_scope() as s:
        tasks = list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())
    people = []
    for name in ("Ann", "Bob", "Cat"):
        user = factory.user(Role.ANNOTATOR, name=name)
        factory.member(project, user, Role.ANNOTATOR)
        people.append(user)
    reviewer = factory.user(Role.REVIEWER, name="Rev")
    factory.member(project, reviewer, Role.REVIEWER)
    ann, bob, cat = people
    # t1: all Positive; t2: Ann Positive, Bob and Cat Negative; t3: all Negative;
    # t4: Ann and Bob Positive (Cat did not do it); t5: Ann alone.
    plan = {0: [(ann, "Positive"), (bob, "Positive"), (cat, "Positive")],
            1: [(ann, "Positive"), (bob, "Negative"), (cat, "Negative")],
            2: [(ann, "Negative"), (bob, "Negative"), (cat, "Negative")],
            3: [(ann, "Positive"), (bob, "Positive")],
            4: [(ann, "Negative")]}
    ids = {}
    for index, answers in plan.items():
        for user, label in answers:
            with session_scope() as s:
                ids[(index, user.name)] = submissions.submit(s, user, tasks[index], choice(label)).annotation.id
    return manager, project, reviewer, people, tasks, ids


def test_project_agreement_with_three_annotators_and_ground_truth(team) -> None:
    manager, project, reviewer, (ann, bob, cat), tasks, ids = team
    with session_scope() as s:
        gold.mark_ground_truth(s, manager, ids[(0, "Bob")])  # t1's truth: Positive
        gold.mark_ground_truth(s, manager, ids[(1, "Cat")])  # t2's truth: Negative
    with session_scope() as s:
        report = agreement_report.project_agreement(s, reviewer, project.id)

    # Per task, the mean of the pairs: t1 1, t2 (0 + 0 + 1)/3, t3 1, t4 1; t5 has one annotation.
    assert report.tasks == 4
    assert dict(report.task_scores) == pytest.approx({tasks[0]: 1.0, tasks[1]: 1 / 3, tasks[2]: 1.0, tasks[3]: 1.0})
    assert report.mean == pytest.approx((1 + 1 / 3 + 1 + 1) / 4)

    # The matrix: Ann-Bob agree on t1, t3, t4 of 4 -> 3/4; Ann-Cat on t1, t3 of 3; Bob-Cat always.
    assert [name for _, name in report.annotators] == ["Ann", "Bob", "Cat"]
    assert report.matrix[(ann.id, bob.id)] == pytest.approx(3 / 4) == report.matrix[(bob.id, ann.id)]
    assert report.matrix[(ann.id, cat.id)] == pytest.approx(2 / 3)
    assert report.matrix[(bob.id, cat.id)] == pytest.approx(1.0)
    assert report.pair_tasks[(ann.id, bob.id)] == 4
    assert report.matrix_rows() == [[None, pytest.approx(3 / 4), pytest.approx(2 / 3)],
                                    [pytest.approx(3 / 4), None, 1.0], [pytest.approx(2 / 3), 1.0, None]]

    # Krippendorff's alpha over t1 [P P P], t2 [P N N], t3 [N N N], t4 [P P]:
    # o_PP = 3 + 0 + 0 + 2 = 5, o_NN = 0 + 1 + 3 = 4, o_PN = o_NP = 1; n_P = 6, n_N = 5, n = 11
    # alpha = 1 - (n - 1) (o_PN + o_NP) / (2 n_P n_N) = 1 - 10 * 2 / 60 = 2/3
    (sentiment,) = report.controls
    assert (sentiment.name, sentiment.metric, sentiment.tasks) == ("sentiment", "Krippendorff's alpha", 4)
    assert sentiment.value == pytest.approx(2 / 3)
    nan = float("nan")
    units = [[1, 1, 0, 1], [1, 0, 0, 1], [1, 0, 0, nan]]  # Ann, Bob, Cat over t1..t4 (1 Positive)
    assert sentiment.value == pytest.approx(krippendorff.alpha(reliability_data=units, level_of_measurement="nominal"))
    # Fleiss over the tasks with three ratings: rows [3 0], [1 2], [0 3]; P-bar = (1 + 1/3 + 1)/3 = 7/9,
    # p = (4/9, 5/9), P_e = 41/81; kappa = (63/81 - 41/81) / (40/81) = 0.55
    assert sentiment.details["fleiss_kappa"] == pytest.approx(0.55)

    # Accuracy against the truth (the truth's own author not scored on that task):
    # Ann: t1 right, t2 wrong -> 1/2 on 2 tasks; Bob: t2 right -> 1; Cat: t1 right -> 1.
    accuracy = {a.name: (a.accuracy, a.tasks) for a in report.accuracy}
    assert accuracy == {"Ann": (0.5, 2), "Bob": (1.0, 1), "Cat": (1.0, 1)}
    assert report.accuracy[0].name == "Ann"  # worst first

    with session_scope() as s:
        assert agreement_report.tasks_below(s, reviewer, project.id, 0.5, limit=10, offset=0) == [(tasks[1], pytest.approx(1 / 3))]
        assert agreement_report.tasks_below(s, manager, project.id, 1.0, limit=10, offset=1) == []
        assert agreement._task_agreement(s, s.get(Project, project.id), tasks[1]) == pytest.approx(1 / 3)
        assert agreement._task_agreement(s, s.get(Project, project.id), tasks[4]) is None


def test_two_annotators_get_cohens_kappa_matching_scikit_learn(factory) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=SENTIMENT, overlap=2)
    factory.tasks(project, manager, 6)
    a, b = factory.user(name="A"), factory.user(name="B")
    for user in (a, b):
        factory.member(project, user, Role.ANNOTATOR)
    with session_scope() as s:
        tasks = list(s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all())
    labels_a = ["Positive", "Positive", "Negative", "Negative", "Positive", "Negative"]
    labels_b = ["Positive", "Negative", "Negative", "Negative", "Positive", "Positive"]
    for task_id, x, y in zip(tasks, labels_a, labels_b, strict=True):
        with session_scope() as s:
            submissions.submit(s, a, task_id, choice(x))
        with session_scope() as s:
            submissions.submit(s, b, task_id, choice(y))
    with session_scope() as s:
        (sentiment,) = agreement_report.project_agreement(s, manager, project.id).controls
    # p_o = 4/6; A: 3 P, 3 N; B: 3 P, 3 N; p_e = 1/2; kappa = (2/3 - 1/2) / (1/2) = 1/3
    assert sentiment.metric == "Cohen's kappa"
    assert sentiment.value == pytest.approx(1 / 3) == pytest.approx(cohen_kappa_score(labels_a, labels_b))


def test_a_period_counts_only_annotations_submitted_in_it(team) -> None:
    from datetime import datetime, timedelta

    manager, project, *_ = team
    later = datetime.now(UTC) + timedelta(days=1)
    with session_scope() as s:
        report = agreement_report.project_agreement(s, manager, project.id, since=later)
        assert (report.tasks, report.mean, report.matrix) == (0, None, {})
        with pytest.raises(InvalidInput):
            agreement_report.project_agreement(s, manager, project.id, since=later, until=later - timedelta(days=2))


def test_annotators_may_not_see_agreement_and_bad_input_is_refused(team) -> None:
    manager, project, _, (ann, *_), *_ = team
    with session_scope() as s:
        with pytest.raises(PermissionDenied):
            agreement_report.project_agreement(s, ann, project.id)
        with pytest.raises(PermissionDenied):
            agreement_report.tasks_below(s, ann, project.id, 0.5, limit=10, offset=0)
        for threshold in (-0.1, 1.5, "lots", float("nan")):
            with pytest.raises(InvalidInput):
                agreement_report.tasks_below(s, manager, project.id, threshold, limit=10, offset=0)
        with pytest.raises(InvalidInput):
            agreement_report.tasks_below(s, manager, project.id, 0.5, limit=0, offset=0)
        assert s.exec(select(Annotation).where(Annotation.ground_truth)).all() == []


NER = """<View><Text name="text" value="$text"/>
<Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/><Label value="LOC"/></Labels></View>"""


def spans(*found: tuple[int, int, str]) -> list[dict]:
    return [{"id": f"r{i}", "from_name": "ner", "to_name": "text", "type": "labels",
             "value": {"start": start, "end": end, "labels": [label]}} for i, (start, end, label) in enumerate(found)]


def test_project_span_f1_and_precision_recall_against_ground_truth(factory) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=NER, overlap=2)
    factory.tasks(project, manager, [{"text": "Alice met ACME in Paris, then left."}])
    a, b = factory.user(name="A"), factory.user(name="B")
    for user in (a, b):
        factory.member(project, user, Role.ANNOTATOR)
    with session_scope() as s:
        (task_id,) = s.exec(select(Task.id).where(Task.project_id == project.id)).all()
    with session_scope() as s:
        truth_id = submissions.submit(s, a, task_id, spans((0, 5, "PER"), (10, 15, "ORG"))).annotation.id
    with session_scope() as s:
        submissions.submit(s, b, task_id, spans((0, 5, "PER"), (11, 15, "ORG"), (20, 25, "LOC")))
    with session_scope() as s:
        gold.mark_ground_truth(s, manager, truth_id)
    with session_scope() as s:
        report = agreement_report.project_agreement(s, manager, project.id)
    (ner,) = report.controls
    # A and B: exact, only PER 0-5 is the same: 2 * 1 / (2 + 3) = 0.4; overlap, ORG too: 2 * 2 / 5 = 0.8
    assert ner.metric == "Span F1 (overlap)"
    assert ner.value == pytest.approx(0.8)
    assert ner.details["span_f1_exact"] == pytest.approx(0.4)
    # B against A's truth: 2 of B's 3 spans are right (P 2/3), both truth spans found (R 1), F1 0.8
    assert (ner.details["truth_precision"], ner.details["truth_recall"], ner.details["truth_f1"]) == (
        pytest.approx(2 / 3), pytest.approx(1.0), pytest.approx(0.8))
    assert [(x.name, x.accuracy, x.tasks) for x in report.accuracy] == [("B", pytest.approx(0.8), 1)]
    assert report.task_scores == [(task_id, pytest.approx(0.8))]


def test_per_item_answers_are_compared_page_by_page() -> None:
    config = """<View><Image name="img" valueList="$images"/>
    <Choices name="kind" toName="img" perItem="true"><Choice value="A"/><Choice value="B"/></Choices></View>"""

    def pages(*labels: str) -> list[dict]:
        return [{"id": f"p{i}", "from_name": "kind", "to_name": "img", "type": "choices",
                 "value": {"choices": [label]}, "item_index": i} for i, label in enumerate(labels)]

    # page 0 the same (1), page 1 not (0): 1/2; a page only one answered is not compared
    assert agreement.score(config, pages("A", "B"), pages("A", "A")) == pytest.approx(0.5)
    assert agreement.score(config, pages("A", "B", "B"), pages("A", "A")) == pytest.approx(0.5)


KEYPOINTS = """<View><Image name="image" value="$image"/>
<KeyPointLabels name="kp" toName="image"><Label value="Eye"/><Label value="Nose"/></KeyPointLabels></View>"""


def point(region_id: str, label: str, x: float, y: float) -> dict:
    return {"id": region_id, "from_name": "kp", "to_name": "image", "type": "keypointlabels",
            "value": {"x": x, "y": y, "width": 1, "keypointlabels": [label]}}


def test_keypoints_match_within_two_percent_with_the_same_label() -> None:
    a = [point("1", "Eye", 10, 10), point("2", "Nose", 50, 50)]
    # the eye 1.5% away: a match; the nose 3% away: none -> F1 = 2 * 1 / 4
    assert agreement.score(KEYPOINTS, a, [point("3", "Eye", 11.5, 10), point("4", "Nose", 53, 50)]) == pytest.approx(0.5)
    assert agreement.score(KEYPOINTS, a, [point("3", "Nose", 10, 10), point("4", "Eye", 50, 50)]) == pytest.approx(0.0)


TEXT_AND_RATING = """<View><Text name="text" value="$text"/>
<TextArea name="summary" toName="text"/><Rating name="quality" toName="text" maxRating="5"/></View>"""


def test_project_text_and_rating_metrics(factory) -> None:
    manager = factory.user(Role.MANAGER)
    project = factory.project(manager, config=TEXT_AND_RATING, overlap=2)
    factory.tasks(project, manager, 2)
    a, b = factory.user(name="A"), factory.user(name="B")
    for user in (a, b):
        factory.member(project, user, Role.ANNOTATOR)
    with session_scope() as s:
        first, second = s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all()

    def answer(text: str, rating: int) -> list[dict]:
        return [{"id": "s", "from_name": "summary", "to_name": "text", "type": "textarea", "value": {"text": [text]}},
                {"id": "q", "from_name": "quality", "to_name": "text", "type": "rating", "value": {"rating": rating}}]

    for user, texts in ((a, (("kitten", 5), ("same", 1))), (b, (("sitting", 4), ("same", 2)))):
        for task_id, (text, rating) in zip((first, second), texts, strict=True):
            with session_scope() as s:
                submissions.submit(s, user, task_id, answer(text, rating))
    with session_scope() as s:
        controls = {c.name: c for c in agreement_report.project_agreement(s, manager, project.id).controls}
    # summary: edit similarity (4/7 + 1) / 2; exact match on 1 of 2 tasks
    assert controls["summary"].metric == "Edit similarity"
    assert controls["summary"].value == pytest.approx((4 / 7 + 1) / 2)
    assert controls["summary"].details["exact_match"] == pytest.approx(0.5)
    # quality: interval alpha over units [5, 4] and [1, 2]: o_54 = o_45 = o_12 = o_21 = 1, n = 4
    # D_o = 4 * 1^2 = 4; D_e = 2 * (1 + 9 + 16 + 4 + 9 + 1) = 80 (all pairs of 1, 2, 4, 5)
    # alpha = 1 - (n - 1) * D_o / D_e = 1 - 3 * 4 / 80 = 0.85, as the krippendorff package says
    assert controls["quality"].metric == "Krippendorff's alpha"
    assert controls["quality"].value == pytest.approx(0.85)
    expected = krippendorff.alpha(reliability_data=[[5, 1], [4, 2]], level_of_measurement="interval")
    assert controls["quality"].value == pytest.approx(expected)
