"""<Repeater>: a block of the config unrolled over a task's list, as Label Studio does."""

from __future__ import annotations

import pytest

from labelkit.config import check_config, task_config
from labelkit.errors import InvalidInput
from labelkit.results.items import build_result, missing_required

PAGES = """<View>
  <Repeater on="$document" indexFlag="{{idx}}" mode="pagination">
    <Image name="page_{{idx}}" value="$document[{{idx}}].page"/>
    <RectangleLabels name="labels_{{idx}}" toName="page_{{idx}}"><Label value="Title"/></RectangleLabels>
    <Rating name="rating_{{idx}}" toName="page_{{idx}}" required="true"/>
  </Repeater>
</View>"""
TASK = {"document": [{"page": "/data/upload/1/a.png"}, {"page": "/data/upload/1/b.png"}]}


def test_the_template_can_be_saved_and_asks_for_its_list() -> None:
    config = check_config(PAGES)
    assert config.data_keys == ["document"]


def test_each_item_gets_its_own_objects_and_controls() -> None:
    config = task_config(PAGES, TASK)
    assert {name: o.value for name, o in config.objects.items()} == {
        "page_0": "/data/upload/1/a.png", "page_1": "/data/upload/1/b.png"}
    assert list(config.controls) == ["labels_0", "rating_0", "labels_1", "rating_1"]
    assert config.controls["rating_1"].to_name == ["page_1"]


def test_required_controls_are_asked_on_every_page() -> None:
    config = task_config(PAGES, TASK)
    result = build_result(config, {"rating_0": 4})
    assert missing_required(config, result) == ["rating_1"]
    assert result[0]["to_name"] == "page_0"


@pytest.mark.parametrize("data", [{}, {"document": "not a list"}])
def test_a_task_without_the_list_is_refused_clearly(data: dict) -> None:
    with pytest.raises(InvalidInput, match="no list 'document'"):
        task_config(PAGES, data)


def test_configs_without_a_repeater_are_the_projects_own() -> None:
    plain = '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="A"/></Choices></View>'
    assert task_config(plain, {"text": "x"}) is task_config(plain, {"text": "y"})  # parsed once, cached
