"""Label Studio's tag language: which tags exist, what kind each is, which attributes the
ones with an interface here accept. Tags Label Studio has but labelkit cannot label yet
parse, and are reported as "not supported yet"."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    LAYOUT = "layout"  # View, Header, Style...
    OBJECT = "object"  # what is labeled: Text, Image...
    CONTROL = "control"  # how it is labeled: Choices, TextArea...
    OPTION = "option"  # children of controls: Choice, Label...


# Every tag of Label Studio's tag reference, by kind.
KINDS: dict[str, Kind] = {
    **dict.fromkeys(
        ["View", "Header", "Style", "Collapse", "Panel", "Filter", "Shortcut", "Repeater", "Markdown"], Kind.LAYOUT
    ),
    **dict.fromkeys(
        [
            "Text", "Image", "HyperText", "Audio", "AudioPlus", "Video", "Paragraphs", "Table", "TimeSeries",
            "Pdf", "List", "Chat", "MarkdownText",
        ],
        Kind.OBJECT,
    ),
    **dict.fromkeys(
        [
            "Choices", "Labels", "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon", "KeyPointLabels",
            "KeyPoint", "BrushLabels", "Brush", "EllipseLabels", "Ellipse", "TextArea", "Rating", "Number",
            "DateTime", "Taxonomy", "Relations", "Pairwise", "Ranker", "HyperTextLabels", "ParagraphLabels",
            "TimeSeriesLabels", "VideoRectangle", "TimelineLabels", "MagicWand", "BitmaskLabels", "Bitmask",
            "VectorLabels", "Vector", "Custom",
        ],
        Kind.CONTROL,
    ),
    **dict.fromkeys(["Choice", "Label", "Relation", "Bucket", "Channel", "Item"], Kind.OPTION),
}

_CONDITIONAL = {"visibleWhen", "whenTagName", "whenLabelValue", "whenChoiceValue", "whenRole"}
_COMMON = {"style", "className", "idAttr"}
_CONTROL = _CONDITIONAL | _COMMON | {"name", "toName", "required", "requiredMessage", "perRegion", "perItem"}

# Tags with an interface here, and the attributes they accept. Any other attribute on
# these tags is an error; tags not listed here are "not supported yet".
SUPPORTED: dict[str, set[str]] = {
    "View": _COMMON | _CONDITIONAL,
    "Header": _COMMON | _CONDITIONAL | {"value", "size", "underline", "name"},
    "Style": set(),
    "Text": _COMMON
    | {
        "name", "value", "valueType", "saveTextResult", "encoding", "selectionEnabled", "clickableLinks",
        "highlightColor", "showLabels", "granularity", "inline",
    },
    "Image": _COMMON
    | {
        "name", "value", "valueList", "width", "maxWidth", "height", "maxHeight", "zoom", "negativeZoom",
        "zoomBy", "grid", "gridSize", "gridColor", "zoomControl", "brightnessControl", "contrastControl",
        "rotateControl", "crosshair", "horizontalAlignment", "verticalAlignment", "defaultZoom", "crossOrigin",
        "smoothing", "rotation",
    },
    "Choices": _CONTROL | {"choice", "showInline", "value", "allowNested", "layout", "selection", "hotkey"},
    "Choice": _COMMON | {"value", "selected", "alias", "hotkey", "html", "hint", "background"},
    "TextArea": _CONTROL
    | {
        "value", "label", "placeholder", "maxSubmissions", "editable", "transcription", "displayMode", "rows",
        "showSubmitButton", "skipDuplicates",
    },
    "Rating": _CONTROL | {"maxRating", "icon", "size", "defaultValue", "hotkey"},
}

# Controls whose result is one value per task (no regions); the UI and results.py know them.
CLASSIFICATION_CONTROLS = {"Choices", "TextArea", "Rating"}
