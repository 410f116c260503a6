"""The label config language (Label Studio's XML): parse, validate, describe."""

from labelkit.config.parser import (
    ControlTag,
    LabelConfig,
    Node,
    ObjectTag,
    Option,
    check_config,
    parse_config,
)
from labelkit.config.tags import (
    LABEL_REGION_CONTROLS,
    REGION_CONTROLS,
    TAGS,
    Kind,
    TagSpec,
)


def task_config(xml: str, data: dict | None) -> LabelConfig:
    """The config as one task sees it: a <Repeater> unrolled over the task's data (see
    labelkit.config.repeater); any other config is the project's, parsed once."""
    from labelkit.config import repeater

    if not repeater.has_repeater(xml):
        return parse_config(xml)
    return parse_config(repeater.expand(xml, data or {}))


__all__ = [
    "LABEL_REGION_CONTROLS", "REGION_CONTROLS", "TAGS", "ControlTag", "Kind", "LabelConfig", "Node", "ObjectTag",
    "Option", "TagSpec", "check_config", "parse_config", "task_config",
]
