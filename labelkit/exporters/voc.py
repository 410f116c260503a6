"""Pascal VOC detection (http://host.robots.ox.ac.uk/pascal/VOC/voc2012/htmldoc/), as
CVAT, Datumaro and torchvision's VOCDetection read it: a ZIP with

    Annotations/<stem>.xml     one per image of a labeled task:
        <annotation><folder>JPEGImages</folder><filename>street.png</filename>
          <source><database>labelkit</database></source>
          <size><width>200</width><height>100</height><depth>3</depth></size><segmented>0</segmented>
          <object><name>Car</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
            <bndbox><xmin>20</xmin><ymin>20</ymin><xmax>80</xmax><ymax>60</ymax></bndbox></object>
        </annotation>
    ImageSets/Main/default.txt the stems, one a line (the subset "default", as CVAT names it)
    labelmap.txt               the class names (CVAT's "name:color:parts:actions" lines)
    JPEGImages/<file>          the task's image, when the user asks for the images (with_images;
                               read by labelkit.exporters.images; missing-images.txt lists any unread)

Boxes only: a rectangle (a rotated one: the box around it), a polygon or an ellipse as the
box around it, in integer pixels (rounded, 0-based as Label Studio and CVAT write them), clipped to
the image; `truncated` is 1 when the region reached past the image's edge. Each image gets
the regions of one annotation of its task (accepted, else the majority's, else the latest,
as labelkit.exporters.choose picks it); a task without one is left out.
"""

from __future__ import annotations

import math
import posixpath
import shutil
import tempfile
import zipfile
from typing import BinaryIO
from xml.etree import ElementTree as ET

from labelkit.config import LabelConfig
from labelkit.exporters.base import ExportContext, Exporter, zip_entry
from labelkit.exporters.coco import (
    LabeledImage,
    bounds,
    category_names,
    class_of,
    labeled_images,
    packed_image,
    polygon_points,
    refusal,
)
from labelkit.results.geometry import box_corners, box_in_pixels, ellipse_bounds, ellipse_in_pixels

_TOOLS = ("RectangleLabels", "Rectangle", "PolygonLabels", "Polygon", "EllipseLabels", "Ellipse")
CLASS_CONTROLS = ("RectangleLabels", "PolygonLabels", "EllipseLabels", "Labels")
# Points whose box is the region's box, in pixels.
_OUTLINES = {
    "rectangle": lambda value, width, height: box_corners(box_in_pixels(value, width, height)),
    "polygon": polygon_points,
    "ellipse": lambda value, width, height: ellipse_bounds(ellipse_in_pixels(value, width, height)),
}
SHAPES = tuple(_OUTLINES)


def box(region: dict, image: LabeledImage) -> tuple[list[int], bool] | None:
    """[xmin, ymin, xmax, ymax] in pixels clipped to the image, and whether clipping cut
    it; None when the region has no box here."""
    width, height = image.width, image.height
    if not width or not height:
        return None
    outline = _OUTLINES[region["shape"]]
    try:
        points = [(float(x), float(y)) for x, y in outline(region["geometry"], width, height)]
    except (KeyError, TypeError, ValueError, IndexError):
        return None  # a malformed region is left out rather than failing the export
    if not points or not all(math.isfinite(v) for p in points for v in p):
        return None
    left, top, right, bottom = bounds(points)
    clipped = [min(limit, max(0, round(v))) for v, limit in ((left, width), (top, height), (right, width), (bottom, height))]
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        return None  # nothing of it left on the image
    truncated = left < 0 or top < 0 or right > width or bottom > height
    return clipped, truncated


def _add(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def annotation_xml(image: LabeledImage, classes: list[str]) -> bytes:
    root = ET.Element("annotation")
    _add(root, "folder", "JPEGImages")
    _add(root, "filename", image.name)
    _add(_add(root, "source"), "database", "labelkit")
    size = _add(root, "size")
    _add(size, "width", image.width)
    _add(size, "height", image.height)
    _add(size, "depth", 3)
    _add(root, "segmented", 0)
    index = {name: i for i, name in enumerate(classes)}
    for region in image.regions:
        found = class_of(region, index)
        drawn = box(region, image) if found is not None else None
        if drawn is None:
            continue
        (xmin, ymin, xmax, ymax), truncated = drawn
        obj = _add(root, "object")
        _add(obj, "name", classes[found])
        _add(obj, "pose", "Unspecified")
        _add(obj, "truncated", int(truncated))
        _add(obj, "difficult", 0)
        bndbox = _add(obj, "bndbox")
        for tag, value in (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax)):
            _add(bndbox, tag, value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def labelmap(classes: list[str]) -> str:
    # CVAT reads ':' as its separator; a class name cannot carry one there.
    return "# label:color_rgb:parts:actions\n" + "".join(f"{n.replace(':', '_')}:::\n" for n in classes)


def write(ctx: ExportContext, out: BinaryIO) -> None:
    classes = category_names(ctx.config, CLASS_CONTROLS)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive, tempfile.TemporaryFile() as stems:
        archive.writestr(zip_entry("labelmap.txt"), labelmap(classes))
        for image in labeled_images(ctx, SHAPES):
            stem = posixpath.splitext(image.name)[0]
            if ctx.images is not None:  # packed first: the XML names the file as packed, with its size
                image = packed_image(ctx, archive, "JPEGImages", image)
            archive.writestr(zip_entry(f"Annotations/{stem}.xml"), annotation_xml(image, classes))
            stems.write(f"{stem}\n".encode())
        stems.seek(0)
        with archive.open(zip_entry("ImageSets/Main/default.txt"), "w") as listing:
            shutil.copyfileobj(stems, listing)
        if ctx.images is not None:
            ctx.images.finish(archive)


def supports(config: LabelConfig) -> str | None:
    return refusal("Pascal VOC", config, _TOOLS, "boxes, polygons or ellipses", CLASS_CONTROLS)


EXPORTERS = [
    Exporter("VOC", "Pascal VOC", "zip", "application/zip", write,
             "A ZIP of Pascal VOC XML (Annotations/<image>.xml, ImageSets/Main/default.txt, labelmap.txt and, when "
             "packed, the images in JPEGImages): boxes in integer pixels, polygons, ellipses and rotated boxes as the "
             "box around them; one annotation per labeled task (accepted, else the majority's, else the latest).",
             supports, packs_images=True),
]
