"""The label config language: Label Studio's XML, parsed safely, with errors that say where."""

from __future__ import annotations

import pytest

from labelkit.config import check_config, parse_config
from labelkit.config.templates import TEMPLATES
from labelkit.errors import InvalidInput
from labelkit.results import build_result, flat_value, missing_required, values_of


def problems(xml: str) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        check_config(xml)
    return refused.value.issues or [str(refused.value)]


@pytest.mark.parametrize("t", TEMPLATES, ids=lambda t: t.key)
def test_every_template_is_a_valid_config_its_sample_fits(t) -> None:  # noqa: ANN001
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
    xml = """<View><Image name="img" value="$image"/>
<RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>"""
    parse_config(xml)  # parses
    assert problems(xml) == ["not supported yet: <RectangleLabels>"]


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
