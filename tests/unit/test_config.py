"""The label config language: Label Studio's XML, parsed safely, with errors that say where."""

from __future__ import annotations

import pytest

from labelkit.config import check_config, parse_config
from labelkit.config.parser import walk
from labelkit.config.tags import REGION_CONTROLS, REGION_TOOLS, TAGS, Kind
from labelkit.config.templates import TEMPLATES
from labelkit.errors import InvalidInput
from labelkit.results.items import build_result, flat_value, missing_required, values_of


def problems(xml: str) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        check_config(xml)
    return refused.value.issues or [str(refused.value)]


@pytest.mark.parametrize("t", TEMPLATES, ids=lambda t: t.key)
def test_every_template_is_a_valid_config_its_sample_fits(t) -> None:
    config = check_config(t.config)
    assert config.controls
    assert all(key in t.sample for key in config.data_keys)


def test_a_label_studio_config_is_described() -> None:
    config = check_config(
        """<View>
  <Header value="Pick one"/>
  <Text name="review" value="$review_text"/>
  <Choices name="sentiment" toName="review" choice="multiple" required="true">
    <Choice value="Positive" hotkey="1"/>
    <Choice value="Negative" alias="neg"/>
  </Choices>
  <TextArea name="why" toName="review" rows="2"/>
  <Rating name="stars" toName="review" maxRating="10"/>
</View>"""
    )
    assert config.data_keys == ["review_text"]
    assert list(config.controls) == ["sentiment", "why", "stars"]
    sentiment = config.controls["sentiment"]
    assert sentiment.multiple and sentiment.required
    assert [o.stored for o in sentiment.options] == ["Positive", "neg"]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<View>\n  <Text name='t' value='$t'/>\n  <Choise name='c' toName='t'/>\n</View>", "line 3: unknown tag <Choise>"),
        ("<View><Text name='t' value='$t'/>\n<Choices name='c' toName='txt'><Choice value='a'/></Choices></View>",
         "line 2: <Choices name='c'>: toName 'txt' points nowhere (objects: t)"),
        ("<View><Text name='t' value='$t'/>\n<Choices name='t' toName='t'><Choice value='a'/></Choices></View>",
         "the name 't' is already used on line 1"),
        ("<View><Text name='t' value='$t'/>\n<Choices name='c' toName='t' colour='red'><Choice value='a'/></Choices></View>",
         "line 2: <Choices name='c'>: unknown attribute colour"),
        ("<View><Text name='t'/><Choices name='c' toName='t'><Choice value='a'/></Choices></View>", "needs a value attribute"),
        ("<View><Text name='t' value='$t'/>\n<Choices name='c' toName='t'></Choices></View>", "has no <Choice> to pick from"),
        ("<View><Text name='t' value='$t'/><Rating name='r' toName='t' maxRating='many'/></View>", "maxRating must be a whole number"),
        ("<Choices/>", "the config must start with <View>"),
        ("<View><Text name='t' value='$t'/></View>", "nothing to label"),
    ],
)
def test_errors_name_the_line_the_tag_and_the_problem(xml: str, expected: str) -> None:
    assert any(expected in p for p in problems(xml)), problems(xml)


def test_malformed_xml_names_the_line() -> None:
    assert "line 3, column 1" in problems("<View>\n<Text name='t' value='$t'\n</View>")[0]


def test_entity_expansion_and_dtds_are_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><View>&b;</View>'
    assert "DTD or entities" in problems(bomb)[0]
    external = '<!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]><View>&x;</View>'
    assert "not allowed" in problems(external)[0]


def test_label_studio_tags_without_an_interface_yet_are_reported_not_crashed() -> None:
    xml = """<View><Image name="scan" value="$image"/><Cube name="box" toName="scan"/>
<Labels name="who" toName="table"><Label value="Agent"/></Labels><Table name="table" value="$row"/></View>"""
    assert parse_config(xml).unsupported == ["<Cube>", "<Labels> on <Table>"]
    assert problems(xml) == ["not supported yet: <Cube>", "not supported yet: <Labels> on <Table>"]


