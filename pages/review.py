"""Review: annotations waiting for review; accept, reject with a comment, or fix."""

import pandas as pd
import streamlit as st

from labelkit.auth.permissions import Capability
from labelkit.config import task_config
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.labeling import review
from labelkit.models import ReviewStatus
from labelkit.results.items import build_result, values_of
from labelkit.ui import controls, labeling, task_talk
from labelkit.ui.context import page_project
from labelkit.ui.text import plain
from labelkit.ui.workload import ground_truth_toggle

ORDER_NOTE = {"oldest": "oldest first", "newest": "newest first", "random": "in random order",
              "disagreement": "least agreement first"}

user, project = page_project("review", Capability.ANNOTATION_REVIEW, "Review", "You review in no project yet.")

flash = st.session_state.pop("lk_review_flash", None)
if flash:
    st.success(flash)

with session_scope(write=False) as session:
    waiting = review.review_queue(session, user, project.id)

# A link to one task (the Tasks page's "review ↗"): shown even when nothing of it waits.
pinned_key = f"lk_review_pinned_{project.id}"
if st.query_params.get("task", "").isdigit():
    st.session_state[pinned_key] = int(st.query_params["task"])
    del st.query_params["task"]
pinned = st.session_state.get(pinned_key)

if not waiting and pinned is None:
    st.success(f"Nothing is waiting for your review in {plain(project.title)}.", icon=":material/done_all:")
    with session_scope(write=False) as session:
        own = review.own_pending(session, user, project.id)
    if own:
        st.caption(
            f"{own} annotation{'s' * (own != 1)} of yours {'wait' if own != 1 else 'waits'} for another reviewer: "
            "nobody reviews their own work."
        )
    st.stop()

tasks = list(dict.fromkeys(row["task_id"] for row in waiting))
if pinned is not None:
    note, back = st.columns([4, 1], vertical_alignment="center")
    note.info(f"Task {pinned}, opened from a link.", icon=":material/link:")
    if back.button("Back to the queue", key=f"lk_review_unpin_{project.id}"):
        del st.session_state[pinned_key]
        st.rerun()
st.caption(f"{len(waiting)} annotation{'s' * (len(waiting) != 1)} on {len(tasks)} task{'s' * (len(tasks) != 1)} waiting, {ORDER_NOTE.get(project.review_order, 'oldest first')}")

listing, detail = st.columns([3, 5], gap="large")
with listing:
    table = pd.DataFrame([{"task": r["task_id"], "by": r["annotator"], "submitted": r["submitted"]} for r in waiting],
                         columns=["task", "by", "submitted"])
    picked = st.dataframe(
        table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key=f"lk_review_list_{project.id}",
        column_config={
            "task": st.column_config.NumberColumn(width="small"),
            "submitted": st.column_config.DatetimeColumn(format="MMM D, HH:mm", width="small"),
        },
    )
    st.caption("Pick a row to review that task; the oldest is open.")
    rows = picked.selection.rows if picked and picked.selection else []
    task_id = int(table.iloc[rows[0]]["task"]) if rows else pinned if pinned is not None else tasks[0]

with detail:
    try:
        with session_scope(write=False) as session:
            item = review.task_for_review(session, user, task_id)
    except LabelkitError as e:
        st.error(str(e))
        st.stop()
    st.subheader(f"Task {task_id}", anchor=False)
    try:
        config = task_config(project.label_config, item.task.data)
    except LabelkitError as e:
        st.error(str(e))
        st.stop()
    labeling.render(config, item.task.data, f"lk:review:{task_id}", controls=False)

    columns = st.columns(max(1, len(item.annotations)))
    for column, view in zip(columns, item.annotations, strict=False):
        a = view.annotation
        with column, st.container(border=True):
            status = a.review_status or "pending"
            badge = {"accepted": ":green-badge[accepted]", "rejected": ":red-badge[rejected]", "": ":gray-badge[not reviewed]"}.get(
                a.review_status or "", ":orange-badge[waiting]")
            st.markdown(f"**{plain(view.annotator)}** {badge}")
            controls.show_result(config, values_of(review.effective_result(a), config), item.task.data)
            if a.reviewed_result is not None:
                with st.popover("Annotator's original"):
                    controls.show_result(config, values_of(a.result, config), item.task.data)
            for r in view.reviews:
                if r.comment:
                    st.caption(f"{r.action}: {plain(r.comment)}")
            ground_truth_toggle(user, a)
            if status != ReviewStatus.PENDING or a.user_id == user.id:
                if a.user_id == user.id:
                    st.caption("Your own work: another reviewer reviews it.")
                continue
            comment = st.text_input("Comment", key=f"lk_comment_{a.id}", placeholder="Required to reject")
            actions = st.container(horizontal=True)
            accept = actions.button("Accept", type="primary", icon=":material/check:", key=f"lk_accept_{a.id}")
            reject = actions.button("Reject", icon=":material/undo:", key=f"lk_reject_{a.id}")
            fixing = st.toggle("Fix the answer", key=f"lk_fixing_{a.id}")
            save_fix = False
            if fixing:
                prefix = f"lk:fix:{a.id}"
                controls.seed(prefix, config, values_of(a.result, config))
                fixed_values = labeling.render(config, item.task.data, prefix, objects=False, hotkeys=False,
                                               canvas_width=420)
                save_fix = st.button("Save the fix and accept", icon=":material/build:", key=f"lk_savefix_{a.id}")
            if not (accept or reject or save_fix):
                continue
            try:
                with session_scope() as session:
                    if accept:
                        review.accept(session, user, a.id, comment)
                        message = f"Accepted {view.annotator}'s answer on task {task_id}."
                    elif reject:
                        review.reject(session, user, a.id, comment)
                        message = f"Sent task {task_id} back to {view.annotator}."
                    else:
                        review.fix(session, user, a.id, build_result(config, fixed_values, previous=a.result), comment)
                        message = f"Fixed and accepted {view.annotator}'s answer on task {task_id}."
            except LabelkitError as e:
                st.error(str(e))
            else:
                st.session_state["lk_review_flash"] = message
                st.rerun()
    task_talk.panel(user, task_id, "review", expanded=True)
