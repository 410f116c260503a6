"""The Projects page's "Model" tab: attach model servers (Label Studio ML backends), check
and remove them, pre-label with a progress bar, start training, and pick the model version
whose predictions the label page shows. For managers and admins (model.manage)."""

from __future__ import annotations

import streamlit as st

from labelkit import ml
from labelkit.auth.permissions import Capability, can
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.labeling import predictions
from labelkit.models import MLBackend, Prediction, Project, Task, User
from labelkit.ui.text import plain

FLASH = "lk_model_flash"


def model_panel(user: User, project: Project) -> None:
    with session_scope(write=False) as session:
        if not can(session, user, Capability.MODEL_MANAGE, project.id):
            st.info("Only the project's managers attach model servers.")
            return
        backends = ml.list_backends(session, user, project.id)
        versions = predictions.model_versions(session, user, project.id)
    flash = st.session_state.pop(FLASH, None)
    if flash:
        {"ok": st.success, "error": st.error, "warning": st.warning}[flash[0]](flash[1])
    st.caption("A model server that speaks Label Studio's ML backend protocol pre-labels tasks, suggests answers "
               "when a task opens, and learns from submitted annotations.")
    for backend in backends:
        _backend_card(user, project, backend)
    if backends:
        _version_picker(user, project, versions)
    with st.expander("Connect a model server", icon=":material/add_link:", expanded=not backends):
        _connect_form(user, project)


def _say(kind: str, message: str) -> None:
    st.session_state[FLASH] = (kind, message)
    st.rerun()


def _backend_card(user: User, project: Project, backend: MLBackend) -> None:
    key = f"lk_ml_{backend.id}"
    with st.container(border=True):
        state = ":green[connected]" if backend.state == "connected" else f":red[{backend.state}]"
        st.markdown(f"**{plain(backend.title)}** · {state} · model version `{backend.model_version or 'not reported'}`")
        flags = [f"timeout {backend.timeout:g} s"]
        if backend.is_interactive:
            flags.append("suggests when a task opens")
        if backend.predict_every:
            flags.append(f"predicts again every {backend.predict_every} annotations")
        st.caption(f"`{backend.url}` · " + " · ".join(flags))
        if backend.last_error:
            st.warning(backend.last_error, icon=":material/error:")
        row = st.container(horizontal=True)
        if row.button("Pre-label unlabeled", icon=":material/auto_awesome:", key=f"{key}_unlabeled"):
            _predict(user, project, backend, True)
        if row.button("Pre-label all", key=f"{key}_all"):
            _predict(user, project, backend, False)
        if row.button("Start training", icon=":material/model_training:", key=f"{key}_train"):
            _act(lambda s: ml.start_training(s, user, project.id, backend.id), "Training was started.")
        if row.button("Check", icon=":material/monitor_heart:", key=f"{key}_check"):
            _check(user, backend)
        with st.expander("Change", icon=":material/edit:"):
            _change_form(user, backend)
        sure = st.checkbox("Yes, remove this model server (its predictions stay)", key=f"{key}_sure")
        if st.button("Remove", icon=":material/link_off:", disabled=not sure, key=f"{key}_remove"):
            _act(lambda s: ml.remove(s, user, backend.id), f"Removed {backend.title}.")


def _act(action, done: str) -> None:
    try:
        with session_scope() as session:
            action(session)
    except LabelkitError as e:
        _say("error", str(e))
    _say("ok", done)


def _check(user: User, backend: MLBackend) -> None:
    with session_scope() as session:
        checked = ml.check(session, user, backend.id)
    if checked.state == "connected":
        _say("ok", f"{checked.title} answers (model version {checked.model_version or 'not reported'}).")
    _say("error", checked.last_error)


def _predict(user: User, project: Project, backend: MLBackend, only_unlabeled: bool) -> None:
    bar = st.progress(0.0, text="Asking the model…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{done} of {total} tasks")

    try:
        with session_scope() as session:
            summary = ml.predict(session, user, project.id, only_unlabeled=only_unlabeled, progress=progress,
                                 backend_id=backend.id)
    except LabelkitError as e:
        _say("error", str(e))
    _say("ok", f"Pre-labeled {summary.sent} task(s): {summary.stored} prediction(s) of model version "
               f"{summary.model_version or 'not reported'}.")


def _version_picker(user: User, project: Project, versions: list[tuple[str, int]]) -> None:
    if not versions:
        st.caption("No predictions yet: pre-label to see the model's suggestions on the label page.")
        return
    options = ["", *[v for v, _ in versions]]
    counts = dict(versions)
    current = project.model_version if project.model_version in options else ""
    chosen = st.selectbox(
        "Predictions shown to annotators", options, index=options.index(current), key=f"lk_ml_version_{project.id}",
        format_func=lambda v: f"{v or '(no version)'} · {counts[v]} predictions" if v in counts and v else
        "The newest of any model version",
    )
    if chosen != current and st.button("Show this version", key=f"lk_ml_version_save_{project.id}"):
        _act(lambda s: ml.choose_model_version(s, user, project.id, chosen),
             f"The label page now shows {chosen or 'the newest predictions'}.")


