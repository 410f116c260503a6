"""Dialogues and HTML as data: the turns of a <Paragraphs>/<Chat>, what a selection across
turns stores, and Label Studio's paragraphlabels / hypertextlabels results read and written
back unchanged (a project exported from Label Studio keeps its answers here)."""

from __future__ import annotations

import json

from labelkit.config import check_config
from labelkit.results.items import REGIONS, RELATIONS, build_result, values_of
from labelkit.ui.dialogue import marks_of, selection_geometry, turns_of
from labelkit.ui.hypertext import region_geometry

DIALOGUE = [
    {"author": "user", "text": "Hi there."},
    {"author": "agent", "text": "Hello, how can I help? "},
    {"author": "user", "text": "A table for two, please."},
]
PARAGRAPHS = """<View>
  <ParagraphLabels name="tags" toName="chat"><Label value="Request"/><Label value="Turn"/></ParagraphLabels>
  <Paragraphs name="chat" value="$dialogue" layout="dialogue" nameKey="speaker" textKey="says"/>
  <Choices name="intent" toName="chat" perRegion="true"><Choice value="Greeting"/><Choice value="Booking"/></Choices>
  <TextArea name="note" toName="chat" perRegion="true"/>
  <Relations><Relation value="answers"/></Relations>
</View>"""
# As Label Studio exports a labeled dialogue: turn indices as strings, offsets in a turn.
LS_PARAGRAPH_RESULT = [
    {"id": "reg1", "from_name": "tags", "to_name": "chat", "type": "paragraphlabels", "origin": "manual",
     "value": {"start": "0", "end": "1", "startOffset": 3, "endOffset": 5, "text": "there.\nHello",
               "paragraphlabels": ["Request"]}},
    {"id": "reg2", "from_name": "tags", "to_name": "chat", "type": "paragraphlabels", "origin": "manual",
     "value": {"start": "2", "end": "2", "startOffset": 0, "endOffset": 24, "text": "A table for two, please.",
               "paragraphlabels": ["Turn"]}},
    {"id": "reg2", "from_name": "intent", "to_name": "chat", "type": "choices", "origin": "manual",
     "value": {"start": "2", "end": "2", "startOffset": 0, "endOffset": 24, "text": "A table for two, please.",
               "choices": ["Booking"]}},
    {"id": "reg2", "from_name": "note", "to_name": "chat", "type": "textarea", "origin": "manual",
     "value": {"start": "2", "end": "2", "startOffset": 0, "endOffset": 24, "text": ["polite"]}},
    {"from_id": "reg2", "to_id": "reg1", "type": "relation", "direction": "right", "labels": ["answers"]},
]
HYPERTEXT = """<View>
  <HyperTextLabels name="ner" toName="page"><Label value="Person"/><Label value="Place"/></HyperTextLabels>
  <HyperText name="page" value="$html"/>
  <Labels name="extra" toName="page"><Label value="Important"/></Labels>
</View>"""
LS_HYPERTEXT_RESULT = [
    {"id": "h1", "from_name": "ner", "to_name": "page", "type": "hypertextlabels", "origin": "manual",
     "value": {"start": "/div[1]/p[1]/b[1]/text()[1]", "end": "/div[1]/p[1]/b[1]/text()[1]", "startOffset": 0,
               "endOffset": 12, "globalOffsets": {"start": 6, "end": 18}, "text": "Ada Lovelace",
               "hypertextlabels": ["Person"]}},
    {"id": "h2", "from_name": "ner", "to_name": "page", "type": "hypertextlabels", "origin": "manual",
     "value": {"start": "/div[1]/p[2]/text()[1]", "end": "/div[1]/p[4]/text()[3]", "startOffset": 2,
               "endOffset": 81, "hypertextlabels": ["Place"]}},  # an older export: no globalOffsets, no text
]


def canonical(items: list[dict]) -> str:
    return json.dumps(sorted(items, key=lambda i: (i.get("id", ""), i["type"], i.get("from_name", ""))), sort_keys=True)


def test_turns_read_the_configured_keys_and_chat_messages() -> None:
    config = check_config(PARAGRAPHS)
    data = {"dialogue": [{"speaker": "Ann", "says": "Hi"}, {"speaker": "Bob", "says": 42}, "a bare line"]}
    assert turns_of(config.objects["chat"], data) == [
        {"author": "Ann", "text": "Hi"}, {"author": "Bob", "text": "42"}, {"author": "", "text": "a bare line"}]
    chat = check_config('<View><Chat name="c" value="$messages"/><TextArea name="t" toName="c"/></View>')
    messages = [{"role": "user", "content": [{"type": "text", "text": "Look"}, {"type": "text", "text": "here"}]},
                {"role": "assistant", "content": "Seen."}]
    assert turns_of(chat.objects["c"], {"messages": messages}) == [
        {"author": "user", "text": "Look\nhere"}, {"author": "assistant", "text": "Seen."}]
    assert turns_of(chat.objects["c"], {"messages": 42}) == []
    assert turns_of(chat.objects["c"], {}) == []


def test_a_selection_within_and_across_turns() -> None:
    assert selection_geometry(DIALOGUE, 0, 3, 1, 5) == {
        "start": "0", "end": "1", "startOffset": 3, "endOffset": 5, "text": "there.\nHello"}
    assert selection_geometry(DIALOGUE, 2, 2, 2, 7) == {
        "start": "2", "end": "2", "startOffset": 2, "endOffset": 7, "text": "table"}
    # white space at the ends is left out, also the trailing space of a turn
    assert selection_geometry(DIALOGUE, 1, 0, 1, 23)["endOffset"] == 22
    # a drag that starts at the very end of a turn starts in the next one
    assert selection_geometry(DIALOGUE, 0, 9, 1, 5)["start"] == "1"
    # nothing, or outside the dialogue
    assert selection_geometry(DIALOGUE, 1, 4, 1, 4) is None
    assert selection_geometry(DIALOGUE, 1, 0, 5, 2) is None
    assert selection_geometry(DIALOGUE, 2, 0, 1, 2) is None