def test_results_round_trip_through_the_label_studio_shapes() -> None:
    config = check_config(TEMPLATES[1].config)  # sentiment with a comment
    result = build_result(config, {"sentiment": ["Negative"], "comment": "slow service"})
    assert {(r["from_name"], r["to_name"], r["type"]) for r in result} == {
        ("sentiment", "text", "choices"),
        ("comment", "text", "textarea"),
    }
    by_name = {r["from_name"]: r for r in result}
    assert by_name["sentiment"]["value"] == {"choices": ["Negative"]}
    assert by_name["comment"]["value"] == {"text": ["slow service"]}
    assert all(len(r["id"]) == 10 and r["origin"] == "manual" for r in result)
    assert values_of(result) == {"sentiment": ["Negative"], "comment": "slow service"}
    assert build_result(config, values_of(result), previous=result)[0]["id"] in {r["id"] for r in result}
    assert missing_required(config, [by_name["comment"]]) == ["sentiment"]
    assert flat_value(by_name["sentiment"]) == "Negative"


# The tag table: every tag of Label Studio's reference parses, and nothing else does.

REFERENCE_TAGS = [
    "View", "Header", "Style", "Collapse", "Panel", "Filter", "Shortcut", "Repeater", "Markdown",
    "Image", "Text", "HyperText", "Audio", "AudioPlus", "Video", "Paragraphs", "Table", "TimeSeries", "Channel",
    "Pdf", "List", "Chat", "Choices", "Choice", "Labels", "Label", "RectangleLabels", "Rectangle",
    "PolygonLabels", "Polygon", "KeyPointLabels", "KeyPoint", "BrushLabels", "Brush", "EllipseLabels", "Ellipse",
    "TextArea", "Rating", "Number", "DateTime", "Taxonomy", "Relations", "Relation", "Pairwise", "Ranker", "Bucket",
    "HyperTextLabels", "ParagraphLabels", "TimeSeriesLabels", "VideoRectangle", "TimelineLabels", "MagicWand",
    "BitmaskLabels", "Vector", "VectorLabels",
]
# What has an interface here (written out, not read from tags.py, so a change there shows).
LABELED_HERE = {
    "View", "Header", "Style", "Collapse", "Panel", "Filter", "Text", "Image", "Choices", "TextArea", "Rating",
    "Number", "DateTime", "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon", "KeyPointLabels", "KeyPoint",
    "EllipseLabels", "Ellipse", "BrushLabels", "Brush", "Labels", "Relations", "Choice", "Label", "Relation", "Repeater", "Taxonomy",
    "HyperText", "HTML", "Paragraphs", "Chat", "Table", "List", "Audio", "AudioPlus", "Video", "TimeSeries", "Pdf",
    "Channel", "MultiChannel", "Bucket", "Ranker", "Pairwise", "HyperTextLabels", "ParagraphLabels",
    "TimeSeriesLabels", "TimelineLabels", "VideoRectangle",
}
_OPTION_XML = {
    "Label": '<Label value="Car"/>', "Choice": '<Choice value="Fine"/>', "Relation": '<Relation value="near"/>',
    "Bucket": '<Bucket name="good" title="Good"/>',
}
_IN_A_PARENT = {
    "Panel": '<Collapse><Panel value="More"{extra}><Header value="Inside"/></Panel></Collapse>\n'
    '  <Text name="txt" value="$text"/><Choices name="verdict" toName="txt"><Choice value="Fine"/></Choices>',
    "Shortcut": '<Text name="txt" value="$text"/>\n  <TextArea name="note" toName="txt">\n'
    '    <Shortcut value="[noise]"{extra}/></TextArea>',
    "Channel": '<TimeSeries name="ts" value="$csv">\n    <Channel column="temp"{extra}/></TimeSeries>\n'
    '  <Choices name="verdict" toName="ts"><Choice value="Fine"/></Choices>',
    "MultiChannel": '<TimeSeries name="ts" value="$csv">\n    <MultiChannel{extra}><Channel column="a"/></MultiChannel>'
    '</TimeSeries>\n  <Choices name="verdict" toName="ts"><Choice value="Fine"/></Choices>',
    "Choice": '<Text name="txt" value="$text"/>\n  <Choices name="verdict" toName="txt">\n'
    '    <Choice value="Fine"{extra}/></Choices>',
    "Label": '<Image name="img" value="$image"/>\n  <RectangleLabels name="box" toName="img">\n'
    '    <Label value="Car"{extra}/></RectangleLabels>',
    "Relation": '<Image name="img" value="$image"/>\n  <RectangleLabels name="box" toName="img"><Label value="Car"/>'
    '</RectangleLabels>\n  <Relations><Relation value="tows"{extra}/></Relations>',
    "Relations": '<Image name="img" value="$image"/>\n  <RectangleLabels name="box" toName="img"><Label value="Car"/>'
    '</RectangleLabels>\n  <Relations{extra}><Relation value="tows"/></Relations>',
    "Bucket": '<List name="items" value="$items"/>\n  <Ranker name="rank" toName="items">\n'
    '    <Bucket name="good" title="Good"{extra}/></Ranker>',
    "Filter": '<Text name="txt" value="$text"/>\n  <Filter name="find" toName="verdict"{extra}/>\n'
    '  <Choices name="verdict" toName="txt"><Choice value="Fine"/></Choices>',
}


