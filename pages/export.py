"""Export: a project's tasks and labels in a training format, for download."""

import time
import uuid

import streamlit as st

from labelkit import exporters
from labelkit.auth.permissions import Capability
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.settings import get_settings
from labelkit.ui.context import page_project, show_error
from labelkit.ui.text import plain

user, project = page_project("export", Capability.PROJECT_EXPORT, "Export", "You can export no project.")

unfit = exporters.unfit_formats(project)
names = [n for n in exporters.FORMATS if n not in unfit]
st.caption(plain(project.title))
fmt = st.radio(
    "Format", names, key="lk_export_format",
    format_func=lambda n: exporters.FORMATS[n].title,
    captions=[exporters.FORMATS[n].description for n in names],
)
if unfit:
    with st.expander(f"{len(unfit)} other format{'s' * (len(unfit) != 1)} do not fit this project's labels"):
        st.markdown("\n".join(f"- **{exporters.FORMATS[n].title}**: {why}" for n, why in unfit.items()))
only = st.radio("Tasks", list(exporters.Only), format_func=lambda o: exporters.ONLY_HELP[o], key="lk_export_only")
with session_scope(write=False) as session:
    people = exporters.annotators(session, user, project.id)
left, right = st.columns(2)
annotator = left.selectbox("Annotations by", [None, *people], format_func=lambda e: e or "Everyone", key="lk_export_annotator")
one_per_task = right.radio(
    "Annotations per task", [False, True], key="lk_export_one", horizontal=True,
    format_func=lambda one: "One: reviewed, else the majority's, else the latest" if one else "All of them",
)
predictions = st.checkbox("Include the models' predictions", value=True, key="lk_export_predictions")
with_images = exporters.FORMATS[fmt].packs_images and st.checkbox(
    "Pack the images into the archive", value=False, key="lk_export_images",
    help="Each labeled image is read (uploaded, from the project's S3 storage or a public URL) and put in the ZIP "
         "beside its labels; COCO becomes a ZIP of annotations.json and images/. An image that cannot be read is "
         "listed in missing-images.txt in the archive.",
)
with session_scope(write=False) as session:
    count = exporters.count_tasks(session, user, project.id, only, annotator)
st.caption(f"{count} task{'s' * (count != 1)} will be exported.")

prepared = st.session_state.get("lk_export_file")
if st.button("Prepare the export", type="primary", icon=":material/package_2:", disabled=count == 0):
    folder = get_settings().export_dir
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        if old.stat().st_mtime < time.time() - 86400:
            old.unlink(missing_ok=True)
    path = folder / f"{uuid.uuid4().hex}.part"
    bar = st.progress(0.0, text="Exporting…")
    try:
        with session_scope(write=False) as session, path.open("wb") as out:
            report = exporters.export_project(
                session, user, project.id, fmt, out, only,
                progress=lambda done, total: bar.progress(done / max(total, 1), text=f"{done} of {total} tasks"),
                annotator=annotator, predictions=predictions, one_per_task=one_per_task, with_images=with_images,
            )
    except LabelkitError as e:
        bar.empty()
        path.unlink(missing_ok=True)
        show_error(e)
    else:
        packed = f", with {report.images} image{'s' * (report.images != 1)} in the archive" if report.with_images else ""
        bar.progress(1.0, text=f"{report.tasks} tasks exported{packed}")
        prepared = {"path": str(path), "name": report.file_name, "mime": report.mime,
                    "project": project.id, "format": fmt, "only": str(only),
                    "options": (annotator, predictions, one_per_task, with_images), "missing": report.missing_images}
        st.session_state["lk_export_file"] = prepared

# Only the file made with the options on the page now.
chosen = (project.id, fmt, str(only), (annotator, predictions, one_per_task, with_images))
if prepared and (prepared["project"], prepared.get("format"), prepared.get("only"), prepared.get("options")) == chosen:
    from pathlib import Path

    file = Path(prepared["path"])
    if file.exists():
        st.download_button(
            f"Download {prepared['name']} ({file.stat().st_size / 1024:,.1f} KB)", data=file.read_bytes(),
            file_name=prepared["name"], mime=prepared["mime"], icon=":material/download:", type="primary",
        )
        if prepared.get("missing"):
            st.warning(f"{prepared['missing']} image{'s' * (prepared['missing'] != 1)} could not be read, so the archive has "
                       "their labels without them; missing-images.txt in it says which and why.")
st.caption("From a terminal: `labelkit export PROJECT --format FORMAT --out FILE --only all|completed|accepted "
           "[--annotator EMAIL] [--no-predictions] [--one-per-task] [--with-images]` writes the same file.")
