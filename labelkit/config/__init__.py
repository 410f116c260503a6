"""The label config language (Label Studio's XML): parse, validate, describe."""

from labelkit.config.parser import ControlTag, LabelConfig, Node, ObjectTag, Option, check_config, parse_config

__all__ = ["ControlTag", "LabelConfig", "Node", "ObjectTag", "Option", "check_config", "parse_config"]