_TARGET = {"Ranker": "List", "Labels": "Image"}  # the object a control is tried on, if not an image


def small_config(tag: str, extra: str = "") -> str:
    """A small valid config of our own that uses `tag` once (plus `extra` attributes on it)."""
    spec = TAGS[tag]
    extra = f" {extra}" if extra else ""
    if tag in _IN_A_PARENT:
        body = _IN_A_PARENT[tag].format(extra=extra)
    elif spec.kind == Kind.OBJECT:
        data = ' data="$data"' if tag == "ReactCode" else ' value="$data"'
        body = (f'<Header value="Look"/>\n  <{tag} name="thing"{data}{extra}/>\n'
                '  <Choices name="verdict" toName="thing"><Choice value="Fine"/></Choices>')
    elif spec.kind == Kind.CONTROL:
        options = _OPTION_XML[spec.options[0]] if spec.options and spec.options != ("Shortcut",) else ""
        target = _TARGET.get(tag) or next((o for o, tools in REGION_TOOLS.items() if tag in tools), "Image")
        body = (f'<{target} name="img" value="$image"/>\n  <{tag} name="ctl" toName="img"{extra}>{options}</{tag}>'
                if tag != "Pairwise" else
                f'<Text name="img" value="$a"/><Text name="b" value="$b"/>\n  <{tag} name="ctl" toName="img,b"{extra}/>')
    else:
        needs = {"Repeater": ' on="$items"', "Markdown": ' value="Read *this*"', "Header": ' value="Hello"'}
        inner = ".note { color: gray; }" if tag == "Style" else ""
        body = (f'<{tag}{needs.get(tag, "")}{extra}>{inner}</{tag}>\n  <Text name="txt" value="$text"/>\n'
                '  <Choices name="verdict" toName="txt"><Choice value="Fine"/></Choices>')
    return f"<View>\n  {body}\n</View>"


def line_of(xml: str, text: str) -> int:
    return next(n for n, line in enumerate(xml.splitlines(), 1) if text in line)


def test_the_table_covers_label_studios_tag_reference() -> None:
    assert set(REFERENCE_TAGS) <= set(TAGS)
    common = {"name", "toName", "required", "requiredMessage", "perRegion", "perItem", "visibleWhen",
              "whenTagName", "whenLabelValue", "whenChoiceValue", "whenRole"}
    for tag, spec in TAGS.items():
        if spec.kind == Kind.CONTROL and tag != "Relations":
            assert common <= set(spec.attributes), tag


@pytest.mark.parametrize("tag", list(TAGS))
def test_every_tag_of_the_table_parses_in_a_small_config(tag: str) -> None:
    xml = small_config(tag)
    config = parse_config(xml)
    tags = {n.tag for n in walk(config.root)}
    assert tag in tags
    if TAGS[tag].kind == Kind.OBJECT:
        assert config.objects["thing"].tag == tag
    elif TAGS[tag].kind == Kind.CONTROL and tag != "Relations":
        assert config.controls["ctl"].tag == tag