def test_marks_say_which_characters_of_which_turns_a_region_covers() -> None:
    assert marks_of(DIALOGUE, {"start": "0", "end": "2", "startOffset": 3, "endOffset": 1}) == {
        0: (3, 9), 1: (0, 23), 2: (0, 1)}
    assert marks_of(DIALOGUE, {"start": "1", "end": "9", "startOffset": 0, "endOffset": 1}) == {1: (0, 23), 2: (0, 24)}
    assert marks_of(DIALOGUE, {"start": "x", "end": "1"}) == {}


def test_label_studio_paragraph_results_come_back_unchanged() -> None:
    config = check_config(PARAGRAPHS)
    values = values_of(LS_PARAGRAPH_RESULT, config)
    first, second = values[REGIONS]
    assert (first["shape"], first["tool"], first["labels"]) == ("offsets", "tags", {"tags": ["Request"]})
    assert second["attributes"] == {"intent": ["Booking"], "note": "polite"}
    assert values[RELATIONS] == [{"from_id": "reg2", "to_id": "reg1", "labels": ["answers"], "direction": "right"}]
    assert canonical(build_result(config, values)) == canonical(LS_PARAGRAPH_RESULT)


def test_label_studio_hypertext_results_come_back_unchanged() -> None:
    config = check_config(HYPERTEXT)
    values = values_of(LS_HYPERTEXT_RESULT, config)
    assert [r["geometry"]["start"] for r in values[REGIONS]] == ["/div[1]/p[1]/b[1]/text()[1]", "/div[1]/p[2]/text()[1]"]
    assert canonical(build_result(config, values)) == canonical(LS_HYPERTEXT_RESULT)


def test_a_region_labeled_by_a_second_labels_control_on_html() -> None:
    config = check_config(HYPERTEXT)
    extra = {**LS_HYPERTEXT_RESULT[0], "from_name": "extra", "type": "labels",
             "value": {**LS_HYPERTEXT_RESULT[0]["value"], "labels": ["Important"]}}
    extra["value"].pop("hypertextlabels")
    (region,) = values_of([LS_HYPERTEXT_RESULT[0], extra], config)[REGIONS]
    assert region["labels"] == {"ner": ["Person"], "extra": ["Important"]}
    assert canonical(build_result(config, values_of([LS_HYPERTEXT_RESULT[0], extra], config))) == canonical(
        [LS_HYPERTEXT_RESULT[0], extra])


def test_what_the_browser_sends_for_html_is_checked() -> None:
    sent = {"start": "/p[1]/text()[1]", "end": "/p[1]/text()[1]", "startOffset": "2", "endOffset": 5,
            "globalOffsets": {"start": 2, "end": 5}, "text": "llo"}
    assert region_geometry(sent) == {"start": "/p[1]/text()[1]", "end": "/p[1]/text()[1]", "startOffset": 2,
                                     "endOffset": 5, "globalOffsets": {"start": 2, "end": 5}, "text": "llo"}
    assert region_geometry({**sent, "globalOffsets": {"start": 5, "end": 5}}) is None
    assert region_geometry({**sent, "start": "javascript:alert(1)"}) is None
    assert region_geometry({**sent, "endOffset": "x"}) is None
    assert region_geometry({"start": "/p[1]"}) is None


def test_html_comes_inline_from_an_uploaded_file_or_base64_and_always_sanitized(settings) -> None:
    import base64

    from labelkit.storage import local
    from labelkit.ui.hypertext import document_html

    folder = local.upload_root() / "7"  # the uploads of project 7, whose task this is
    folder.mkdir(parents=True)
    (folder / "a.html").write_text('<p>From a file<img src="https://evil.example/x.png"></p><script>x()</script>')
    inline = check_config(HYPERTEXT).objects["page"]
    by_url = check_config('<View><HyperText name="p" value="$url" valueType="url"/>'
                          '<Choices name="c" toName="p"><Choice value="A"/></Choices></View>').objects["p"]
    encoded = check_config('<View><HyperText name="p" value="$b" encoding="base64"/>'
                           '<Choices name="c" toName="p"><Choice value="A"/></Choices></View>').objects["p"]
    assert document_html(inline, {"html": "<p onclick='x()'>Hi</p>"}) == "<p>Hi</p>"
    assert document_html(by_url, {"url": "/data/upload/7/a.html"}, 7) == "<p>From a file<img></p>"
    assert document_html(by_url, {"url": "/data/upload/7/a.html"}, 8) is None  # another project's task
    assert document_html(by_url, {"url": "/data/upload/7/missing.html"}, 7) is None
    assert document_html(by_url, {"url": "/etc/passwd"}, 7) is None
    assert document_html(by_url, {"url": "/data/upload/../../etc/passwd"}, 7) is None
    assert document_html(encoded, {"b": base64.b64encode(b"<b>bold</b><script>x()</script>").decode()}) == "<b>bold</b>"
    assert document_html(encoded, {"b": "not base64!"}) is None


def test_a_placeholder_string_is_one_turn() -> None:
    config = check_config(PARAGRAPHS)
    assert turns_of(config.objects["chat"], {"dialogue": "(the task's dialogue goes here)"}) == [
        {"author": "", "text": "(the task's dialogue goes here)"}]