def _server_form(key: str, backend: MLBackend | None) -> ml.BackendFields | None:
    """A model server's fields in a form: empty to connect one, or a connected server's own
    to change it (its password and headers are never shown: empty keeps them, at the same
    URL only). The fields when the form's button was pressed, else None."""
    new = backend is None
    keeps = "Empty keeps the stored {}, at the same URL only: a new URL needs {} again."
    with st.form(key, clear_on_submit=False):
        url = st.text_input("URL", value="" if new else backend.url, placeholder="http://model-server:9090",
                            key=f"{key}_url")
        title = st.text_input("Title", value="" if new else backend.title, placeholder="Sentiment model",
                              key=f"{key}_title")
        left, right = st.columns(2)
        auth_user = left.text_input("Basic-auth user (optional)" if new else "Basic-auth user",
                                    value="" if new else backend.basic_auth_user, key=f"{key}_user")
        auth_password = right.text_input("Basic-auth password", type="password", key=f"{key}_password",
                                         help=None if new else keeps.format("one", "it"))
        header_text = st.text_area("Extra headers (one 'Name: value' a line)", height=68, key=f"{key}_headers",
                                   help=None if new else keeps.format("ones", "them"))
        left, right = st.columns(2)
        timeout = left.number_input("Timeout (seconds)", min_value=1.0, max_value=600.0,
                                    value=30.0 if new else float(backend.timeout), step=1.0, key=f"{key}_timeout")
        every = right.number_input("Predict again every N annotations (0: never)", min_value=0,
                                   value=0 if new else backend.predict_every, step=1, key=f"{key}_every")
        interactive = st.checkbox(
            "Suggest an answer when a task opens" + (" (interactive pre-annotation)" if new else ""),
            value=False if new else backend.is_interactive, key=f"{key}_interactive")
        if new:
            pressed = st.form_submit_button("Connect", type="primary", icon=":material/link:", key=f"{key}_save")
        else:
            pressed = st.form_submit_button("Save", key=f"{key}_save")
    if not pressed:
        return None
    try:
        headers = dict(ml.parse_header(line) for line in header_text.splitlines() if line.strip()) or None
    except LabelkitError as e:
        st.error(str(e))
        return None
    return ml.BackendFields(url=url, title=title, basic_auth_user=auth_user.strip(), basic_auth_password=auth_password,
                            headers=headers, timeout=float(timeout), interactive=interactive, predict_every=int(every))


def _connect_form(user: User, project: Project) -> None:
    fields = _server_form(f"lk_ml_connect_{project.id}", None)
    if fields is None:
        return
    try:
        with session_scope() as session:
            backend = ml.connect(session, user, project.id, fields)
    except LabelkitError as e:
        st.error(str(e))
        return
    _say("ok", f"Connected {backend.title} (model version {backend.model_version or 'not reported'}).")


def _change_form(user: User, backend: MLBackend) -> None:
    """Change a server's address, title, auth and flags. Its stored password and headers
    belong to its address: at a new one they are dropped and must be entered again."""
    fields = _server_form(f"lk_ml_change_{backend.id}", backend)
    if fields is None:
        return
    try:
        with session_scope() as session:
            change = ml.update(session, user, backend.id, fields)
    except LabelkitError as e:
        st.error(str(e))
        return
    if change.cleared:
        _say("warning", f"Saved {change.backend.title}. Its address changed, so its stored {' and '.join(change.cleared)} "
                        "were cleared (they are never sent to a new address): if the new server needs them, enter them "
                        "again under Change.")
    _say("ok", f"Saved {change.backend.title}.")


# --- on the label page ---------------------------------------------------------------


def suggestion(user: User, project: Project, task_id: int) -> tuple[Prediction | None, str | None]:
    """A suggestion from the project's interactive model server for a task opened without a
    prediction: asked once per task in this browser tab (a slow model is not asked again
    on every click), in a transaction of its own."""
    asked = st.session_state.setdefault("lk_ml_asked", {})  # task id -> (prediction id, notice)
    if task_id in asked:
        prediction_id, notice = asked[task_id]
        if prediction_id is None:
            return None, notice
        with session_scope(write=False) as session:
            return session.get(Prediction, prediction_id), None
    with session_scope() as session:
        task = session.get(Task, task_id)
        found, notice = ml.interactive_prediction(session, user, project, task) if task is not None else (None, None)
    asked[task_id] = (found.id if found is not None else None, notice)
    return found, notice


def suggestion_note(shown: Prediction | None, notice: str | None) -> None:
    """Which model pre-filled the task, or why it did not."""
    if shown is not None:
        st.caption(ml.suggestion_caption(shown), help="The model's answer is filled in; change anything before you submit.")
    elif notice:
        st.info(notice, icon=":material/hourglass_disabled:")
