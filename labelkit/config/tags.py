"""Label Studio's tag language in one table: every tag of its tag reference, its kind and
the attributes it documents, each with the type the docs give. The bottom of this
module says which tags have an interface here; the others parse and are reported as
"not supported yet".

Source of the facts: Label Studio's tag reference (docs/source/tags/*.md in
HumanSignal/label-studio). Attributes are matched as the docs spell them; where Label
Studio's own template library spells one differently, `spellings` maps that spelling to
the documented one, and attributes the templates use but the docs miss carry a comment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    LAYOUT = "layout"  # visual only: View, Header, Style...
    OBJECT = "object"  # what is labeled: Text, Image...
    CONTROL = "control"  # how it is labeled: Choices, RectangleLabels...
    OPTION = "option"  # a part of another tag: Choice, Label, Channel...


# Attribute types. A tuple lists the only values the docs allow.
STRING, BOOLEAN, NUMBER, INTEGER = "string", "boolean", "number", "integer"
AttrType = str | tuple[str, ...]


@dataclass(frozen=True)
class TagSpec:
    kind: Kind
    attributes: Mapping[str, AttrType]
    needs: tuple[str, ...] = ()  # attributes it cannot do without; "a|b" means either
    parents: tuple[str, ...] = ()  # the tags it must sit in (View wrappers aside); () = anywhere
    options: tuple[str, ...] = ()  # the child tags a control offers as its options
    spellings: Mapping[str, str] = field(default_factory=dict)  # template spelling -> documented


VISIBLE_WHEN = ("region-selected", "no-region-selected", "choice-selected", "choice-unselected")
_VISIBILITY = {
    "visibleWhen": VISIBLE_WHEN, "whenTagName": STRING, "whenLabelValue": STRING, "whenChoiceValue": STRING,
    "whenRole": STRING,  # not in the docs; Label Studio's templates show parts by the person's role
}
# Not in every tag's table, but Label Studio's templates style objects and controls too.
_CSS = {"style": STRING, "className": STRING}
# Accepted by labelkit before this table was written from the docs; kept so that the
# configs of existing projects keep parsing.
_EARLIER = {"idAttr": STRING}
_CONTROL = {
    "name": STRING, "toName": STRING, "required": BOOLEAN, "requiredMessage": STRING,
    "perRegion": BOOLEAN, "perItem": BOOLEAN, **_VISIBILITY, **_CSS,
}
_OBJECT = {"name": STRING, "value": STRING, **_CSS}
_LABELS = {"choice": ("single", "multiple"), "maxUsages": NUMBER, "showInline": BOOLEAN, "value": STRING}
_SHAPE = {"opacity": NUMBER, "fillColor": STRING, "strokeColor": STRING, "strokeWidth": NUMBER}
_SMART = {"smart": BOOLEAN, "smartOnly": BOOLEAN}
_SNAP = {"snap": ("pixel", "none")}
_POINTS = {"pointSize": ("small", "medium", "large"), "pointStyle": ("rectangle", "circle")}
_VECTOR = {
    "closable": BOOLEAN, "skeleton": BOOLEAN, "curves": BOOLEAN,  # curves: the docs' own examples use it
    "minPoints": STRING, "maxPoints": STRING,  # a number or "none"
    "pointSizeEnabled": NUMBER, "pointSizeDisabled": NUMBER,
}
# Label Studio's editor builds each XLabels tag from its shape tag X, so both take the
# shape's attributes (the docs list smart only for X; the SAM templates set it on XLabels).
_RECTANGLE = {**_SHAPE, "canRotate": BOOLEAN, **_SMART, **_SNAP}
_POLYGON = {**_SHAPE, **_POINTS, **_SMART, **_SNAP}
_KEYPOINT = {**_SHAPE, **_SMART, **_SNAP}
_ELLIPSE = {**_SHAPE, "canRotate": BOOLEAN, **_SMART}
_CUBE = {**_SHAPE, "canRotate": BOOLEAN, **_SMART}
_GRANULARITY = ("symbol", "word", "sentence", "paragraph")
_IMAGE = {
    "valueList": STRING, "smoothing": BOOLEAN, "width": STRING, "maxWidth": STRING, "zoom": BOOLEAN,
    "negativeZoom": BOOLEAN, "zoomBy": NUMBER, "grid": BOOLEAN, "gridSize": NUMBER, "gridColor": STRING,
    "zoomControl": BOOLEAN, "brightnessControl": BOOLEAN, "contrastControl": BOOLEAN, "rotateControl": BOOLEAN,
    "crosshair": BOOLEAN, "horizontalAlignment": ("left", "center", "right"),
    "verticalAlignment": ("top", "center", "bottom"), "defaultZoom": ("auto", "original", "fit"),
    "crossOrigin": ("none", "anonymous", "use-credentials"),
}
_AUDIO = {
    "defaultspeed": STRING, "defaultscale": STRING, "defaultzoom": STRING, "defaultvolume": STRING,
    "hotkey": STRING, "sync": STRING, "height": STRING, "waveheight": STRING, "spectrogram": BOOLEAN,
    "splitchannels": BOOLEAN, "decoder": ("webaudio", "ffmpeg", "none"), "player": ("html5", "webaudio"),
    "zoom": STRING, "speed": STRING,  # not in the docs; Label Studio's audio templates use them
}


def _layout(*, needs: tuple[str, ...] = (), parents: tuple[str, ...] = (), **attributes: AttrType) -> TagSpec:
    return TagSpec(Kind.LAYOUT, {**_CSS, **attributes}, needs=needs, parents=parents)


def _object(*, needs: tuple[str, ...] = ("name", "value"), spellings: Mapping[str, str] | None = None,
            **attributes: AttrType) -> TagSpec:
    return TagSpec(Kind.OBJECT, {**_OBJECT, **attributes}, needs=needs, spellings=spellings or {})


def _control(*, options: tuple[str, ...] = (), spellings: Mapping[str, str] | None = None,
             **attributes: AttrType) -> TagSpec:
    return TagSpec(
        Kind.CONTROL, {**_CONTROL, **attributes}, needs=("name", "toName"), options=options, spellings=spellings or {}
    )


def _labels(**attributes: AttrType) -> TagSpec:
    return _control(options=("Label",), **_LABELS, **attributes)


def _option(parents: tuple[str, ...], *, needs: tuple[str, ...] = ("value",), **attributes: AttrType) -> TagSpec:
    return TagSpec(Kind.OPTION, attributes, needs=needs, parents=parents)


# Controls whose <Label> children name the region's class.
LABELS_FAMILY = (
    "Labels", "RectangleLabels", "PolygonLabels", "KeyPointLabels", "EllipseLabels", "BrushLabels",
    "BitmaskLabels", "HyperTextLabels", "ParagraphLabels", "TimeSeriesLabels", "TimelineLabels",
    "VectorLabels", "VideoVectorLabels", "CubeLabels", "OcrLabels",
)

TAGS: dict[str, TagSpec] = {
    # Visual tags
    "View": _layout(display=("block", "inline"), idAttr=STRING, **_VISIBILITY),
    "Header": _layout(
        value=STRING, size=NUMBER, underline=BOOLEAN,
        **_EARLIER, **_VISIBILITY,  # accepted by labelkit before
        name=STRING,  # not in the docs; a community template names a header
    ),
    "Style": TagSpec(Kind.LAYOUT, {}),  # its text is the CSS
    "Collapse": _layout(accordion=BOOLEAN, bordered=STRING, open=BOOLEAN),
    # Panel has no page of its own: the Collapse docs show it with a value (its title).
    "Panel": _layout(parents=("Collapse",), value=STRING),
    "Filter": _layout(
        name=STRING, toName=STRING, casesensetive=BOOLEAN, cleanup=BOOLEAN, placeholder=STRING,
        minlength=NUMBER, hotkey=STRING,
    ),
    "Shortcut": _layout(
        needs=("value",), parents=("TextArea",), value=STRING, alias=STRING, hotkey=STRING, background=STRING
    ),
    "Repeater": _layout(needs=("on",), on=STRING, indexFlag=STRING, mode=("list", "pagination")),
    "Markdown": _layout(needs=("value",), value=STRING, idAttr=STRING, **_VISIBILITY),
    # Object tags
    "Text": _object(
        **_EARLIER, clickableLinks=BOOLEAN, inline=BOOLEAN,  # accepted by labelkit before, like _EARLIER
        valueType=("url", "text"), saveTextResult=("yes", "no"), encoding=("none", "base64", "base64unicode"),
        selectionEnabled=BOOLEAN, highlightColor=STRING, showLabels=BOOLEAN, granularity=_GRANULARITY,
    ),
    "HyperText": _object(
        valueType=("url", "text"), inline=BOOLEAN, saveTextResult=("yes", "no"),
        encoding=("none", "base64", "base64unicode"), selectionEnabled=BOOLEAN, clickableLinks=BOOLEAN,
        highlightColor=STRING, showLabels=BOOLEAN, granularity=_GRANULARITY,
    ),
    "HTML": _object(),  # the old name of HyperText, still in the reference
    "Image": _object(
        needs=("name", "value|valueList"), **_IMAGE,
        inline=BOOLEAN,  # not in the docs; an older Label Studio template sets it
        **_EARLIER, height=STRING, maxHeight=STRING, rotation=NUMBER,  # accepted by labelkit before
    ),
    "Object3D": _object(needs=("name", "value|valueList"), **_IMAGE),
    "Audio": _object(**_AUDIO),
    "AudioPlus": _object(**_AUDIO, hasZoom=BOOLEAN, regionBG=STRING, selectedRegionBG=STRING),
    "Video": _object(
        frameRate=NUMBER, sync=STRING, muted=BOOLEAN, height=NUMBER, timelineHeight=NUMBER,
        defaultPlaybackSpeed=NUMBER, minPlaybackSpeed=NUMBER, spellings={"framerate": "frameRate"},
    ),
    "Paragraphs": _object(
        valueType=("json", "url"), audioUrl=STRING, sync=STRING, showPlayer=BOOLEAN,
        saveTextResult=("no", "yes"), layout=("none", "dialogue"), nameKey=STRING, textKey=STRING,
        contextScroll=BOOLEAN, spellings={"contextscroll": "contextScroll"},
        granularity=_GRANULARITY,  # not in the docs; Label Studio's dialogue templates set it
    ),
    "Table": _object(valueType=STRING),
    "TimeSeries": _object(
        valueType=("url", "json"), sync=STRING, cursorColor=STRING, timeColumn=STRING, timeFormat=STRING,
        timeDisplayFormat=STRING, durationDisplayFormat=STRING, sep=STRING, overviewChannels=STRING,
        overviewWidth=STRING, fixedScale=BOOLEAN,
    ),
    "Channel": _option(
        ("TimeSeries", "MultiChannel"), needs=("column",), column=STRING, legend=STRING, units=STRING,
        displayFormat=STRING, height=NUMBER, strokeColor=STRING, strokeWidth=NUMBER, markerColor=STRING,
        markerSize=NUMBER, markerSymbol=STRING,  # the docs type markerSymbol a number; its default is "circle"
        timeRange=STRING, dataRange=STRING, showAxis=STRING, fixedScale=BOOLEAN,
    ),
    "MultiChannel": _option(
        ("TimeSeries",), needs=(), height=NUMBER, showAxis=BOOLEAN, showYAxis=BOOLEAN, fixedScale=BOOLEAN
    ),
    "Pdf": _object(),
    "List": _object(title=STRING),
    "Chat": _object(
        messageroles=STRING, editable=STRING,  # editable: true, false or a list of roles
        minmessages=NUMBER, maxmessages=NUMBER, llm=STRING,
        toName=STRING,  # not in the docs; a chat template points the chat at itself
        spellings={"minMessages": "minmessages", "maxMessages": "maxmessages"},
    ),
    # ReactCode reads task data through `data`, not `value`, and may name itself in toName.
    "ReactCode": _object(
        needs=("name",), toName=STRING, data=STRING, inputs=STRING, outputs=STRING, classname=STRING
    ),
    # Control tags
    "Choices": _control(
        **_EARLIER, hotkey=STRING,  # accepted by labelkit before
        options=("Choice",), choice=("single", "single-radio", "multiple"), showInline=BOOLEAN, value=STRING,
        allowNested=BOOLEAN, layout=("select", "inline", "vertical"),
        selection=STRING,  # not in the docs; Label Studio's ranking templates set it
        spellings={"showInLine": "showInline", "allownested": "allowNested"},
    ),
    "Taxonomy": _control(
        options=("Choice",), apiUrl=STRING, leafsOnly=BOOLEAN, showFullPath=BOOLEAN, pathSeparator=STRING,
        maxUsages=NUMBER, placeholder=STRING, labeling=BOOLEAN, legacy=BOOLEAN,
        maxWidth=STRING, minWidth=STRING,  # typed number in the docs, but given with units ("500px")
    ),
    "TextArea": _control(
        **_EARLIER, label=STRING,  # accepted by labelkit before
        options=("Shortcut",), value=STRING, placeholder=STRING, maxSubmissions=STRING, editable=BOOLEAN,
        transcription=BOOLEAN, skipDuplicates=BOOLEAN, displayMode=("tag", "region-list"), rows=NUMBER,
        showSubmitButton=BOOLEAN,
    ),
    "Rating": _control(
        **_EARLIER,
        maxRating=NUMBER, defaultValue=NUMBER, size=("small", "medium", "large"), hotkey=STRING,
        icon=STRING,  # not in the docs; Label Studio's rating templates set icon="star"
    ),
    "Number": _control(min=NUMBER, max=NUMBER, step=NUMBER, defaultValue=NUMBER, hotkey=STRING, slider=BOOLEAN),
    "DateTime": _control(only=STRING, format=STRING, min=STRING, max=STRING),
    "Labels": _labels(
        **_SHAPE,
        zoom=STRING, hotkey=STRING, allowEmpty=BOOLEAN,  # not in the docs; Label Studio's templates set them
    ),
    "RectangleLabels": _labels(**_RECTANGLE),
    "Rectangle": _control(**_RECTANGLE),
    "PolygonLabels": _labels(**_POLYGON),
    "Polygon": _control(**_POLYGON),
    "KeyPointLabels": _labels(**_KEYPOINT),
    "KeyPoint": _control(**_KEYPOINT),
    "EllipseLabels": _labels(**_ELLIPSE),
    "Ellipse": _control(**_ELLIPSE),
    "BrushLabels": _labels(**_SMART),
    "Brush": _control(**_LABELS, **_SMART),
    "BitmaskLabels": _labels(**_SMART),
    "Bitmask": _control(**_LABELS, **_SMART),  # registered by Label Studio's editor, no docs page yet
    "MagicWand": _control(opacity=NUMBER, blurradius=NUMBER, defaultthreshold=NUMBER),
    "HyperTextLabels": _labels(),
    "ParagraphLabels": _labels(),
    "TimeSeriesLabels": _labels(**_SHAPE),
    "TimelineLabels": _control(options=("Label",)),
    "VideoRectangle": _control(),
    "VectorLabels": _labels(
        **_SHAPE, **_POINTS, **_SMART, **_SNAP, **_VECTOR,
        spellings={"pointsizeenabled": "pointSizeEnabled", "pointsizedisabled": "pointSizeDisabled"},
    ),
    "Vector": _control(**_SHAPE, **_POINTS, **_SMART, **_SNAP, **_VECTOR),
    "VideoVector": _control(**_SHAPE, **_POINTS, **_SNAP, **_VECTOR),
    "VideoVectorLabels": _labels(**_SHAPE, **_POINTS, **_VECTOR),
    "Cube": _control(**_CUBE),
    "CubeLabels": _labels(**_CUBE),
    "OcrLabels": _labels(),  # the Pdf docs describe it: labeled boxes on PDF pages, RectangleLabels' parameters
    "Relations": TagSpec(
        Kind.CONTROL, {"name": STRING, "choice": ("single", "multiple"), **_CSS}, options=("Relation",)
    ),
    "Pairwise": _control(selectionStyle=STRING),
    "Ranker": _control(options=("Bucket",)),
    # Option tags
    "Choice": _option(
        ("Choices", "Taxonomy", "Choice"), value=STRING, selected=BOOLEAN, alias=STRING, style=STRING,
        hotkey=STRING, html=STRING, hint=STRING, color=STRING,
        background=STRING,  # not in the docs; Label Studio's templates color choices
        className=STRING, **_EARLIER,  # accepted by labelkit before
    ),
    "Label": _option(
        LABELS_FAMILY, value=STRING, selected=BOOLEAN, maxUsages=NUMBER, hint=STRING, hotkey=STRING,
        alias=STRING, showAlias=BOOLEAN, aliasStyle=STRING, size=STRING, background=STRING,
        selectedColor=STRING, granularity=("symbol", "word"), html=STRING, category=INTEGER,
        maxUsage=NUMBER,  # a misspelling of maxUsages in Label Studio's question-answering template
        smart=BOOLEAN, showInline=BOOLEAN,  # not in the docs; Label Studio's SAM templates set them
    ),
    "Relation": _option(("Relations",), value=STRING, background=STRING),
    "Bucket": _option(("Ranker", "List"), needs=("name", "title"), name=STRING, title=STRING, default=BOOLEAN),
}

# Spellings as Label Studio's reference titles them, for tags matched case-insensitively.
CANONICAL: dict[str, str] = {tag.lower(): tag for tag in TAGS}


# What has an interface here. Everything else parses and is reported "not supported yet".

SUPPORTED_LAYOUT = frozenset({"View", "Header", "Style", "Collapse", "Panel", "Filter", "Repeater"})
SUPPORTED_OBJECTS = frozenset({
    "Text", "Image", "HyperText", "HTML", "Paragraphs", "Chat", "Table", "List", "Audio", "AudioPlus", "Video",
    "TimeSeries", "Pdf",
})
SUPPORTED_OPTIONS = frozenset({"Choice", "Label", "Relation", "Channel", "MultiChannel", "Bucket"})
# One value per task (or per region with perRegion), with any object.
CLASSIFICATION_CONTROLS = frozenset({"Choices", "TextArea", "Rating", "Number", "DateTime", "Taxonomy", "Ranker", "Pairwise"})
# Region controls, and the Label Studio result type each writes.
REGION_CONTROLS: dict[str, str] = {
    "RectangleLabels": "rectanglelabels", "Rectangle": "rectangle",
    "PolygonLabels": "polygonlabels", "Polygon": "polygon",
    "KeyPointLabels": "keypointlabels", "KeyPoint": "keypoint",
    "EllipseLabels": "ellipselabels", "Ellipse": "ellipse",
    "BrushLabels": "brushlabels", "Brush": "brush",
    "Labels": "labels",
    "HyperTextLabels": "hypertextlabels", "ParagraphLabels": "paragraphlabels",
    "TimeSeriesLabels": "timeserieslabels", "TimelineLabels": "timelinelabels", "VideoRectangle": "videorectangle",
}
# Region controls whose <Label> options give a region its class.
LABEL_REGION_CONTROLS = (
    "RectangleLabels", "PolygonLabels", "KeyPointLabels", "EllipseLabels", "BrushLabels", "Labels",
    "HyperTextLabels", "ParagraphLabels", "TimeSeriesLabels", "TimelineLabels",
)
_IMAGE_TOOLS = tuple(t for t in REGION_CONTROLS if t in (
    "RectangleLabels", "Rectangle", "PolygonLabels", "Polygon", "KeyPointLabels", "KeyPoint",
    "EllipseLabels", "Ellipse", "BrushLabels", "Brush", "Labels",
))
# The region controls each object takes. On a Video, <Labels> name VideoRectangle's boxes.
REGION_TOOLS: dict[str, tuple[str, ...]] = {
    "Image": _IMAGE_TOOLS,
    "Text": ("Labels",),
    "HyperText": ("HyperTextLabels", "Labels"),
    "HTML": ("HyperTextLabels", "Labels"),
    "Paragraphs": ("ParagraphLabels",),
    "Audio": ("Labels",),
    "AudioPlus": ("Labels",),
    "TimeSeries": ("TimeSeriesLabels",),
    "Video": ("VideoRectangle", "Labels", "TimelineLabels"),
}


def not_supported(tag: str, targets: Sequence[str] = (), *, image_regions: bool = False, dynamic: bool = False) -> str | None:
    """What about this tag cannot be labeled here yet ("<Cube>", "<Labels> on <Table>"), or
    None when it can. `targets` are the tags its toName names; `image_regions` says whether
    the config has a region control (whose regions Relations relate); `dynamic` whether
    its options come from task data."""
    if tag not in SUPPORTED_LAYOUT | SUPPORTED_OBJECTS | SUPPORTED_OPTIONS | CLASSIFICATION_CONTROLS | {
        *REGION_CONTROLS, "Relations",
    }:
        return f"<{tag}>"
    if tag in REGION_CONTROLS:
        elsewhere = [t for t in targets if tag not in REGION_TOOLS.get(t, ())]
        if elsewhere:
            return f"<{tag}> on <{elsewhere[0]}>"
        kinds = sorted(set(targets), key=list(targets).index)
        if len(kinds) > 1:
            return f"<{tag}> on {' and '.join(f'<{k}>' for k in kinds)} at once"
    if tag == "Relations" and not image_regions:
        return "<Relations> without regions to relate"
    if dynamic and tag not in ("Choices", *LABEL_REGION_CONTROLS):
        return f"<{tag}> with options from task data or a URL"
    return None
