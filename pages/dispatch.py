"""Dispatch: declare what broke, re-plan, review the changes, publish."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from controlroom.dispatch.actions import (
    DISPATCHERS,
    Published,
    declare,
    end_declaration,
    publish_now,
    published_manifests,
    replan_now,
)
from controlroom.dispatch.board import BoardPlan, DispatchBoard, dispatch_board
from controlroom.dispatch.manifest import DriverManifest, pdf_manifest, sms_manifest
from controlroom.dispatch.models import DegradationKind
from controlroom.dispatch.plan_diff import PlanDiff
from controlroom.dispatch.publishing import Channel
from controlroom.dispatch.replanning import SearchBudget
from controlroom.dispatch.route_map import route_map
from controlroom.errors import ControlRoomError
from controlroom.overview.wording import literal_markdown
from controlroom.session_frame import Frame, error_markdown, frame_of
from controlroom.words import counted

CHART_CONFIG = {"displayModeBar": False}
KIND_WORDS = {"pickup": "Pick up", "delivery": "Deliver", "transfer": "Transfer"}
CHANNEL_WORDS = {
    Channel.APP: "Driver app",
    Channel.SMS: "SMS manifest",
    Channel.PRINT: "Printed sheet",
}
SEARCH_SECONDS = 5.0
# Which answer won: the quick repair (the search, if asked, found nothing
# better) or the search.
ENGINE_WORDS = {
    "repair": "routes kept, gaps filled in; no better plan found",
    "search": "found by the full search",
}


def hhmm(moment: datetime | None, zone: str) -> str:
    return "" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def plan_table(plan: BoardPlan, zone: str, now: datetime) -> pd.DataFrame:
    rows = [
        {
            "Van": route.plate,
            "Driver": route.callsign,
            "#": number,
            "Do": KIND_WORDS[stop.kind.value],
            "Parcel": stop.code,
            "Postcode": stop.postcode,
            "ETA": hhmm(stop.eta, zone) + (" overdue" if stop.eta < now else ""),
            "Window until": hhmm(stop.due, zone),
            "Late": "LATE" if stop.late else "",
        }
        for route in plan.routes
        for number, stop in enumerate(route.stops, start=1)
    ]
    return pd.DataFrame(rows)


def declared_section(frame: Frame, board: DispatchBoard) -> None:
    st.subheader("Declared now")
    if not board.declared:
        st.caption("Nothing is declared broken.")
        return
    editor = frame.user.role in DISPATCHERS
    for item in board.declared:
        left, right = st.columns([5, 1])
        left.markdown(
            f"**{literal_markdown(item.summary)}** — since "
            f"{hhmm(item.declared_at, frame.zone)}, by {item.declared_by}"
        )
        if editor and right.button("End", key=f"end_{item.id}"):
            act(
                lambda i=item.id: end_declaration(
                    frame.engine,
                    user=frame.user,
                    declaration=i,
                    zone=ZoneInfo(frame.zone),
                ),
                "Ended: {}",
            )


def act(action: object, message: str) -> None:
    """Run an action; on success remember the message and redraw."""
    try:
        result = action()  # type: ignore[operator]
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.session_state["dispatch_message"] = message.format(result)
    st.rerun()


def declare_now(frame: Frame, kind: DegradationKind, **fields: Any) -> None:
    """Declare as the signed-in user and say so, or show why not."""
    act(
        lambda: declare(frame.engine, user=frame.user, kind=kind, **fields),
        "Declared: {}",
    )


def declare_section(frame: Frame, board: DispatchBoard) -> None:
    st.subheader("Declare a degradation")
    tabs = st.tabs(
        [
            "Van lost",
            "Area closed",
            "Road closed",
            "Depot lost",
            "Scheduler down",
            "Driver app down",
        ]
    )
    vans = [plate for plate, _, status in board.vans if status.value != "lost"]
    with tabs[0], st.form("van_lost", clear_on_submit=True):
        plate = st.selectbox("Van", vans, index=None, placeholder="Which van?")
        note = st.text_input("What happened", key="van_note", max_chars=120)
        st.caption("Its parcels on board are collected where it was last seen.")
        if st.form_submit_button("Declare van lost", type="primary"):
            if plate is None:
                st.error("Choose the van first; nothing was declared.")
            else:
                declare_now(frame, DegradationKind.VEHICLE_LOST, plate=plate, note=note)
    with tabs[1], st.form("area_closed", clear_on_submit=True):
        codes = st.multiselect("Postcodes closed", board.postcodes)
        note = st.text_input("Why", key="area_note", max_chars=120)
        if st.form_submit_button("Declare area closed", type="primary"):
            declare_now(frame, DegradationKind.AREA_CLOSED, postcodes=codes, note=note)
    with tabs[2], st.form("road_closed", clear_on_submit=True):
        first = st.selectbox("From area", board.postcodes, index=None)
        second = st.selectbox("To area", board.postcodes, index=None)
        note = st.text_input("Why", key="road_note", max_chars=120)
        st.caption("Closes every direct way between the two areas, both directions.")
        if st.form_submit_button("Declare roads closed", type="primary"):
            declare_now(
                frame,
                DegradationKind.ROAD_CLOSED,
                postcodes=[c for c in (first, second) if c],
                note=note,
            )
    depots = {d[0]: d[1] for d in board.depots}
    with tabs[3], st.form("depot_lost", clear_on_submit=True):
        lost = st.selectbox(
            "Depot lost", list(depots), index=None, format_func=depots.__getitem__
        )
        other = st.selectbox(
            "Vans return to", list(depots), index=None, format_func=depots.__getitem__
        )
        note = st.text_input("Why", key="depot_note", max_chars=120)
        if st.form_submit_button("Declare depot lost", type="primary"):
            declare_now(
                frame, DegradationKind.DEPOT_LOST, depot=lost, fallback=other, note=note
            )
    with tabs[4], st.form("scheduler_down", clear_on_submit=True):
        ago = st.number_input(
            "Down since how many minutes",
            min_value=0,
            max_value=24 * 60,
            value=0,
            step=5,
        )
        note = st.text_input("What is known", key="scheduler_note", max_chars=120)
        st.caption("New orders wait unscheduled; the next re-plan places them all.")
        if st.form_submit_button("Declare scheduler down", type="primary"):
            declare_now(
                frame, DegradationKind.SCHEDULER_DOWN, minutes_ago=int(ago), note=note
            )
    with tabs[5], st.form("app_down", clear_on_submit=True):
        note = st.text_input("What is known", key="app_note", max_chars=120)
        st.caption(
            "Plans then go out as SMS manifests and printed sheets. New orders "
            "wait for your next re-plan (drivers only see what was sent); ending "
            "the declaration schedules them."
        )
        if st.form_submit_button("Declare driver app down", type="primary"):
            declare_now(frame, DegradationKind.DRIVER_APP_DOWN, note=note)


def replan_section(frame: Frame) -> None:
    st.subheader("Re-plan")
    with st.form("replan"):
        reason = st.text_input("Why (goes into the journal)", max_chars=200)
        mode = st.radio(
            "How",
            [
                "Quick: keep every route, fit in what lost its place",
                f"Full: search for a better plan (up to {SEARCH_SECONDS:.0f} s)",
            ],
            index=1,
        )
        submitted = st.form_submit_button("Re-plan now", type="primary")
    if not submitted:
        return
    budget = (
        SearchBudget(max_solutions=0)
        if mode.startswith("Quick")
        else SearchBudget(max_solutions=100_000, time_limit=SEARCH_SECONDS)
    )
    with st.spinner("Planning…"):
        act(
            lambda: replan_now(
                frame.engine,
                user=frame.user,
                reason=reason,
                zone=ZoneInfo(frame.zone),
                budget=budget,
            ),
            "Draft plan {} is ready: review the changes below, then publish.",
        )


def diff_section(frame: Frame, board: DispatchBoard) -> None:
    draft, diff = board.draft, board.diff
    if draft is None or diff is None:
        return
    st.subheader(f"Draft plan {draft.version}: what would change")
    st.markdown(
        f"{literal_markdown(draft.reason)} — made {hhmm(draft.created_at, frame.zone)} "
        f"by {draft.created_by} ({ENGINE_WORDS.get(draft.engine, draft.engine)}), "
        f"against plan {diff.base_version}."
    )
    if diff.done_since:
        st.info(
            f"{counted(diff.done_since, 'stop')} done since this draft was made; "
            "publishing brings it up to date first."
        )
    cols = st.columns(5)
    cols[0].metric("Parcels moved to another van", diff.moved_parcels)
    cols[1].metric("Stops re-timed ≥ 5 min", len(diff.retimed))
    cols[2].metric(
        "Parcels newly planned", len({c.parcel_id for c in diff.newly_planned})
    )
    cols[3].metric("Parcels newly unserved", len(diff.newly_unserved))
    cols[4].metric("Late stops", draft.late_stops)
    change_tables(frame, board, diff)
    publish_form(frame, board, draft.version)


def change_tables(frame: Frame, board: DispatchBoard, diff: PlanDiff) -> None:
    code = board.codes.get
    if diff.newly_unserved:
        st.error("These parcels would no longer be served:")
        st.dataframe(
            pd.DataFrame(
                [
                    {"Parcel": code(u.parcel_id, "?"), "Why": u.explanation}
                    for u in diff.newly_unserved
                ]
            ),
            hide_index=True,
        )
    moves = [
        {
            "Parcel": code(c.parcel_id, "?"),
            "Do": KIND_WORDS[c.kind.value],
            "From van": c.before
            or (
                "(collect from the lost van)" if c.kind.value == "transfer" else "(new)"
            ),
            "To van": c.after or "",
            "ETA before": hhmm(c.eta_before, frame.zone),
            "ETA now": hhmm(c.eta_after, frame.zone),
        }
        for c in (*diff.moved, *diff.newly_planned)
    ]
    if moves:
        st.markdown("**Moved or newly planned stops**")
        st.dataframe(pd.DataFrame(moves), hide_index=True)
    if diff.retimed:
        with st.expander(
            f"{counted(len(diff.retimed), 'stop')} re-timed by 5 minutes or more"
        ):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Parcel": code(c.parcel_id, "?"),
                            "Van": c.after,
                            "Do": KIND_WORDS[c.kind.value],
                            "ETA before": hhmm(c.eta_before, frame.zone),
                            "ETA now": hhmm(c.eta_after, frame.zone),
                            "Shift (min)": round(c.eta_shift.total_seconds() / 60)
                            if c.eta_shift
                            else "",
                        }
                        for c in sorted(
                            diff.retimed,
                            key=lambda c: (
                                -abs(c.eta_shift.total_seconds() if c.eta_shift else 0)
                            ),
                        )
                    ]
                ),
                hide_index=True,
            )
    if diff.still_unserved:
        with st.expander(
            f"{counted(len(diff.still_unserved), 'parcel')} left out, with why"
        ):
            st.dataframe(
                pd.DataFrame(
                    [
                        {"Parcel": code(u.parcel_id, "?"), "Why": u.explanation}
                        for u in diff.still_unserved
                    ]
                ),
                hide_index=True,
            )


def publish_form(frame: Frame, board: DispatchBoard, version: int) -> None:
    if frame.user.role not in DISPATCHERS:
        return
    with st.form("publish"):
        chosen = st.multiselect(
            "Send to drivers by",
            list(Channel),
            default=list(board.channels),
            format_func=CHANNEL_WORDS.__getitem__,
        )
        st.caption(
            "Publishing first brings the draft up to date with stops done and "
            "orders placed since it was made; its vans and order stay as reviewed."
        )
        submitted = st.form_submit_button(f"Publish plan {version}", type="primary")
    if not submitted:
        return
    try:
        done = publish_now(
            frame.engine,
            user=frame.user,
            version=version,
            zone=ZoneInfo(frame.zone),
            channels=chosen or None,
        )
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.session_state["dispatch_published"] = done
    ways = ", ".join(CHANNEL_WORDS[c] for c in done.channels)
    extra = " It was brought up to date first." if done.brought_up_to_date else ""
    st.session_state["dispatch_message"] = (
        f"Plan {version} is published ({ways}).{extra}"
    )
    st.rerun()


def manifest_downloads(
    frame: Frame, manifests: tuple[DriverManifest, ...], now: datetime
) -> None:
    if not manifests:
        st.caption("No van has open stops to send.")
        return
    zone = ZoneInfo(frame.zone)
    texts = []
    for manifest in manifests:
        texts.append(f"== {manifest.callsign} {manifest.plate} ==")
        texts.extend(sms_manifest(manifest, zone=zone))
        texts.append("")
    left, right = st.columns(2)
    left.download_button(
        "Printable sheets (PDF)",
        pdf_manifest(manifests, zone=zone, generated_at=now),
        file_name=f"routes-plan-{manifests[0].plan_version}.pdf",
        mime="application/pdf",
    )
    right.download_button(
        "SMS manifests (text)",
        "\n".join(texts),
        file_name=f"sms-plan-{manifests[0].plan_version}.txt",
        mime="text/plain",
    )
    with st.expander("SMS texts per driver"):
        st.code("\n".join(texts), language=None)
    st.caption(
        "The sheets hold addresses: hand each driver their own and shred them "
        "after the shift. The SMS texts go out once the SMS gateway is connected."
    )


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="dispatch")
        board = dispatch_board(frame.engine)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Dispatch")
    message = st.session_state.pop("dispatch_message", None)
    if message:
        st.success(message)
    published = board.published
    cols = st.columns(5)
    cols[0].metric(
        "Plan drivers follow", f"v{published.version}" if published else "none"
    )
    cols[1].metric("Open stops", published.open_stops if published else 0)
    cols[2].metric("Late stops", published.late_stops if published else 0)
    cols[3].metric("Orders not in the plan", len(board.backlog))
    cols[4].metric("Declared broken", len(board.declared))
    if board.backlog:
        st.warning(
            f"{counted(len(board.backlog), 'order')} in no route of the plan drivers "
            "follow; re-plan to place them."
        )

    declared_section(frame, board)
    if frame.user.role in DISPATCHERS:
        with st.expander("Declare a degradation", expanded=not board.declared):
            declare_section(frame, board)
        replan_section(frame)
    else:
        st.info("You can follow the plan here; dispatchers and management change it.")
    diff_section(frame, board)

    shown = board.draft or published
    if shown is not None:
        title = "Draft" if shown is board.draft else "Published"
        st.subheader(f"{title} plan {shown.version}: routes")
        st.plotly_chart(
            route_map(shown, board.depots, frame.zone, board.lost_vans),
            key="route_map",
            config=CHART_CONFIG,
        )
        st.dataframe(
            plan_table(shown, frame.zone, board.now), hide_index=True, height=420
        )
        if shown.unserved:
            st.caption(
                f"{counted(len(shown.unserved), 'parcel')} left out of this plan."
            )

    done = st.session_state.get("dispatch_published")
    if isinstance(done, Published) and done.manifests:
        st.subheader(f"Plan {done.version} for drivers without the app")
        manifest_downloads(frame, done.manifests, board.now)
    elif published is not None and frame.user.role in DISPATCHERS:
        with st.expander("Print or text the published plan"):
            try:
                manifest_downloads(frame, published_manifests(frame.engine), board.now)
            except ControlRoomError as exc:
                st.error(error_markdown(exc))


render()
