"""Label Studio's own template library, pasted as it is: every template of its library
(read from its published wheel, not copied here) passes `check_config` and draws with its
sample task, except the enterprise-only tags we name.

The wheel is fetched once with `pip download` (PyPI) into ~/.cache/labelkit-tests, or
taken from LABELKIT_TEST_LS_WHEEL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from labelkit.config import parse_config
from labelkit.errors import InvalidInput

# Page tests: what a page draws and wires; the SQL under it is tested on both databases in tests/unit.
pytestmark = pytest.mark.one_database

VERSION = "1.23.2"
# Tags of Label Studio's paid edition that have no interface here (its PDF OCR template).
ENTERPRISE_ONLY = {"<OcrLabels>"}
_SAMPLE = re.compile(r"<!--\s*(\{.*\})\s*-->", re.DOTALL)


def _wheel() -> Path:
    given = os.environ.get("LABELKIT_TEST_LS_WHEEL")
    if given:
        return Path(given)
    folder = Path.home() / ".cache" / "labelkit-tests"
    found = sorted(folder.glob(f"label_studio-{VERSION}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
                        f"label-studio=={VERSION}"], check=True, timeout=600)
        found = sorted(folder.glob(f"label_studio-{VERSION}-*.whl"))
    return found[0]


def _templates() -> list[tuple[str, str, str, dict]]:
    """(key, type, config, sample data) of every template in the library."""
    found = []
    with zipfile.ZipFile(_wheel()) as wheel:
        for name in sorted(n for n in wheel.namelist() if "/annotation_templates/" in n and n.endswith("config.yml")):
            doc = yaml.safe_load(wheel.read(name))
            key = "/".join(name.split("/annotation_templates/")[1].split("/")[:-1])
            found.append((key, str(doc.get("type", "community")), doc["config"], _sample(doc["config"])))
    return found


def _sample(config: str) -> dict:
    """The task data a template's comment gives, else words for every $key it reads."""
    data: dict = {}
    match = _SAMPLE.search(config)
    if match:
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError:
            data = {}
        data = data.get("data", data) if isinstance(data, dict) else {}
    try:
        keys = parse_config(config).data_keys
    except InvalidInput:
        keys = []
    return {**dict.fromkeys(keys, "A sample sentence to label."), **data}


def _draw(config_xml: str, data: dict) -> None:
    from labelkit.config import check_config, task_config
    from labelkit.ui import controls, labeling

    check_config(config_xml)
    config = task_config(config_xml, data)
    controls.seed("ls", config, {})
    labeling.render(config, data, "ls")


@pytest.fixture(scope="module")
def library() -> list[tuple[str, str, str, dict]]:
    return _templates()


def test_every_template_of_label_studios_library_can_be_labeled_here(library, settings) -> None:
    assert len(library) >= 60, "the library was read"
    refused, crashed = {}, {}
    for key, kind, config, data in library:
        try:
            parsed = parse_config(config)
        except InvalidInput as e:
            refused[key] = str(e)
            continue
        if parsed.unsupported:
            if kind == "enterprise" and set(parsed.unsupported) <= ENTERPRISE_ONLY:
                continue
            refused[key] = ", ".join(parsed.unsupported)
            continue
        at = AppTest.from_function(_draw, args=(config, data), default_timeout=60)
        at.run()
        if at.exception:
            crashed[key] = at.exception[0].value
    assert refused == {}
    assert crashed == {}
