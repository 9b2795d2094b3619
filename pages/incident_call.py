"""The open incident call: the incident in one line, the report due, the
people and roles, the call-in queue, decisions, components and timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.errors import ControlRoomError
from controlroom.health.models import ComponentState
from controlroom.incidents import actions
from controlroom.incidents.board import (
    PAST_SHOWN,
    CallBoard,
    CallScreen,
    call_prompt,
    call_screen,
    call_version,
)
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import (
    CallItemKind,
    CallItemState,
    IncidentRole,
    IncidentStatus,
    Visibility,
)
from controlroom.session_frame import Frame, error_markdown, frame_of

MESSAGE_KEY = "incident_call_message"
CHOSEN_KEY = "incident_call_chosen"
CHECKED_KEY = "incident_call_checked"
VERSION_KEY = "incident_call_version"
SEVERITIES: list[Severity] = list(Severity)
VISIBILITIES: list[Visibility] = list(Visibility)
ROLES: list[IncidentRole] = list(IncidentRole)
ITEM_KINDS: list[CallItemKind] = list(CallItemKind)
IMPACTS = (
    ComponentState.MAJOR_OUTAGE,
    ComponentState.PARTIAL_OUTAGE,
    ComponentState.DEGRADED_PERFORMANCE,
    ComponentState.UNDER_MAINTENANCE,
)


@st.cache_data(ttl=2, show_spinner=False)
def load(
    _engine: Engine, url: str, zone: str, incident_id: int | None, version: int
) -> CallScreen:
    # ``version`` (the newest incident change) is part of the key: a change
    # is shown at once, never two seconds late from the cache.
    return call_screen(_engine, zone=zone, incident_id=incident_id)


def act(call: Callable[[], str]) -> None:
    """Run one action; show its error here, or its outcome after a rerun."""
    try:
        message = call()
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    load.clear()
    st.session_state[MESSAGE_KEY] = message
    st.rerun()


def open_form(frame: Frame, screen: CallScreen, *, first: bool) -> None:
    """Open an incident (management only; the action says so to anyone else)."""
    names = dict(screen.components)
    with st.form("open_incident", clear_on_submit=False):
        st.markdown("**Open an incident**" if first else "**Open another incident**")
        title = st.text_input("Title", max_chars=160)
        kind = st.text_input(
            "Kind (e.g. payments, driver-app, sms-gateway)",
            value="other",
            max_chars=64,
        )
        left, right = st.columns(2)
        # Neither the worst severity nor public by default: both are choices.
        severity = left.selectbox(
            "Severity",
            SEVERITIES,
            index=SEVERITIES.index(Severity.SEV3),
            format_func=lambda s: s.label,
        )
        visibility = right.radio(
            "Visibility",
            VISIBILITIES,
            index=VISIBILITIES.index(Visibility.RESTRICTED),
            horizontal=True,
            format_func=lambda v: (
                "Public (on the status site)"
                if v is Visibility.PUBLIC
                else "Restricted (staff only)"
            ),
        )
        summary = st.text_input("Current status in one sentence", max_chars=240)
        held: dict[str, ComponentState] = {}
        for impact in IMPACTS:
            keys = st.multiselect(
                f"Components at {impact.label.lower()}",
                list(names),
                format_func=names.__getitem__,
                key=f"open_{impact.value}",
            )
            held.update({key: impact for key in keys if key not in held})
        if (
            st.form_submit_button("Open the incident", key="open_submit")
            and severity is not None
            and visibility is not None
        ):
            act(
                partial(
                    actions.open_new,
                    frame.engine,
                    user=frame.user,
                    title=title,
                    kind=kind,
                    severity=severity,
                    visibility=visibility,
                    summary=summary,
                    components=held,
                )
            )


def headline(frame: Frame, incident_id: int) -> None:
    """The incident in one line and the report due; redrawn on the refresh."""
    version = st.session_state.get(VERSION_KEY, 0)
    screen = load(frame.engine, frame.url, frame.zone, incident_id, version)
    board = screen.board
    if board is None:
        return
    line = board.incident
    st.markdown(f"### {line.headline}")
    st.markdown(f"**Now:** {line.summary}")
    if line.status is IncidentStatus.RESOLVED:
        st.success(f"Resolved after {line.running_for}.")
        return
    due = board.due
    if due.overdue:
        st.error(f"## {due.words[0].upper()}{due.words[1:]}")
    else:
        st.info(f"## {due.words[0].upper()}{due.words[1:]}")

    # One prompt per due time, however often the screen refreshes.
    checks: dict[int, datetime] = st.session_state.setdefault(CHECKED_KEY, {})
    prompt, checked = call_prompt(
        frame.engine,
        incident_id=incident_id,
        previous_check=checks.get(incident_id),
        zone=frame.zone,
    )
    checks[incident_id] = checked
    if prompt is not None:
        st.toast(prompt.words, icon="⏰")


def reporting(frame: Frame, board: CallBoard) -> None:
    incident_id = board.incident.id
    if st.button("No change — report it now", key="no_change", type="primary"):
        act(
            partial(
                actions.report_no_change,
                frame.engine,
                user=frame.user,
                incident_id=incident_id,
                zone=frame.zone,
            )
        )
    with (
        st.expander("Write a progress report"),
        st.form("progress_report", clear_on_submit=True),
    ):
        text = st.text_area("Report", max_chars=1000)
        public = st.checkbox(
            "Public (status site)",
            value=board.incident.visibility == Visibility.PUBLIC.value,
        )
        if st.form_submit_button("Record the report", key="report_submit"):
            act(
                partial(
                    actions.report,
                    frame.engine,
                    user=frame.user,
                    incident_id=incident_id,
                    text=text,
                    public=public,
                )
            )
    for report in board.reports[:3]:
        mark = "public" if report.public else "internal"
        st.caption(f"{report.when} · {report.by} · {mark} — {report.text}")


def people(frame: Frame, board: CallBoard) -> None:
    incident_id = board.incident.id
    on_call, roles = st.columns(2)
    with on_call:
        st.subheader("On the call")
        st.markdown(", ".join(board.participants) or "Nobody has joined yet.")
        with st.form("join_leave", clear_on_submit=True):
            name = st.text_input("Name")
            join, leave = st.columns(2)
            if join.form_submit_button("Joined", key="join_submit"):
                act(
                    partial(
                        actions.join,
                        frame.engine,
                        user=frame.user,
                        incident_id=incident_id,
                        name=name,
                    )
                )
            if leave.form_submit_button("Left", key="leave_submit"):
                act(
                    partial(
                        actions.leave,
                        frame.engine,
                        user=frame.user,
                        incident_id=incident_id,
                        name=name,
                    )
                )
    with roles:
        st.subheader("Roles")
        st.dataframe(
            pd.DataFrame(
                {
                    "Role": [r.role.label for r in board.roles],
                    "Held by": [r.holder or "—" for r in board.roles],
                    "Since": [r.since for r in board.roles],
                }
            ),
            hide_index=True,
        )
        with st.form("hand_over", clear_on_submit=True):
            left, right = st.columns(2)
            role = left.selectbox("Role", ROLES, format_func=lambda r: r.label)
            holder = right.text_input("Hand over to")
            if (
                st.form_submit_button("Hand over", key="hand_over_submit")
                and role is not None
            ):
                act(
                    partial(
                        actions.hand_over,
                        frame.engine,
                        user=frame.user,
                        incident_id=incident_id,
                        role=role,
                        holder=holder,
                    )
                )
        if board.hand_overs:
            with st.expander("Hand-over history"):
                st.dataframe(
                    pd.DataFrame(
                        {
                            "Role": [h.role.label for h in board.hand_overs],
                            "Held by": [h.holder for h in board.hand_overs],
                            "From": [h.since for h in board.hand_overs],
                            "Until": [h.until or "now" for h in board.hand_overs],
                            "Handed over by": [
                                h.handed_over_by for h in board.hand_overs
                            ],
                        }
                    ),
                    hide_index=True,
                )


def queue(frame: Frame, board: CallBoard) -> None:
    st.subheader("Call-in queue")
    open_items = [q for q in board.queue if q.state is not CallItemState.ACTED_ON]
    if not open_items:
        st.caption("Nothing waiting.")
    for item in open_items:
        with st.container(border=True):
            heard = f" · heard {item.heard}" if item.heard else ""
            st.markdown(
                f"**{item.state.label.upper()}** · {item.kind} from "
                f"**{item.raised_by}** at {item.raised}{heard}  \n{item.text}"
            )
            hear_col, act_col, what = st.columns([1, 1, 3])
            done = what.text_input("What was done", key=f"item_{item.id}_action")
            if item.state is CallItemState.WAITING and hear_col.button(
                "Heard", key=f"item_{item.id}_heard"
            ):
                act(
                    partial(
                        actions.hear, frame.engine, user=frame.user, item_id=item.id
                    )
                )
            if act_col.button("Acted on", key=f"item_{item.id}_acted"):
                act(
                    partial(
                        actions.act,
                        frame.engine,
                        user=frame.user,
                        item_id=item.id,
                        action=done,
                    )
                )
    finished = [q for q in board.queue if q.state is CallItemState.ACTED_ON]
    if finished:
        with st.expander(f"Acted on ({len(finished)})"):
            st.dataframe(
                pd.DataFrame(
                    {
                        "From": [q.raised_by for q in finished],
                        "Item": [q.text for q in finished],
                        "Acted on": [q.acted for q in finished],
                        "What was done": [q.action for q in finished],
                    }
                ),
                hide_index=True,
            )
    with st.form("raise_item", clear_on_submit=True):
        left, right = st.columns([1, 2])
        kind = left.selectbox("Kind", ITEM_KINDS, format_func=str.title)
        raised_by = right.text_input("From (driver callsign or name)")
        text = st.text_input("What they said")
        if (
            st.form_submit_button("Add to the queue", key="raise_submit")
            and kind is not None
        ):
            act(
                partial(
                    actions.bring_item,
                    frame.engine,
                    user=frame.user,
                    incident_id=board.incident.id,
                    kind=kind,
                    raised_by=raised_by,
                    text=text,
                )
            )


def decisions(frame: Frame, board: CallBoard) -> None:
    st.subheader("Decisions")
    for decision in board.decisions:
        st.markdown(f"- {decision.when} · **{decision.decided_by}**: {decision.text}")
    with st.form("decision", clear_on_submit=True):
        text = st.text_input("Decision")
        if st.form_submit_button("Record the decision", key="decision_submit"):
            act(
                partial(
                    actions.decide,
                    frame.engine,
                    user=frame.user,
                    incident_id=board.incident.id,
                    text=text,
                )
            )


def components(frame: Frame, board: CallBoard, screen: CallScreen) -> None:
    st.subheader("Affected components")
    if board.components:
        st.dataframe(
            pd.DataFrame(
                {
                    "Component": [c.name for c in board.components],
                    "This incident": [c.impact.label for c in board.components],
                    "Shows now": [c.state.label for c in board.components],
                }
            ),
            hide_index=True,
        )
    else:
        st.caption("This incident holds no component.")
    names = dict(screen.components)
    with st.form("attach", clear_on_submit=True):
        left, right = st.columns(2)
        key = left.selectbox("Component", list(names), format_func=names.__getitem__)
        impact = right.selectbox(
            "Impact", [*IMPACTS, ComponentState.OPERATIONAL], format_func=_impact
        )
        if st.form_submit_button("Set", key="attach_submit") and key is not None:
            call = (
                partial(actions.detach, key=key)
                if impact is ComponentState.OPERATIONAL
                else partial(actions.attach, key=key, impact=impact)
            )
            act(
                partial(
                    call,
                    frame.engine,
                    user=frame.user,
                    incident_id=board.incident.id,
                )
            )


def _impact(state: ComponentState) -> str:
    if state is ComponentState.OPERATIONAL:
        return "Let go (no longer affected)"
    return state.label


def status_and_severity(frame: Frame, board: CallBoard) -> None:
    line = board.incident
    if line.status is IncidentStatus.RESOLVED:
        with st.form("reopen", clear_on_submit=True):
            reason = st.text_input("Why reopen")
            if st.form_submit_button("Reopen", key="reopen_submit"):
                act(
                    partial(
                        actions.reopen,
                        frame.engine,
                        user=frame.user,
                        incident_id=line.id,
                        reason=reason,
                    )
                )
        return
    # Not cleared on submit: a refused move must keep what was chosen, or
    # the retry would go to whatever the list offers first.
    with st.form("status", clear_on_submit=False):
        st.markdown("**Status and severity**")
        left, right = st.columns(2)
        # Offered first: the next step of the lifecycle, and the severity now.
        order = list(IncidentStatus)
        following = order[order.index(line.status) + 1 :]
        earlier = order[: order.index(line.status)]
        status = left.selectbox(
            "Status", following + earlier, format_func=lambda s: s.label
        )
        labels = [s.label for s in SEVERITIES]
        severity = right.selectbox(
            "Severity",
            SEVERITIES,
            index=labels.index(line.severity_label)
            if line.severity_label in labels
            else 0,
            format_func=lambda s: s.label,
        )
        note = st.text_input("Note (needed when moving back)")
        summary = st.text_input("New status sentence (optional)", max_chars=240)
        confirm = st.checkbox(
            "Yes, resolve it (needed to resolve)", key="confirm_resolve"
        )
        move_col, severity_col = st.columns(2)
        if move_col.form_submit_button("Change status", key="status_submit"):
            if status is IncidentStatus.RESOLVED and not confirm:
                st.error(
                    "Resolving lets go of the incident's components and ends "
                    "its reports: tick “Yes, resolve it” to confirm."
                )
                return
            act(
                partial(
                    actions.move,
                    frame.engine,
                    user=frame.user,
                    incident_id=line.id,
                    status=status,
                    note=note,
                    summary=summary,
                )
            )
        if (
            severity_col.form_submit_button("Change severity", key="severity_submit")
            and severity is not None
        ):
            act(
                partial(
                    actions.set_severity,
                    frame.engine,
                    user=frame.user,
                    incident_id=line.id,
                    severity=severity,
                )
            )


def timeline(frame: Frame, board: CallBoard) -> None:
    st.subheader("Timeline")
    st.dataframe(
        pd.DataFrame(
            {
                "When": [e.when for e in board.timeline],
                "Who": [e.actor for e in board.timeline],
                "What": [f"✎ {e.text}" if e.manual else e.text for e in board.timeline],
            }
        ),
        hide_index=True,
    )
    with st.form("note", clear_on_submit=True):
        text = st.text_input("Note for the timeline")
        if st.form_submit_button("Add the note", key="note_submit"):
            act(
                partial(
                    actions.note,
                    frame.engine,
                    user=frame.user,
                    incident_id=board.incident.id,
                    text=text,
                )
            )


def review(board: CallBoard) -> None:
    """A resolved incident, read-only: who held which role, the queue, the
    decisions and reports, and the timeline -- what its review needs."""
    st.subheader("Roles")
    st.dataframe(
        pd.DataFrame(
            {
                "Role": [
                    str(line.role.value).replace("_", " ") for line in board.roles
                ],
                "Held by": [line.holder or "nobody" for line in board.roles],
                "Since": [line.since for line in board.roles],
            }
        ),
        hide_index=True,
    )
    st.subheader("Call-in queue")
    st.dataframe(
        pd.DataFrame(
            {
                "Raised": [q.raised for q in board.queue],
                "From": [q.raised_by for q in board.queue],
                "Item": [q.text for q in board.queue],
                "State": [q.state.label for q in board.queue],
                "What was done": [q.action for q in board.queue],
            }
        ),
        hide_index=True,
    )
    st.subheader("Decisions")
    for decision in board.decisions:
        st.markdown(f"- {decision.when} · **{decision.decided_by}**: {decision.text}")
    if not board.decisions:
        st.caption("No decision was recorded.")
    st.subheader("Progress reports")
    for report in board.reports:
        where = "public" if report.public else "staff only"
        st.markdown(f"- {report.when} · **{report.by}** ({where}): {report.text}")
    if not board.reports:
        st.caption("No progress report was recorded.")
    st.subheader("Timeline")
    st.dataframe(
        pd.DataFrame(
            {
                "When": [e.when for e in board.timeline],
                "Who": [e.actor for e in board.timeline],
                "What": [e.text for e in board.timeline],
            }
        ),
        hide_index=True,
    )


def past_incidents(screen: CallScreen) -> None:
    """Resolved incidents to look back on: roles, decisions, reports, timeline."""
    if not screen.past_incidents:
        return
    shown = len(screen.past_incidents)
    with st.expander(
        f"Past incidents (the {shown} newest)"
        if shown >= PAST_SHOWN
        else f"Past incidents ({shown})"
    ):
        lines = {line.id: line.headline for line in screen.past_incidents}
        chosen = st.selectbox(
            "Resolved incident", list(lines), format_func=lines.__getitem__
        )
        if st.button("Show this incident"):
            st.session_state[CHOSEN_KEY] = chosen
            st.rerun()


def reviewing(screen: CallScreen, board: CallBoard) -> None:
    """Say that a resolved incident is shown, and lead back to the open ones."""
    if board.incident.status is not IncidentStatus.RESOLVED:
        return
    waiting = len(screen.open_incidents)
    st.info(
        f"You are looking back at resolved incident #{board.incident.id}. "
        + (
            f"{waiting} incident(s) are open now."
            if waiting
            else "No incident is open now."
        )
    )
    if st.button("Back to the open incidents" if waiting else "Back"):
        st.session_state.pop(CHOSEN_KEY, None)
        st.rerun()


def redraw_on_change(frame: Frame) -> None:
    """Redraw the screen when any incident changed since it was drawn.

    Someone else may open an incident, a driver's item may come in by SMS:
    the screen must not keep saying "no incident" while the banner knows.
    """
    if call_version(frame.engine) != st.session_state.get(VERSION_KEY):
        st.rerun(scope="app")


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="incident_call")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Incident call")
    if message := st.session_state.pop(MESSAGE_KEY, None):
        st.success(message)

    version = st.session_state[VERSION_KEY] = call_version(frame.engine)
    st.fragment(run_every=frame.settings.refresh_seconds)(redraw_on_change)(frame)
    screen = load(
        frame.engine, frame.url, frame.zone, st.session_state.get(CHOSEN_KEY), version
    )
    if screen.board is None:
        st.info("No incident is open. If something is wrong, open one below.")
        open_form(frame, screen, first=True)
        past_incidents(screen)
        return
    if len(screen.open_incidents) > 1:
        lines = {line.id: line.headline for line in screen.open_incidents}
        ids = list(lines)
        shown = screen.board.incident.id
        chosen = st.selectbox(
            "Open incidents",
            ids,
            index=ids.index(shown) if shown in ids else 0,
            format_func=lines.__getitem__,
        )
        if chosen != screen.board.incident.id:
            st.session_state[CHOSEN_KEY] = chosen
            st.rerun()

    board = screen.board
    reviewing(screen, board)
    st.fragment(run_every=frame.settings.refresh_seconds)(headline)(
        frame, board.incident.id
    )
    if board.incident.status is IncidentStatus.RESOLVED:
        review(board)
        status_and_severity(frame, board)  # where it can be reopened
        past_incidents(screen)
        return
    reporting(frame, board)
    people(frame, board)
    queue(frame, board)
    decisions(frame, board)
    components(frame, board, screen)
    status_and_severity(frame, board)
    timeline(frame, board)
    with st.expander("Open another incident"):
        open_form(frame, screen, first=False)
    past_incidents(screen)


render()
