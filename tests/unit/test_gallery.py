"""The template gallery (labelkit/config/gallery/*.toml): every template is a config that
can be labeled here, previews on a sample task that fits it, and ships with the package."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections import Counter
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from PIL import Image

from labelkit.config import check_config
from labelkit.config.templates import TEMPLATES, Template, load_gallery, template

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "labelkit" / "samples"
SAMPLE_PREFIX = "/data/upload/samples/"
ORIGINAL_KEYS = {
    "text-classification", "sentiment", "image-classification", "multi-label", "image-tagging", "text-rating",
}
IMAGE_GROUPS = ("Image classification", "Object detection", "Segmentation", "Keypoints", "OCR")
# The groups of every data type beyond text and images.
OTHER_GROUPS = ("Audio", "Video", "Time series", "HTML and dialogue", "Ranking and comparison", "Documents")
# The tags that have an interface here; an image template uses no other.
IMAGE_TAGS = {
    "View", "Header", "Style", "Collapse", "Panel", "Filter", "Text", "Image", "Choices", "Choice", "TextArea",
    "Rating", "Number", "DateTime", "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon", "KeyPointLabels",
    "KeyPoint", "EllipseLabels", "Ellipse", "BrushLabels", "Brush", "Labels", "Relations", "Relation", "Label", "Repeater",
}
VARIABLE = re.compile(r"^\$([A-Za-z_][\w.-]*)$")
IMAGE_TEMPLATES = [t for t in TEMPLATES if t.group in IMAGE_GROUPS]


def by_key(t: Template) -> str:
    return t.key


def tree(t: Template) -> list[Element]:
    return list(fromstring(t.config).iter())


def variables(t: Template) -> set[str]:
    """Every $key an attribute of the config reads from task data."""
    return {m.group(1) for node in tree(t) for value in node.attrib.values() if (m := VARIABLE.match(value.strip()))}


def image_paths(t: Template) -> list[str]:
    """The sample values shown by the config's <Image> tags (a valueList gives several)."""
    from labelkit.config import task_config

    paths: list[str] = []
    for image in task_config(t.config, t.sample).objects_of("Image"):  # a <Repeater> unrolled over the sample
        ref = image.node.attrs.get("valueList") or image.value
        m = VARIABLE.match(ref)
        value = t.sample[m.group(1)] if m else ref
        paths.extend(value if isinstance(value, list) else [value])
    return paths


@pytest.mark.parametrize("t", TEMPLATES, ids=by_key)
def test_every_template_is_a_config_that_can_be_labeled_here(t: Template) -> None:
    config = check_config(t.config)
    assert config.controls, f"{t.key} has nothing to label"
    assert t.title and t.description and t.group


def test_template_keys_are_unique_and_the_original_ones_stay() -> None:
    counts = Counter(t.key for t in TEMPLATES)
    assert [k for k, n in counts.items() if n > 1] == []
    assert set(counts) >= ORIGINAL_KEYS
    assert TEMPLATES[1].key == "sentiment"  # tests elsewhere pick it by position


def test_the_gallery_offers_at_least_25_new_image_templates_in_the_five_groups() -> None:
    new = [t for t in IMAGE_TEMPLATES if t.key not in ORIGINAL_KEYS]
    assert len(new) >= 25
    per_group = Counter(t.group for t in new)
    assert all(per_group[g] >= 3 for g in IMAGE_GROUPS), per_group
    # A misspelt group would open a section of its own in the gallery.
    assert {t.group for t in TEMPLATES} <= {"Text", *IMAGE_GROUPS, *OTHER_GROUPS}


def test_the_gallery_offers_at_least_25_templates_for_the_other_data_types() -> None:
    others = [t for t in TEMPLATES if t.group in OTHER_GROUPS]
    assert len(others) >= 25
    per_group = Counter(t.group for t in others)
    assert all(per_group[g] >= 3 for g in OTHER_GROUPS), per_group
    # Each starts from the object tag of its kind of data.
    expected = {"Audio": {"Audio", "AudioPlus"}, "Video": {"Video"}, "Time series": {"TimeSeries"},
                "HTML and dialogue": {"HyperText", "Paragraphs", "Chat", "Text"}}
    for t in others:
        assert not expected.get(t.group) or expected[t.group] & {node.tag for node in tree(t)}, t.key


