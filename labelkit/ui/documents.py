"""Documents of several pages: a <Pdf value="$pdf"> shown page by page (pages rendered
to images on the server with pypdfium2), and an <Image valueList="$pages"> turned into
pages when a control answers per page.

<Choices perItem="true"> on either answers each page on its own: the control's value is
{page index: [choices]}, stored as one Label Studio "choices" item per page with its
"item_index" (labelkit.results.items.per_item)."""

from __future__ import annotations

import io
from pathlib import Path

import streamlit as st

from labelkit.config import ControlTag, LabelConfig, Node, ObjectTag
from labelkit.config.parser import truthy
from labelkit.ui.media import browser_url, image_source
from labelkit.ui.region_panel import image_values

PAGE_WIDTH = 900  # pixels a PDF page is rendered at (the browser scales it to the column)
PAGE_HEIGHT = 520  # pixels of the box a page scrolls in, so the questions under it stay in view
_MANY = 12  # more pages than this are picked from a list, not a row of buttons


def per_item(control: ControlTag) -> bool:
    """A control answered once per page (perItem="true" on Choices)."""
    return control.tag == "Choices" and truthy(control.attrs.get("perItem"))


def answered_per_page(config: LabelConfig, obj: ObjectTag) -> bool:
    return any(per_item(c) and obj.name in c.to_name for c in config.controls.values())


def page_key(prefix: str, obj: str) -> str:
    """The page in view (an index from 0); the image editor pages with the same key."""
    return f"{prefix}:{obj}:page"


# Pages


def pdf_file(obj: ObjectTag, data: dict) -> Path | str | None:
    ref = obj.value
    value = data.get(ref[1:]) if ref.startswith("$") else ref
    return image_source(str(value)) if value else None


def page_count(obj: ObjectTag, data: dict) -> int:
    if obj.tag == "Pdf":
        source = pdf_file(obj, data)
        if not isinstance(source, Path) or not source.exists():
            return 0
        try:
            return _pdf_pages(str(source), source.stat().st_mtime)
        except Exception:  # noqa: BLE001 (pypdfium2 raises its own error for a damaged file)
            return 0
    return len(image_values(data, obj))


@st.cache_data(max_entries=256, show_spinner=False)
def _pdf_pages(path: str, mtime: float) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


