"""The Workload tab of a project (its managers): who holds which task (release it), who is
paused (resume them, or pause someone), handing out tasks ("the next N unassigned tasks to
these people"), gold tasks and each annotator's accuracy on them. Also the ground-truth
toggle the review page shows managers beside each annotation."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from labelkit.auth.permissions import Capability, can
from labelkit.db import session_scope
from labelkit.errors import InvalidInput, LabelkitError
from labelkit.labeling import assign, gold
from labelkit.models import Annotation, Project, Role, User
from labelkit.projects.crud import list_members
from labelkit.ui.text import plain

FLASH = "lk_workload_flash"


def _run(message: str, action) -> None:
    """Do one write; a flash says how it went on the next run."""
    try:
        with session_scope() as session:
            result = action(session)
    except LabelkitError as e:
        st.session_state[FLASH] = ("error", str(e))
    else:
        st.session_state[FLASH] = ("ok", message.format(result=result))


def parse_ids(text: str) -> list[int]:
    """Task ids typed as "12, 15-20 31" -> [12, 15, ..., 20, 31]."""
    ids: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        found = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not found:
            raise InvalidInput(f"{part!r} is not a task id or a range like 15-20.")
        low, high = int(found[1]), int(found[2] or found[1])
        if high < low or high - low > 10_000:
            raise InvalidInput(f"The range {part} is backwards or longer than 10,000 tasks.")
        ids.extend(range(low, high + 1))
    if not ids:
        raise InvalidInput("Type the ids of the tasks, e.g. 12, 15-20.")
    return ids


def workload_panel(user: User, project: Project) -> None:
    flash = st.session_state.pop(FLASH, None)
    if flash:
        (st.success if flash[0] == "ok" else st.error)(flash[1])
    try:
        with session_scope(write=False) as session:
            held = assign.holders(session, user, project.id)
            paused = assign.paused_people(session, user, project.id)
            summary = assign.assignment_summary(session, user, project.id)
            members = list_members(session, user, project.id)
            accuracy = gold.accuracy(session, user, project.id)
    except LabelkitError as e:
        st.info(str(e))
        return
    workers = {m["user_id"]: m["email"] for m in members if m["role"] != Role.MANAGER and m["active"]}
    _holders(user, project, held)
    _paused(user, project, paused, workers)
    _assignments(user, project, summary, workers)
    _gold(user, project, accuracy)


def _holders(user: User, project: Project, held: list[dict]) -> None:
    st.subheader("Who is working on what", anchor=False)
    if not held:
        st.caption("Nobody holds a task right now. A task someone opens is theirs until they submit, skip, "
                   "or leave it for the lock time; then it goes back to the queue.")
        return
    st.caption("Each person holds the task they have open. Release one to give it back to the queue; "
               "their draft, if any, is kept.")
    for row in held:
        left, middle, right = st.columns([4, 4, 2], vertical_alignment="center")
        left.markdown(f"**Task {row['task_id']}** · {plain(row['email'])}")
        middle.caption(f"since {row['since']:%H:%M} UTC · until {row['until']:%H:%M} UTC")
        if right.button("Release", key=f"lk_release_{project.id}_{row['task_id']}_{row['user_id']}", icon=":material/lock_open:"):
            _run(f"Task {row['task_id']} is back in the queue.",
                 lambda s, r=row: assign.release(s, user, project.id, r["task_id"], r["user_id"]))
            st.rerun()


def _paused(user: User, project: Project, paused: list[dict], workers: dict[int, str]) -> None:
    st.subheader("Paused people", anchor=False)
    if not paused:
        st.caption("Nobody is paused. A paused person gets no new tasks here (the labeling page tells them why).")
    for row in paused:
        left, right = st.columns([8, 2], vertical_alignment="center")
        left.markdown(f"**{plain(row['email'])}**, since {row['since']:%Y-%m-%d %H:%M} UTC  \n{plain(row['reason'])}")
        if right.button("Resume", key=f"lk_resume_{project.id}_{row['user_id']}", icon=":material/play_arrow:"):
            _run(f"{row['email']} can label again.", lambda s, r=row: assign.resume(s, user, project.id, r["user_id"]))
            st.rerun()
    can_pause = {u: e for u, e in workers.items() if u not in {r["user_id"] for r in paused}}
    if can_pause:
        with st.popover("Pause someone", icon=":material/pause:"):
            who = st.selectbox("Person", list(can_pause), format_func=can_pause.get, key=f"lk_pause_who_{project.id}")
            reason = st.text_input("Why (they will see this)", key=f"lk_pause_reason_{project.id}",
                                   placeholder="e.g. Let's go over the guidelines together first.")
            if st.button("Pause", key=f"lk_pause_{project.id}"):
                _run(f"{can_pause[who]} is paused.", lambda s: assign.pause(s, user, project.id, who, reason))
                st.rerun()


def _assignments(user: User, project: Project, summary: list[dict], workers: dict[int, str]) -> None:
    st.subheader("Assign tasks", anchor=False)
    mode = ("Manual: people get only the tasks assigned to them" if project.distribution == "manual"
            else "Automatic: assigned tasks go to their assignees first, the rest to anyone from the queue")
    st.caption(f"Distribution: {mode} (change it in Settings).")
    if summary:
        st.dataframe(pd.DataFrame(summary), hide_index=True, width="content",
                     column_config={"email": "Person", "assigned": "Assigned", "finished": "Finished", "left": "Left"})
    if not workers:
        st.caption("Add annotators or reviewers on the Team tab to assign them tasks.")
        return
    with st.form(f"lk_assign_{project.id}", border=True):
        st.markdown("**The next unassigned tasks to these people**")
        left, right = st.columns([1, 3])
        count = left.number_input("Tasks", min_value=1, max_value=assign.MAX_TASKS_AT_ONCE, value=10)
        people = right.multiselect("People (each gets all of them)", list(workers), format_func=workers.get)
        go = st.form_submit_button("Assign", type="primary", icon=":material/assignment_ind:")
    if go:
        _run("Assigned {result} tasks.", lambda s: assign.assign_next(s, user, project.id, int(count), people))
        st.rerun()
    with st.expander("Assign or take back tasks by id"):
        typed = st.text_input("Task ids", key=f"lk_assign_ids_{project.id}", placeholder="e.g. 12, 15-20")
        people = st.multiselect("People", list(workers), format_func=workers.get, key=f"lk_assign_ids_people_{project.id}")
        give, take = st.columns(2)
        if give.button("Assign these tasks", key=f"lk_assign_ids_go_{project.id}"):
            _run("Made {result} new assignments.", lambda s: assign.assign_tasks(s, user, project.id, parse_ids(typed), people))
            st.rerun()
        if take.button("Take them back", key=f"lk_unassign_ids_go_{project.id}",
                       help="From the people picked, or from everyone when nobody is picked."):
            _run("Removed {result} assignments; those tasks are back in the queue.",
                 lambda s: assign.unassign_tasks(s, user, project.id, parse_ids(typed), people or None))
            st.rerun()


def _gold(user: User, project: Project, accuracy: list[tuple]) -> None:
    st.subheader("Gold tasks", anchor=False)
    bar = f"{project.gold_min_accuracy:.0%}" if project.gold_min_accuracy is not None else "no bar set"
    st.caption(
        f"{project.gold_percent}% of each person's new tasks are gold tasks (tasks with a ground-truth answer), "
        f"mixed in without a sign. Pause below: {bar}, after {project.gold_min_tasks} gold tasks. "
        "Mark an answer as ground truth on the Review page, or make tasks gold here."
    )
    if accuracy:
        table = pd.DataFrame(
            [{"person": e, "gold tasks": n, "accuracy": a, "paused": p} for e, n, a, p in accuracy]
        )
        st.dataframe(table, hide_index=True, width="content", column_config={
            "accuracy": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        })
    else:
        st.caption("Nobody has answered a gold task yet.")
    with st.expander("Make tasks gold by id"):
        st.caption("Each task's accepted answer (else its latest submitted one) becomes its ground truth.")
        typed = st.text_input("Task ids", key=f"lk_gold_ids_{project.id}", placeholder="e.g. 12, 15-20")
        if st.button("Make gold", key=f"lk_gold_go_{project.id}", icon=":material/workspace_premium:"):
            _run("{result} tasks are now gold.", lambda s: gold.mark_tasks(s, user, project.id, parse_ids(typed)))
            st.rerun()


def ground_truth_toggle(user: User, annotation: Annotation) -> None:
    """For those who may mark ground truth: a toggle that makes this answer its task's truth."""
    with session_scope(write=False) as session:
        if not can(session, user, Capability.GROUND_TRUTH, annotation.project_id):
            return
    key = f"lk_truth_{annotation.id}_{int(annotation.ground_truth)}"  # a new key when the stored truth changes

    def changed() -> None:
        try:
            with session_scope() as session:
                gold.mark_ground_truth(session, user, annotation.id, on=bool(st.session_state[key]))
        except LabelkitError as e:
            st.session_state.pop(key, None)
            st.toast(str(e), icon=":material/error:")

    st.toggle("Ground truth", value=annotation.ground_truth, key=key, on_change=changed,
              help="Make this answer the one others are measured against (a gold task). One per task.")


def empty_queue_notice(user: User, project: Project) -> bool:
    """Why the labeling page has no new task for this person, when it is not that the work is
    done: they are paused, or tasks here are handed out by a manager. False: nothing to say."""
    with session_scope(write=False) as session:
        reason = assign.my_pause(session, user, project.id)
    if reason:
        st.info(
            f"**Your work in this project is paused for now.** {reason}  \n"
            "Nothing you did is lost. A project manager can resume you; you will be able to label again right away.",
            icon=":material/pause_circle:",
        )
        return True
    if project.distribution == "manual":
        st.info("In this project a manager hands out the tasks, and none are waiting for you right now. "
                "You will get a notification when some are assigned to you.", icon=":material/assignment_ind:")
        return True
    return False