@pytest.mark.parametrize("tag", list(TAGS))
def test_every_tag_refuses_an_attribute_it_does_not_document(tag: str) -> None:
    xml = small_config(tag, 'madeUpThing="1"')
    found = problems(xml)
    assert any(p.startswith(f"line {line_of(xml, 'madeUpThing')}: <{tag}") and p.endswith("unknown attribute madeUpThing")
               for p in found), found


@pytest.mark.parametrize("tag", list(TAGS))
def test_only_the_tags_with_an_interface_here_pass_check_config(tag: str) -> None:
    xml = small_config(tag)
    if tag in LABELED_HERE:
        check_config(xml)
    else:
        assert any(p.startswith("not supported yet: <") for p in problems(xml))


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ('<View>\n<Table name="page" value="$row"/>\n<HyperTextLabels name="ner" toName="page"><Label value="Person"/></HyperTextLabels>\n</View>',
         ["not supported yet: <HyperTextLabels> on <Table>"]),
        (('<View>\n<Image name="img" value="$i"/><Text name="txt" value="$t"/>\n'
         '<Labels name="ner" toName="img,txt"><Label value="Person"/></Labels>\n</View>'),
         ["not supported yet: <Labels> on <Image> and <Text> at once"]),
        (('<View><Text name="txt" value="$t"/><Choices name="c" toName="txt"><Choice value="A"/></Choices>\n'
         '<Relations><Relation value="near"/></Relations></View>'),
         ["not supported yet: <Relations> without regions to relate"]),
        (('<View><Video name="v" value="$video"/><Image name="i" value="$image"/>\n'
         '<VideoRectangle name="track" toName="i"/><TimeSeriesLabels name="when" toName="v"><Label value="Run"/>'
         '</TimeSeriesLabels></View>'),
         ["not supported yet: <VideoRectangle> on <Image>", "not supported yet: <TimeSeriesLabels> on <Video>"]),
    ],
)
def test_what_cannot_be_labeled_here_yet_is_named(xml: str, expected: list[str]) -> None:
    assert problems(xml) == expected


# Errors name the line, the tag and what is wrong.

