"""Ranker, Pairwise and per-page answers: Label Studio's result shapes, and the round trip
through labelkit.results.items (what an export carries and what an import or a reopened task
reads back)."""

from __future__ import annotations

from pathlib import Path

from labelkit.config import check_config
from labelkit.results.items import build_result, missing_required, values_of
from labelkit.ui import lists

RANK = """<View>
  <List name="results" value="$items" title="Search results"/>
  <Ranker name="rank" toName="results"/>
</View>"""
BUCKETS = """<View>
  <List name="answers" value="$items" title="Answers"/>
  <Ranker name="quality" toName="answers">
    <Bucket name="helpful" title="Helpful"/>
    <Bucket name="harmful" title="Harmful"/>
  </Ranker>
</View>"""
DEFAULT_BUCKET = """<View>
  <List name="answers" value="$items"/>
  <Ranker name="quality" toName="answers">
    <Bucket name="good" title="Good" default="true"/>
    <Bucket name="bad" title="Bad"/>
  </Ranker>
</View>"""
PAIRWISE = """<View>
  <Pairwise name="pw" toName="text1,text2"/>
  <Text name="text1" value="$a"/>
  <Text name="text2" value="$b"/>
</View>"""
PER_PAGE = """<View>
  <Image name="pages" valueList="$pages"/>
  <Choices name="page_type" toName="pages" perItem="true" required="true">
    <Choice value="Form"/><Choice value="Receipt"/>
  </Choices>
  <Choices name="whole" toName="pages"><Choice value="Complete"/><Choice value="Incomplete"/></Choices>
</View>"""
IDS = ["blog", "mdn", "wiki"]


def test_list_items_keep_their_ids_and_number_the_ones_without() -> None:
    items = lists.list_items([{"id": "x", "title": "X", "body": "b"}, {"title": "Y"}, "plain"])
    assert [i["id"] for i in items] == ["x", "2", "3"]
    assert items[0] == {"id": "x", "title": "X", "body": "b", "html": ""}
    assert items[2]["title"] == "plain"


def test_a_ranker_without_buckets_orders_all_items_under_its_own_name() -> None:
    ranker = check_config(RANK).controls["rank"]
    assert lists.columns(ranker, "Search results") == [{"id": "rank", "title": "Search results"}]
    assert lists.arrange(ranker, IDS, None) == {"rank": ["blog", "mdn", "wiki"]}
    # a saved order is kept; an item it does not know (added to the task later) goes last
    assert lists.arrange(ranker, IDS, {"rank": ["wiki", "blog"]}) == {"rank": ["wiki", "blog", "mdn"]}
    # unknown ids and repeats in a saved value are dropped
    assert lists.arrange(ranker, IDS, {"rank": ["gone", "mdn", "mdn"]}) == {"rank": ["mdn", "blog", "wiki"]}


def test_buckets_without_a_default_keep_unsorted_items_in_label_studios_underscore_column() -> None:
    ranker = check_config(BUCKETS).controls["quality"]
    assert [c["id"] for c in lists.columns(ranker, "Answers")] == ["_", "helpful", "harmful"]
    assert lists.arrange(ranker, IDS, None) == {"_": IDS, "helpful": [], "harmful": []}
    # Label Studio's own test: a saved {B1: [item2]} puts the rest back in "_"
    assert lists.arrange(ranker, IDS, {"helpful": ["mdn"]}) == {"_": ["blog", "wiki"], "helpful": ["mdn"], "harmful": []}


def test_a_default_bucket_holds_every_item_not_placed_elsewhere() -> None:
    ranker = check_config(DEFAULT_BUCKET).controls["quality"]
    assert [c["id"] for c in lists.columns(ranker)] == ["good", "bad"]
    assert lists.arrange(ranker, IDS, None) == {"good": IDS, "bad": []}
    assert lists.arrange(ranker, IDS, {"bad": ["wiki"]}) == {"good": ["blog", "mdn"], "bad": ["wiki"]}


