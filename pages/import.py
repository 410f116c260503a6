"""Import: upload task files; every row is checked against the config, a bad file changes nothing."""

import streamlit as st

from labelkit import importers
from labelkit.auth.permissions import Capability, can
from labelkit.config import parse_config
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.importers import server_folder
from labelkit.settings import get_settings
from labelkit.ui.context import page_project, show_error
from labelkit.ui.text import plain

user, project = page_project("import", Capability.TASK_IMPORT, "Import tasks",
                             "You can import into no project. Create one on the Projects page first.")

keys = parse_config(project.label_config).data_keys
key_list = ", ".join(f"`{k}`" for k in keys) or "no keys"
st.markdown(f"Into **{plain(project.title)}**. Each task needs {key_list}, as the label config uses {', '.join('$' + k for k in keys)}.")
with st.expander("Accepted files and examples", icon=":material/help:"):
    example = ", ".join(f'"{k}": "…"' for k in keys)
    for fmt in importers.FORMATS.values():
        st.markdown(f"- **{', '.join(fmt.extensions)}**: {fmt.description}")
    st.markdown("JSON, Label Studio style:")
    st.code(f'[{{"data": {{{example}}}}}, {{"data": {{{example}}}}}]', language="json")
    st.markdown("CSV:")
    st.code(",".join(keys) + "\n" + ",".join("…" for _ in keys), language=None)

round_ = st.session_state.setdefault("lk_import_round", 0)
uploads = st.file_uploader(
    f"Task files (up to {get_settings().max_upload_mb} MB each)", type=importers.extensions(),
    accept_multiple_files=True, key=f"lk_import_files_{round_}",
)
result = st.session_state.pop("lk_import_result", None)
if result:
    st.success(result, icon=":material/check_circle:")
    st.page_link("pages/label.py", label="Start labeling", icon=":material/edit_note:", query_params={"project": str(project.id)})

urls = st.text_area("Or media URLs, one per line", key=f"lk_import_urls_{round_}", height=100,
                    placeholder="https://example.com/photos/0001.jpg\ns3://bucket/audio/call-17.wav")
sources = [(u.name, u, u.size) for u in uploads or []]
if urls.strip():
    import io

    sources.append(("pasted URLs.urls", io.BytesIO(urls.encode()), len(urls.encode())))

server_files: list[str] = []
with session_scope(write=False) as session:
    may_use_server = can(session, user, Capability.SERVER_FILES) and get_settings().local_files_root is not None
if may_use_server:
    with st.expander("Or a folder on the server", icon=":material/folder_open:"):
        st.caption(f"Under `{get_settings().local_files_root}` (LABELKIT_LOCAL_FILES_ROOT). Media files stay there and are "
                   "shown through signed links; task files in it are read as uploads.")
        left, right = st.columns([3, 1])
        relative = left.text_input("Folder", key=f"lk_import_folder_{round_}", placeholder="images/batch-1")
        pattern = right.text_input("File pattern", value="*", key=f"lk_import_pattern_{round_}")
        if relative.strip():
            try:
                server_files = server_folder.list_files(relative, pattern, importers.extensions())
            except LabelkitError as e:
                show_error(e)
            else:
                st.caption(f"{len(server_files):,} file{'s' * (len(server_files) != 1)} match: "
                           + ", ".join(server_files[:5]) + (", …" if len(server_files) > 5 else ""))

skip_duplicates = st.checkbox("Skip tasks the project already has (the same data)", key="lk_import_skip_duplicates")
if server_files and sources:
    st.warning("Import the uploads and the server folder one at a time.", icon=":material/info:")
elif (sources or server_files) and st.button(
    f"Import {len(server_files):,} server files" if server_files else f"Import {len(sources)} source{'s' * (len(sources) != 1)}",
    type="primary", icon=":material/upload:",
):
    bar = st.progress(0.0, text="Reading the files…")
    try:
        with session_scope() as session:
            report = importers.import_sources(
                session, user, project.id, server_folder.opened(server_files) if server_files else sources,
                progress=lambda share, text: bar.progress(share, text=text),
                skip_duplicates=skip_duplicates, in_place=bool(server_files),
            )
    except LabelkitError as e:
        bar.empty()
        show_error(e)
    else:
        st.session_state["lk_import_result"] = report.summary()
        st.session_state["lk_import_round"] = round_ + 1
        st.rerun()