@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<View>\n<Text name='t' value='$t'/>\n<Choises name='c' toName='t'/>\n</View>",
         "line 3: unknown tag <Choises> (did you mean <Choices>?)"),
        ("<View>\n<Image name='img' value='$i' zoomm='true'/>\n<Rectangle name='r' toName='img'/></View>",
         "line 2: <Image name='img'>: unknown attribute zoomm (did you mean zoom?)"),
        ("<View>\n<Audio name='a' value='$a' loop='true'/>\n<TextArea name='n' toName='a'/></View>",
         "line 2: <Audio name='a'>: unknown attribute loop"),
        (("<View><Text name='t' value='$t'/>\n<Choices name='c' toName='t' showinline='true'><Choice value='A'/>"
         "</Choices></View>"),
         "line 2: <Choices name='c'>: unknown attribute showinline (attributes are case-sensitive: showInline)"),
        ("<View>\n<Image value='$i'/>\n</View>", "line 2: <Image> needs a name attribute"),
        ("<View>\n<Image name='img'/>\n<Rectangle name='r' toName='img'/></View>",
         "line 2: <Image name='img'>: needs a value attribute (or valueList), e.g. value=\"$image\""),
        (("<View><Image name='img' value='$i'/><Image name='other' value='$j'/>\n\n"
          "<RectangleLabels name='box'><Label value='Car'/></RectangleLabels></View>"),
         "line 3: <RectangleLabels name='box'>: needs a toName attribute naming the object it labels"),
        (("<View><Image name='img' value='$i'/>\n<RectangleLabels name='box' toName='img'>\n<Label/>\n"
         "</RectangleLabels></View>"),
         "line 3: <Label>: needs a value attribute"),
        (("<View><Text name='t' value='$t'/>\n<Choices name='c' toName='t'>\n<Choice value='A'/>\n<Label value='x'/>\n"
         "</Choices></View>"),
         "line 4: <Label value='x'>: <Label> belongs inside a labels control"),
        (("<View><Image name='img' value='$i'/>\n<RectangleLabels name='box' toName='img'>\n<Label value='Car'/>\n"
         "<Choice value='x'/></RectangleLabels></View>"),
         "line 4: <Choice value='x'>: <Choice> belongs inside <Choices> or <Taxonomy>, not in <RectangleLabels>"),
        ("<View><Text name='t' value='$t'/><TextArea name='n' toName='t'/>\n<Choice value='x'/></View>",
         "line 2: <Choice value='x'>: <Choice> belongs inside <Choices> or <Taxonomy>, not in <View>"),
        ("<View><Text name='t' value='$t'/><TextArea name='n' toName='t'/>\n<Relation value='near'/></View>",
         "line 2: <Relation value='near'>: <Relation> belongs inside <Relations>, not in <View>"),
        ("<View><Text name='t' value='$t'/><TextArea name='n' toName='t'/>\n<Panel value='More'/></View>",
         "line 2: <Panel value='More'>: <Panel> belongs inside <Collapse>, not in <View>"),
        ("<View><Image name='img' value='$i'/>\n\n<PolygonLabels name='shape' toName='img'/></View>",
         "line 3: <PolygonLabels name='shape'>: has no <Label> to pick from"),
        (("<View><Image name='img' value='$i'/>\n<RectangleLabels name='box' toName='img'>\n"
         "<Label value='Car'/><Label value='Car' background='red'/></RectangleLabels></View>"),
         "line 2: <RectangleLabels name='box'>: the label 'Car' appears twice"),
        (("<View><Image name='img' value='$i'/>\n<BrushLabels name='paint' toName='img'>\n"
         "<Label value='Road' alias='r'/><Label value='Rail' alias='r'/></BrushLabels></View>"),
         "line 2: <BrushLabels name='paint'>: the label 'r' appears twice"),
        (("<View><Text name='t' value='$t'/>\n\n<Choices name='c' toName='t' choice='several'><Choice value='A'/>"
         "</Choices></View>"),
         "line 3: <Choices name='c'>: choice must be single, single-radio or multiple, not 'several'"),
        (("<View><Image name='img' value='$i'/>\n<RectangleLabels name='box' toName='img' choice='single-radio'>"
         "<Label value='Car'/></RectangleLabels></View>"),
         "line 2: <RectangleLabels name='box'>: choice must be single or multiple, not 'single-radio'"),
        ("<View>\n<Text name='t' value='$t' granularity='letter'/><TextArea name='n' toName='t'/></View>",
         "line 2: <Text name='t'>: granularity must be symbol, word, sentence or paragraph, not 'letter'"),
        ("<View><Text name='t' value='$t'/><TextArea name='n' toName='t'/>\n\n<View visibleWhen='always'/></View>",
         ("line 3: <View>: visibleWhen must be region-selected, no-region-selected, choice-selected or "
         "choice-unselected, not 'always'")),
        ("<View><Text name='t' value='$t'/>\n<Rating name='r' toName='t' maxRating='many'/></View>",
         "line 2: <Rating name='r'>: maxRating must be a whole number from 1 to 100, not 'many'"),
        ("<View><Text name='t' value='$t'/>\n<Rating name='r' toName='t' maxRating='101'/></View>",
         "line 2: <Rating name='r'>: maxRating must be a whole number from 1 to 100, not '101'"),
        ("<View><Text name='t' value='$t'/>\n<Number name='n' toName='t' min='low'/></View>",
         "line 2: <Number name='n'>: min must be a number, not 'low'"),
        ("<View><Text name='t' value='$t'/>\n<Number name='n' toName='t' min='10' max='1'/></View>",
         "line 2: <Number name='n'>: min 10 is above max 1"),
        ("<View><Text name='t' value='$t'/>\n<Number name='n' toName='t' step='0'/></View>",
         "line 2: <Number name='n'>: step must be above 0"),
        ("<View><Text name='t' value='$t'/>\n<TextArea name='n' toName='t' rows='three'/></View>",
         "line 2: <TextArea name='n'>: rows must be a whole number, not 'three'"),
        ("<View><Image name='img' value='$i'/>\n<Rectangle name='r' toName='img' strokeWidth='thin'/></View>",
         "line 2: <Rectangle name='r'>: strokeWidth must be a number, not 'thin'"),
        (("<View><Image name='img' value='$i'/>\n<EllipseLabels name='e' toName='img' opacity='half'>"
         "<Label value='Cell'/></EllipseLabels></View>"),
         "line 2: <EllipseLabels name='e'>: opacity must be a number, not 'half'"),
        (("<View><Image name='img' value='$i'/>\n<PolygonLabels name='p' toName='img' pointSize='tiny'>"
         "<Label value='Lake'/></PolygonLabels></View>"),
         "line 2: <PolygonLabels name='p'>: pointSize must be small, medium or large, not 'tiny'"),
        (("<View><Image name='img' value='$i'/>\n<RectangleLabels name='box' toName='img' canRotate='yes'>"
         "<Label value='Car'/></RectangleLabels></View>"),
         "line 2: <RectangleLabels name='box'>: canRotate must be true or false, not 'yes'"),
        ("<View><Text name='t' value='$t'/>\n<DateTime name='d' toName='t' only='week'/></View>",
         "line 2: <DateTime name='d'>: only must be a comma-separated list of date, time, month or year, not 'week'"),
        ("<View><Text name='t' value='$t'/>\n<DateTime name='d' toName='t' only='date,year'/></View>",
         "line 2: <DateTime name='d'>: only='date,year': date cannot be combined with month or year"),
        ("<View><Text name='t' value='$t'/>\n<DateTime name='d' toName='t' only='date' min='31/01/2024'/></View>",
         "line 2: <DateTime name='d'>: min must be in ISO form like 2024-01-31, not '31/01/2024'"),
        (("<View><Text name='t' value='$t'/><Choices name='mood' toName='t'><Choice value='A'/></Choices>\n"
         "<View visibleWhen='choice-selected' whenTagName='moods'><TextArea name='n' toName='t'/></View></View>"),
         "line 2: <View>: whenTagName 'moods' names no control"),
        (("<View><Image name='img' value='$i'/>\n<Rectangle name='r' toName='img'/>\n"
         "<TextArea name='n' toName='img' perRegion='true' visibleWhen='region-selected' whenTagName='image'/></View>"),
         "line 3: <TextArea name='n'>: whenTagName 'image' names no tag of this config"),
        (("<View><Text name='txt' value='$t'/><Choices name='c' toName='txt'><Choice value='A'/></Choices>\n"
         "<Filter name='f' toName='txt'/></View>"),
         "line 2: <Filter name='f'>: toName 'txt' names no control"),
        ("<View><Image name='img' value='$i'/><Rectangle name='r' toName='img'/><Relations/>\n<Relations/></View>",
         "line 2: <Relations>: a config takes one <Relations>; the first is on line 1"),
        ("<View>\n<Header/><Text name='t' value='$t'/><TextArea name='n' toName='t'/></View>",
         "line 2: <Header>: needs a value attribute"),
    ],
)
def test_each_problem_names_its_line_and_tag(xml: str, expected: str) -> None:
    assert any(expected in p for p in problems(xml)), problems(xml)