def test_ranker_results_are_label_studios_and_read_back() -> None:
    config = check_config(BUCKETS)
    value = {"_": ["blog"], "helpful": ["wiki", "mdn"], "harmful": []}
    result = build_result(config, {"quality": value})
    assert len(result) == 1
    item = result[0]
    assert {k: item[k] for k in ("from_name", "to_name", "type", "value")} == {
        "from_name": "quality", "to_name": "answers", "type": "ranker",
        "value": {"ranker": {"_": ["blog"], "helpful": ["wiki", "mdn"], "harmful": []}},
    }
    assert values_of(result, config)["quality"] == value
    ranked = build_result(check_config(RANK), {"rank": {"rank": ["mdn", "wiki", "blog"]}})
    assert ranked[0]["value"] == {"ranker": {"rank": ["mdn", "wiki", "blog"]}}
    assert ranked[0]["to_name"] == "results"


def test_pairwise_is_stored_as_label_studio_writes_it() -> None:
    config = check_config(PAIRWISE)
    result = build_result(config, {"pw": "right"})
    assert [{k: i[k] for k in ("from_name", "to_name", "type", "value")} for i in result] == [
        {"from_name": "pw", "to_name": "pw", "type": "pairwise", "value": {"selected": "right"}},
    ]
    assert values_of(result, config)["pw"] == "right"
    assert build_result(config, {"pw": None}) == []  # no choice, no item


def test_per_page_choices_are_one_item_per_page_with_its_index() -> None:
    config = check_config(PER_PAGE)
    result = build_result(config, {"page_type": {0: ["Form"], 2: ["Receipt"], 1: []}, "whole": ["Complete"]})
    per_page = [i for i in result if i["from_name"] == "page_type"]
    assert [(i["item_index"], i["value"], i["to_name"], i["type"]) for i in per_page] == [
        (0, {"choices": ["Form"]}, "pages", "choices"),
        (2, {"choices": ["Receipt"]}, "pages", "choices"),
    ]
    assert len({i["id"] for i in per_page}) == 2
    whole = next(i for i in result if i["from_name"] == "whole")
    assert "item_index" not in whole
    back = values_of(result, config)
    assert back["page_type"] == {0: ["Form"], 2: ["Receipt"]}
    assert back["whole"] == ["Complete"]
    assert missing_required(config, result) == []
    assert missing_required(config, build_result(config, {"page_type": {}})) == ["page_type"]


def test_a_label_studio_export_with_per_page_items_reads_back_by_page() -> None:
    config = check_config(PER_PAGE)
    exported = [
        {"id": "a", "from_name": "page_type", "to_name": "pages", "type": "choices", "item_index": 1,
         "value": {"choices": ["Receipt"]}, "origin": "manual"},
    ]
    assert values_of(exported, config) == {"page_type": {1: ["Receipt"]}}


def test_the_sample_pdf_has_pages_to_classify() -> None:
    import pypdfium2 as pdfium

    sample = Path(lists.__file__).resolve().parent.parent / "samples" / "invoice.pdf"
    pdf = pdfium.PdfDocument(str(sample))
    try:
        assert len(pdf) == 3
    finally:
        pdf.close()
    assert sample.stat().st_size < 300_000


def test_a_pdf_page_is_rendered_to_a_png_of_the_asked_width() -> None:
    import io

    from PIL import Image

    from labelkit.ui import documents

    sample = Path(lists.__file__).resolve().parent.parent / "samples" / "invoice.pdf"
    png = documents.pdf_page_png(str(sample), sample.stat().st_mtime, 1, 400)
    with Image.open(io.BytesIO(png)) as page:
        assert page.format == "PNG"
        assert page.width == 400
        assert page.height > page.width  # a portrait page, not a blank stub
        assert page.convert("L").getextrema()[0] < 100  # something dark is printed on it


def test_a_damaged_pdf_has_no_pages_rather_than_an_error(settings) -> None:
    from labelkit.storage import local
    from labelkit.ui import documents

    broken = local.upload_root() / "broken.pdf"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"%PDF-1.4 not really")
    config = check_config('<View><Pdf name="doc" value="$pdf"/><Choices name="c" toName="doc"><Choice value="A"/></Choices></View>')
    pdf = config.objects["doc"]
    assert documents.page_count(pdf, {"pdf": "/data/upload/broken.pdf"}) == 0
    assert documents.page_count(pdf, {"pdf": "/data/upload/samples/missing.pdf"}) == 0