@pytest.mark.parametrize("t", IMAGE_TEMPLATES, ids=by_key)
def test_image_templates_use_only_tags_with_an_interface_here(t: Template) -> None:
    assert {node.tag for node in tree(t)} - IMAGE_TAGS == set()
    assert any(node.tag == "Image" for node in tree(t))


@pytest.mark.parametrize("t", TEMPLATES, ids=by_key)
def test_the_sample_task_has_every_key_the_config_reads_and_no_other(t: Template) -> None:
    assert variables(t) == set(t.sample)
    assert set(check_config(t.config).data_keys) <= set(t.sample)


@pytest.mark.parametrize("t", IMAGE_TEMPLATES, ids=by_key)
def test_every_sample_image_is_a_bundled_file(t: Template) -> None:
    paths = image_paths(t)
    assert paths
    for path in paths:
        assert path.startswith(SAMPLE_PREFIX), path
        assert (SAMPLES / path.removeprefix(SAMPLE_PREFIX)).is_file(), path


def test_the_gallery_images_are_small_and_wide_enough_to_label() -> None:
    names = {p.removeprefix(SAMPLE_PREFIX) for t in IMAGE_TEMPLATES for p in image_paths(t)}
    drawn = sorted(n for n in names if not n.startswith("shape-"))
    assert len(drawn) >= 5
    for name in drawn:
        file = SAMPLES / name
        with Image.open(file) as image:
            assert image.format == "PNG" and 480 <= image.width <= 800, (name, image.format, image.size)
        assert file.stat().st_size < 60_000, name


@pytest.mark.parametrize("t", TEMPLATES, ids=by_key)
def test_hotkeys_do_not_clash_within_a_template(t: Template) -> None:
    keys = Counter(node.get("hotkey").lower() for node in tree(t) if node.get("hotkey"))
    assert [k for k, n in keys.items() if n > 1] == []


@pytest.mark.parametrize("t", TEMPLATES, ids=by_key)
def test_conditions_name_labels_and_choices_that_exist(t: Template) -> None:
    nodes = tree(t)
    labels = {n.get("value") for n in nodes if n.tag == "Label"}
    for node in nodes:
        if node.get("whenLabelValue"):
            assert node.get("whenLabelValue") in labels
        if node.get("whenChoiceValue"):
            choices = next(n for n in nodes if n.tag == "Choices" and n.get("name") == node.get("whenTagName"))
            assert node.get("whenChoiceValue") in {c.get("value") for c in choices.iter("Choice")}


def test_the_gallery_ships_as_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]

    def shipped(path: Path) -> bool:
        relative = path.relative_to(ROOT).as_posix()
        for package, patterns in package_data.items():
            folder = package.replace(".", "/") + "/"
            if relative.startswith(folder) and any(fnmatch.fnmatch(relative[len(folder):], p) for p in patterns):
                return True
        return False

    assert all(shipped(f) for f in (ROOT / "labelkit" / "config" / "gallery").glob("*.toml"))
    used = {p.removeprefix(SAMPLE_PREFIX) for t in IMAGE_TEMPLATES for p in image_paths(t)}
    assert [name for name in sorted(used) if not shipped(SAMPLES / name)] == []


def test_a_template_is_found_by_key_and_an_unknown_key_raises() -> None:
    assert template("rotated-boxes").group == "Object detection"
    assert 'canRotate="true"' in template("rotated-boxes").config
    with pytest.raises(KeyError):
        template("no-such-template")


ENTRY = """
[[template]]
key = "a"
title = "A"
group = "Text"
description = "d"
config = '''<View><Text name="t" value="$t"/><TextArea name="c" toName="t"/></View>'''
[template.sample]
t = "x"
"""


def test_a_gallery_file_is_read_in_order_and_its_mistakes_are_named() -> None:
    loaded = load_gallery(ENTRY + ENTRY.replace('key = "a"', 'key = "b"'))
    assert [t.key for t in loaded] == ["a", "b"] and loaded[0].sample == {"t": "x"}
    with pytest.raises(ValueError, match="gallery template a: the key is used twice"):
        load_gallery(ENTRY + ENTRY)
    with pytest.raises(ValueError, match="gallery template a: missing title; unknown name"):
        load_gallery(ENTRY.replace("title =", "name ="))