@st.cache_data(max_entries=64, show_spinner=False)
def pdf_page_png(path: str, mtime: float, index: int, width: int = PAGE_WIDTH) -> bytes:
    """One page of a PDF as a PNG `width` pixels wide."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[index]
        page_width, _ = page.get_size()
        image = page.render(scale=width / page_width).to_pil()
        page.close()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def pick_page(prefix: str, obj: str, count: int) -> int:
    """Page navigation; returns the page in view (from 0)."""
    key = page_key(prefix, obj)
    if count <= 1:
        return 0
    if count <= _MANY:
        chosen = st.segmented_control(
            "Page", list(range(count)), format_func=lambda i: f"{i + 1}", key=key, default=0,
        )
    else:
        chosen = st.selectbox("Page", list(range(count)), format_func=lambda i: f"{i + 1} of {count}", key=key)
    return min(int(chosen or 0), count - 1)


def current_page(prefix: str, obj: str, count: int) -> int:
    chosen = st.session_state.get(page_key(prefix, obj))
    return min(int(chosen or 0), max(count - 1, 0))


def draw(renderer, node: Node) -> None:
    """A <Pdf>, or an <Image valueList> answered per page: one page at a time."""
    obj = renderer.config.objects.get(node.attrs.get("name", ""))
    if obj is None or not renderer.objects:
        return
    if obj.tag == "Pdf":
        _pdf(renderer, obj)
    else:
        _images(renderer, obj)


def _pdf(renderer, obj: ObjectTag) -> None:
    source = pdf_file(obj, renderer.data)
    if isinstance(source, str):  # a web address: the server does not fetch it
        st.link_button("Open the PDF", source, icon=":material/picture_as_pdf:")
        return
    if source is None or not source.exists():
        st.warning(f"The PDF for <Pdf name={obj.name!r}> cannot be shown here.", icon=":material/broken_image:")
        return
    mtime = source.stat().st_mtime
    try:
        count = _pdf_pages(str(source), mtime)
    except Exception:  # noqa: BLE001 (pypdfium2 raises its own error for a damaged file)
        count = 0
    if count == 0:
        st.warning("This PDF cannot be read, or has no pages.", icon=":material/broken_image:")
        return
    index = pick_page(renderer.prefix, obj.name, count)
    with st.container(height=PAGE_HEIGHT, border=True):
        st.image(pdf_page_png(str(source), mtime, index), caption=f"Page {index + 1} of {count}", width="stretch")


def _images(renderer, obj: ObjectTag) -> None:
    values = image_values(renderer.data, obj)
    if not values:
        st.warning(f"This task has no image for <Image name={obj.name!r}>.", icon=":material/broken_image:")
        return
    index = pick_page(renderer.prefix, obj.name, len(values))
    source = image_source(values[index])
    if source is None:
        st.warning(f"The image {values[index]!r} cannot be shown here.", icon=":material/broken_image:")
        return
    with st.container(height=PAGE_HEIGHT, border=True):
        st.image(browser_url(values[index], st.context.url) or source, caption=f"Page {index + 1} of {len(values)}",
                 width="stretch")


# Answers per page


def per_item_choices(renderer, control: ControlTag) -> None:
    """Choices for the page in view; the other pages' answers listed under them."""
    from labelkit.ui.controls import state_key

    obj = renderer.config.objects.get(control.to_name[0]) if control.to_name else None
    if obj is None:
        return
    count = page_count(obj, renderer.data)
    if not renderer.objects and not _pages_elsewhere(renderer, obj):
        index = pick_page(renderer.prefix, obj.name, count)  # the pages are not drawn: page here
    else:
        index = current_page(renderer.prefix, obj.name, count)
    key = state_key(renderer.prefix, control.name)
    answers = st.session_state.get(key)
    if not isinstance(answers, dict):
        st.session_state[key] = answers = {}
    renderer.caption(control)
    st.markdown(f"Page {index + 1}" + (f" of {count}" if count else ""))
    box = st.container(horizontal=True, gap="small")
    chosen = answers.get(index, [])
    for option in control.options_for(renderer.data):
        selected = option.stored in chosen
        box.button(
            option.value, key=f"{key}:{index}:opt:{option.stored}", type="primary" if selected else "secondary",
            icon=":material/check:" if selected else None, help=option.hint, disabled=renderer.disabled,
            shortcut=renderer._shortcut(option.hotkey), on_click=_toggle,
            args=(key, index, option.stored, control.multiple),
        )
    done = [f"{n + 1}: {', '.join(v)}" for n, v in sorted(answers.items()) if v]
    st.caption(f"Answered pages — {' · '.join(done)}" if done else "No page answered yet.")
    renderer.values[control.name] = {n: list(v) for n, v in answers.items() if v}


def _pages_elsewhere(renderer, obj: ObjectTag) -> bool:
    """Whether the object's own pages are drawn with controls (the image region editor)."""
    from labelkit.ui import image_regions

    return obj.tag == "Image" and renderer.controls and image_regions.has_regions(renderer.config, obj.name)


def _toggle(key: str, index: int, value: str, multiple: bool) -> None:
    from labelkit.ui.controls import toggled

    answers = dict(st.session_state.get(key) or {})
    answers[index] = toggled(list(answers.get(index, [])), value, multiple)
    st.session_state[key] = answers


def show(config: LabelConfig, obj: ObjectTag, data: dict, regions: list[dict]) -> None:
    """PDF pages carry no regions here; per-page answers are listed by controls.show_result."""