def test_every_problem_is_collected_in_one_error_in_line_order() -> None:
    found = problems("""<View>
  <Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="photo" strokeWidth="wide">
    <Label value="Car"/>
  </RectangleLabels>
  <Rating name="box" toName="img" maxRating="0"/>
</View>""")
    assert [p.split(":")[0] for p in found] == ["line 3", "line 3", "line 6", "line 6"]
    assert any("strokeWidth must be a number" in p for p in found)
    assert any("toName 'photo' points nowhere" in p for p in found)
    assert any("the name 'box' is already used on line 3" in p for p in found)
    assert any("maxRating must be a whole number from 1 to 100, not '0'" in p for p in found)


# Configs for each kind of task the UI labels.

def test_an_image_region_task_lists_its_region_controls_labels_and_relations() -> None:
    config = check_config("""<View>
  <Image name="photo" value="$image"/>
  <Image name="detail" value="$closeup"/>
  <RectangleLabels name="box" toName="photo" canRotate="false" strokeWidth="2" opacity="0.4">
    <View><Label value="Car" hotkey="c" background="#ff0000" maxUsages="3"/></View>
    <Label value="Truck" alias="lorry" showAlias="true" selected="true" hint="the big ones"/>
  </RectangleLabels>
  <Polygon name="outline" toName="photo" pointSize="large"/>
  <KeyPointLabels name="points" toName="detail"><Label value="Eye"/></KeyPointLabels>
  <Labels name="kind" toName="photo"><Label value="Damaged"/></Labels>
  <TextArea name="plate" toName="photo" perRegion="true" visibleWhen="region-selected" whenTagName="box"/>
  <Choices name="quality" toName="photo"><Choice value="Sharp"/><Choice value="Blurry"/></Choices>
  <Relations><Relation value="tows" background="blue"/></Relations>
</View>""")
    assert config.data_keys == ["image", "closeup"]
    assert [c.name for c in config.region_controls("photo")] == ["box", "outline", "kind"]
    assert [c.name for c in config.label_controls_for("photo")] == ["box", "kind"]
    assert [c.name for c in config.label_controls_for("detail")] == ["points"]
    assert [c.name for c in config.per_region_controls("photo")] == ["plate"]
    assert config.per_region_controls("detail") == []
    assert [c.region_type for c in config.region_controls("photo")] == ["rectanglelabels", "polygon", "labels"]
    assert config.controls["plate"].per_region and not config.controls["quality"].per_region
    car, truck = config.controls["box"].options
    assert (car.value, car.hotkey, car.background, car.max_usages, car.tag, car.line) == ("Car", "c", "#ff0000", 3, "Label", 5)
    assert (truck.stored, truck.show_alias, truck.selected, truck.hint) == ("lorry", True, True, "the big ones")
    assert config.relations is not None and "relations" not in config.controls
    assert [(o.value, o.background, o.tag) for o in config.relations.options] == [("tows", "blue", "Relation")]


