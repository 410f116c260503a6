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

__all__ = [
    "LABEL_REGION_CONTROLS", "REGION_CONTROLS", "TAGS", "ControlTag", "Kind", "LabelConfig", "Node", "ObjectTag",
    "Option", "TagSpec", "check_config", "parse_config",
]
