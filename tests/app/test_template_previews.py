"""Every gallery template renders in the labeling screen with its sample task."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from labelkit.config.templates import TEMPLATES

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database


def _render(key: str) -> None:
    from labelkit.config import check_config, task_config
    from labelkit.config.templates import template
    from labelkit.storage import local
    from labelkit.ui import controls, labeling

    local.install_samples()
    chosen = template(key)
    check_config(chosen.config)
    config = task_config(chosen.config, chosen.sample)  # a <Repeater> unrolled over the sample
    controls.seed(f"preview:{key}", config, {})
    labeling.render(config, chosen.sample, f"preview:{key}")


@pytest.mark.parametrize("key", [t.key for t in TEMPLATES])
def test_every_template_renders_with_its_sample(key: str, settings) -> None:
    at = AppTest.from_function(_render, args=(key,), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    shown = [w.body for w in at.warning]
    assert not any("cannot be shown" in text or "has no image" in text for text in shown), shown
    chosen = next(t for t in TEMPLATES if t.key == key)
    if "<Choices" in chosen.config and 'perRegion="true"' not in chosen.config:
        assert at.button or at.get("button_group"), "the choices are drawn"


def _collapse() -> None:
    from labelkit.config import check_config
    from labelkit.ui import labeling

    config = check_config("""<View><Text name="t" value="$text"/>
      <Collapse><Panel value="More questions"><Choices name="c" toName="t"><Choice value="Yes"/></Choices></Panel></Collapse>
    </View>""")
    labeling.render(config, {"text": "hi"}, "p")


def test_controls_inside_a_collapse_panel_are_drawn(settings) -> None:
    at = AppTest.from_function(_collapse, default_timeout=30)
    at.run()
    assert not at.exception
    assert [e.label for e in at.expander] == ["More questions"]
    assert [b.label for b in at.button] == ["Yes"]


def _dynamic() -> None:
    from labelkit.config import check_config
    from labelkit.storage import local
    from labelkit.ui import controls, labeling

    local.install_samples()
    config = check_config("""<View><Image name="img" value="$image"/>
      <PolygonLabels name="objects" toName="img" value="$products"/>
      <Choices name="shelf" toName="img" value="$shelves"><Choice value="Unknown"/></Choices></View>""")
    data = {"image": "/data/upload/samples/shape-2.png", "products": [{"value": "Cola", "hotkey": "1"}, {"value": "Juice"}],
            "shelves": ["Top", "Bottom"]}
    controls.seed("p", config, {})
    labeling.render(config, data, "p")


def test_labels_and_choices_from_task_data(settings) -> None:
    at = AppTest.from_function(_dynamic, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    labels = [b.label for b in at.button]
    assert labels[:2] == ["Cola", "Juice"]  # the labels for new regions, from the task
    assert {"Unknown", "Top", "Bottom"} <= set(labels)