def test_region_control_types_are_label_studios_result_types() -> None:
    assert REGION_CONTROLS == {
        "RectangleLabels": "rectanglelabels", "Rectangle": "rectangle", "PolygonLabels": "polygonlabels",
        "Polygon": "polygon", "KeyPointLabels": "keypointlabels", "KeyPoint": "keypoint",
        "EllipseLabels": "ellipselabels", "Ellipse": "ellipse", "BrushLabels": "brushlabels", "Brush": "brush",
        "Labels": "labels", "HyperTextLabels": "hypertextlabels", "ParagraphLabels": "paragraphlabels",
        "TimeSeriesLabels": "timeserieslabels", "TimelineLabels": "timelinelabels", "VideoRectangle": "videorectangle",
    }
    for tag in REGION_CONTROLS:
        assert not check_config(small_config(tag)).unsupported


def test_a_form_of_numbers_dates_and_ratings_is_labeled_here() -> None:
    config = check_config("""<View>
  <Collapse><Panel value="Details"><Header value="$title"/></Panel></Collapse>
  <Style>.form { padding: 1em; }</Style>
  <View className="form">
    <Text name="report" value="$report"/>
    <Number name="count" toName="report" min="0" max="10" step="0.5" defaultValue="2"/>
    <DateTime name="when" toName="report" only="date" min="2020-01-01" max="2030-12-31" required="true"/>
    <DateTime name="year" toName="report" only="year" min="1990"/>
    <DateTime name="stamp" toName="report" only="date,time"/>
    <Rating name="stars" toName="report" maxRating="10" defaultValue="7" icon="star"/>
    <Choices name="topic" toName="report" showInLine="true"><Choice value="A"/><Choice value="B"/></Choices>
    <Filter name="find" toName="topic" minlength="1"/>
  </View>
</View>""")
    assert config.data_keys == ["report", "title"]
    assert list(config.controls) == ["count", "when", "year", "stamp", "stars", "topic"]
    assert config.controls["when"].required
    assert config.controls["topic"].attrs.get("showInline") == "true"  # Label Studio's template spelling, normalized


def test_images_with_a_value_list_show_several_per_task() -> None:
    config = check_config("""<View><Image name="pages" valueList="$scans"/>
<RectangleLabels name="box" toName="pages"><Label value="Signature"/></RectangleLabels></View>""")
    pages = config.objects["pages"]
    assert (pages.key, pages.many, config.data_keys) == ("scans", True, ["scans"])
    single = parse_config('<View><Image name="p" value="$photo"/><Rectangle name="r" toName="p"/></View>')
    assert (single.objects["p"].key, single.objects["p"].many) == ("photo", False)


