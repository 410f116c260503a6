"""Drawing the project dashboard (pages/dashboard.py): filters, tiles, charts, tables with a
CSV download each, and the annotator x annotator agreement heat map."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from labelkit.db import session_scope
from labelkit.models import Project, User
from labelkit.reports import stats


def filters(user: User, project: Project) -> stats.Filters:
    """Dates (default: the last 30 days) and a person (default: everyone), in one row."""
    with session_scope(write=False) as session:
        people = stats.people_choices(session, user, project.id)
    today = date.today()
    left, right = st.columns([2, 2])
    picked = left.date_input(
        "Between", value=(today - timedelta(days=29), today), max_value=today + timedelta(days=1),
        key=f"lk_dash_dates_{project.id}", help="UTC days, both included. Clear it to see all time.",
    )
    since, until = ([*list(picked), None, None])[:2] if isinstance(picked, list | tuple) else (picked, picked)
    person = right.selectbox("Person", [None, *people], format_func=lambda i: "Everyone" if i is None else people[i],
                             key=f"lk_dash_person_{project.id}")
    return stats.Filters(since=since, until=until or since, user_id=person)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 90:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def tiles(board: stats.Dashboard) -> None:
    t = board.tiles
    row = st.columns(6)
    row[0].metric("Tasks done", f"{t['done']:,} / {t['tasks']:,}", help="Tasks with all the answers they need (now).")
    row[1].metric("Answers submitted", f"{t['submitted']:,}", help="In the dates and for the person chosen.")
    row[2].metric("Skip rate", _share(t["skip_rate"]), help="Skips over skips and submissions.")
    row[3].metric("Median lead time", _seconds(t["lead_median"]),
                  help=f"10% of answers took less than {_seconds(t['lead_p10'])}, 90% less than {_seconds(t['lead_p90'])}.")
    row[4].metric("Accepted in review", _share(t["accept_rate"]), help="Accepted or fixed, over everything reviewed.")
    row[5].metric("People labeling", t["people"])


def download(frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(
        "Download CSV", frame.to_csv(index=False).encode(), file_name=f"{name}.csv", mime="text/csv",
        icon=":material/download:", key=key, disabled=frame.empty,
    )


def progress(board: stats.Dashboard, project: Project) -> None:
    st.subheader("Progress over time", anchor=False)
    frame = pd.DataFrame(board.progress, columns=["day", "submissions", "done", "cumulative_submissions", "cumulative_done"])
    if frame.empty:
        st.caption("No answers in these dates.")
        return
    frame["day"] = pd.to_datetime(frame["day"])
    left, right = st.columns(2)
    left.caption("Running totals")
    left.line_chart(frame.rename(columns={"cumulative_submissions": "answers", "cumulative_done": "tasks done"}),
                    x="day", y=["answers", "tasks done"], height=260)
    right.caption("Per day")
    right.bar_chart(frame.rename(columns={"submissions": "answers", "done": "tasks done"}), x="day",
                    y=["answers", "tasks done"], stack=False, height=260)
    download(frame, f"progress-{project.id}", f"lk_dl_progress_{project.id}")


def throughput(board: stats.Dashboard, project: Project) -> None:
    st.subheader("Throughput per person", anchor=False)
    frame = pd.DataFrame(board.throughput, columns=["day", "annotator", "submissions"])
    if frame.empty:
        st.caption("No answers in these dates.")
        return
    frame["day"] = pd.to_datetime(frame["day"])
    st.bar_chart(frame, x="day", y="submissions", color="annotator", height=260)
    download(frame, f"throughput-{project.id}", f"lk_dl_throughput_{project.id}")


def people(board: stats.Dashboard, project: Project) -> None:
    st.subheader("Per person", anchor=False)
    columns = ["annotator", "submitted", "skipped", "skip_rate", "lead_p10", "lead_median", "lead_p90",
               "accepted", "fixed", "rejected", "pending", "not reviewed"]
    frame = pd.DataFrame(board.people, columns=columns)
    if frame.empty:
        st.caption("Nobody answered in these dates.")
        return
    st.dataframe(
        frame, hide_index=True, width="stretch",
        column_config={
            "skip_rate": st.column_config.NumberColumn("skip rate", format="percent"),
            "lead_p10": st.column_config.NumberColumn("lead time p10 (s)", format="%.1f"),
            "lead_median": st.column_config.NumberColumn("median (s)", format="%.1f"),
            "lead_p90": st.column_config.NumberColumn("p90 (s)", format="%.1f"),
        },
    )
    outcomes = frame.melt(id_vars="annotator", value_vars=["accepted", "fixed", "rejected", "pending", "not reviewed"],
                          var_name="outcome", value_name="answers")
    outcomes = outcomes[outcomes["answers"] > 0]
    if not outcomes.empty:
        st.caption("Review outcomes")
        chart = alt.Chart(outcomes).mark_bar().encode(
            x=alt.X("answers:Q", stack="zero"), y=alt.Y("annotator:N", title=None),
            color=alt.Color("outcome:N", scale=alt.Scale(
                domain=["accepted", "fixed", "rejected", "pending", "not reviewed"],
                range=["#2e7d32", "#81c784", "#c62828", "#f9a825", "#9e9e9e"])),
            tooltip=["annotator", "outcome", "answers"],
        )
        st.altair_chart(chart, width="stretch")
    download(frame, f"people-{project.id}", f"lk_dl_people_{project.id}")


def labels(board: stats.Dashboard, project: Project) -> None:
    st.subheader("Label distribution", anchor=False)
    frame = pd.DataFrame(board.labels, columns=["control", "value", "count"])
    if frame.empty:
        st.caption("No answers in these dates.")
        return
    for note in board.notes:
        st.caption(note)
    for control, part in frame.groupby("control", sort=True):
        top = part.nlargest(30, "count").rename(columns={"value": "label", "count": "answers"})
        st.caption(f"**{control}**" + (" (the 30 most frequent)" if len(part) > 30 else ""))
        st.bar_chart(top, x="label", y="answers", horizontal=True, sort="-answers", height=70 + 36 * len(top))
    download(frame, f"labels-{project.id}", f"lk_dl_labels_{project.id}")


def agreement(user: User, project: Project, f: stats.Filters) -> None:
    st.subheader("Agreement between annotators", anchor=False)
    try:
        from labelkit.agreement.report import project_agreement
    except ImportError:
        st.info("Agreement is not available on this server yet.", icon=":material/info:")
        return
    with session_scope(write=False) as session:
        since, until = stats.period(f)
        result = project_agreement(session, user, project.id, since=since, until=until)
    frame = matrix_frame(result)
    if frame.empty:
        st.caption("No task in these dates has answers from two people to compare.")
        return
    base = alt.Chart(frame).encode(
        x=alt.X("annotator_b:N", title=None), y=alt.Y("annotator_a:N", title=None),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("agreement:Q", scale=alt.Scale(domain=[0, 1], scheme="redyellowgreen"), title="agreement"),
        tooltip=["annotator_a", "annotator_b", alt.Tooltip("agreement:Q", format=".2f"), "tasks"],
    )
    text = base.mark_text(fontSize=12).encode(text=alt.Text("agreement:Q", format=".2f"))
    st.altair_chart((heat + text).properties(height=max(120, 40 * frame["annotator_a"].nunique())), width="stretch")
    mean = "—" if result.mean is None else f"{result.mean:.2f}"
    st.caption(f"Mean agreement of two people's answers on the tasks both labeled (1 = always the same); "
               f"over {result.tasks:,} tasks with two answers or more: {mean}.")
    download(frame, f"agreement-{project.id}", f"lk_dl_agreement_{project.id}")


def matrix_frame(result) -> pd.DataFrame:
    """The agreement service's annotator x annotator matrix as rows (a, b, agreement, tasks)."""
    names = dict(result.annotators)
    rows = [
        {"annotator_a": names.get(a, str(a)), "annotator_b": names.get(b, str(b)), "agreement": score,
         "tasks": result.pair_tasks.get((a, b))}
        for (a, b), score in sorted(result.matrix.items()) if a != b and score is not None
    ]
    return pd.DataFrame(rows, columns=["annotator_a", "annotator_b", "agreement", "tasks"])