def test_what_label_studios_own_library_leaves_loose_is_taken_as_it_means() -> None:
    """A control without toName in a config of one object labels that object; an option
    repeated word for word is offered once."""
    config = parse_config("""<View><Paragraphs name="chat" value="$messages"/>
  <Rating name="likert" maxRating="7"/>
  <Choices name="pick" toName="chat"><Choice value="One"/><Choice value="Two"/><Choice value="Two"/></Choices>
</View>""")
    assert config.controls["likert"].to_name == ["chat"]
    assert [o.value for o in config.controls["pick"].options] == ["One", "Two"]


def test_nested_taxonomy_choices_and_ranker_buckets_become_options() -> None:
    config = parse_config("""<View><Text name="t" value="$text"/>
<Taxonomy name="kind" toName="t">
  <Choice value="Animal"><Choice value="Dog"/><Choice value="Other"/></Choice>
  <Choice value="Plant"><Choice value="Tree"/><Choice value="Other"/></Choice>
</Taxonomy>
<List name="results" value="$results"/>
<Ranker name="rank" toName="results"><Bucket name="relevant" title="Relevant"/><Bucket name="off" title="Off topic"/></Ranker>
</View>""")
    animal, plant = config.controls["kind"].options
    assert [o.value for o in animal.children] == ["Dog", "Other"] and [o.value for o in plant.children] == ["Tree", "Other"]
    buckets = config.controls["rank"].options
    assert [(b.value, b.caption, b.tag) for b in buckets] == [("relevant", "Relevant", "Bucket"), ("off", "Off topic", "Bucket")]
    assert config.unsupported == []
    nested_twice = problems("<View><Text name='t' value='$t'/><Taxonomy name='k' toName='t'>\n"
                            "<Choice value='A'><Choice value='B'/><Choice value='B' hint='the other B'/></Choice></Taxonomy></View>")
    assert any("<Choice value='A'>: the choice 'B' appears twice" in p for p in nested_twice)


def test_dynamic_options_need_no_children_but_their_data_key() -> None:
    config = parse_config('<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img" value="$classes"/></View>')
    assert config.controls["box"].options == []
    assert config.data_keys == ["image", "classes"]
    assert config.unsupported == []
    data = {"image": "x.png", "classes": [{"value": "Cola", "hotkey": "c", "background": "#ff0000"}, "Juice", {"v": 1}]}
    options = config.controls["box"].options_for(data)
    assert [(o.value, o.hotkey, o.background, o.tag) for o in options] == [
        ("Cola", "c", "#ff0000", "Label"), ("Juice", None, None, "Label")]
    assert config.controls["box"].options_for({"classes": "not a list"}) == []


def test_dynamic_choices_add_to_the_configs_own() -> None:
    config = parse_config('<View><Text name="t" value="$text"/><Choices name="c" toName="t" value="$extra">'
                          '<Choice value="Other"/></Choices></View>')
    options = config.controls["c"].options_for({"text": "hi", "extra": [{"value": "Red", "alias": "R"}, {"value": "Other"}]})
    assert [(o.value, o.stored) for o in options] == [("Other", "Other"), ("Red", "R")]


def test_attributes_labelkit_accepted_before_the_table_still_parse() -> None:
    """Saved projects may use them; refusing them now would break those projects."""
    config = check_config("""<View idAttr="root">
  <Header value="Hi" idAttr="h" visibleWhen="no-region-selected"/>
  <Text name="t" value="$text" clickableLinks="true" inline="false" idAttr="x"/>
  <Image name="img" value="$image" height="300px" maxHeight="600px" rotation="90"/>
  <Choices name="c" toName="t" hotkey="q" idAttr="c"><Choice value="A" className="a" idAttr="a"/></Choices>
  <TextArea name="n" toName="t" label="Why?"/>
  <Rating name="r" toName="img" idAttr="r"/>
</View>""")
    assert list(config.controls) == ["c", "n", "r"]
