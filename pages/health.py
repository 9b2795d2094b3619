"""System health: every component's state; ops and management can change it."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.errors import ControlRoomError
from controlroom.health.models import ComponentState
from controlroom.overview.actions import (
    change_component_state,
    release_component_to_probes,
)
from controlroom.overview.figures import STATE_COLOURS
from controlroom.overview.snapshot import HealthSnapshot, health_snapshot
from controlroom.session_frame import (
    HEALTH_EDITORS,
    Frame,
    error_title,
    frame_of,
    local_time,
)


@st.cache_data(ttl=2, show_spinner=False)
def load(_engine: Engine, url: str) -> HealthSnapshot:
    return health_snapshot(_engine)


def component_table(snapshot: HealthSnapshot, zone: str) -> pd.DataFrame:
    rows = snapshot.components
    return pd.DataFrame(
        {
            "Component": [c.name for c in rows],
            "State": [c.state.label for c in rows],
            "Since": [local_time(c.since, zone) for c in rows],
            "Note": [c.note for c in rows],
            "Latency (ms)": [c.latency_ms for c in rows],
            "Last probe": [local_time(c.probed_at, zone, seconds=True) for c in rows],
            "Function": [c.function for c in rows],
            "Region": [c.region for c in rows],
            "Provider": [c.provider for c in rows],
            "Key": [c.key for c in rows],
        }
    )


def state_colour(label: object) -> str:
    state = next(s for s in ComponentState if s.label == label)
    return f"background-color: {STATE_COLOURS[state]}; color: white"


def change_form(frame: Frame, snapshot: HealthSnapshot) -> None:
    names = {c.key: c.name for c in snapshot.components}
    with st.form("set_state", clear_on_submit=True):
        st.subheader("Set a component's state")
        key = st.selectbox("Component", list(names), format_func=names.__getitem__)
        state = st.selectbox(
            "New state", list(ComponentState), format_func=lambda s: s.label
        )
        note = st.text_input("Note (why, who is on it)", max_chars=240)
        st.caption(
            "A state you set holds: health probes no longer change it until "
            "you hand the component back to them below."
        )
        submitted = st.form_submit_button("Set state", type="primary")
    if not submitted or state is None:
        return
    try:
        changed = change_component_state(
            frame.engine, user=frame.user, key=key, state=state, note=note
        )
    except ControlRoomError as exc:
        st.error(f"**{error_title(exc)}.** {exc}")
        return
    load.clear()
    st.session_state["health_message"] = (
        f"{names[key]} is now {state.label}." if changed else "Nothing changed."
    )
    st.rerun()


def release_form(frame: Frame, snapshot: HealthSnapshot) -> None:
    held = {
        c.key: f"{c.name} (held by {c.held_by})"
        for c in snapshot.components
        if c.held_by
    }
    if not held:
        return
    with st.form("release", clear_on_submit=True):
        st.subheader("Hand back to the health probes")
        key = st.selectbox("Held component", list(held), format_func=held.__getitem__)
        submitted = st.form_submit_button("Release")
    if not submitted or key is None:
        return
    try:
        release_component_to_probes(frame.engine, user=frame.user, key=key)
    except ControlRoomError as exc:
        st.error(f"**{error_title(exc)}.** {exc}")
        return
    load.clear()
    st.session_state["health_message"] = f"{held[key]} is back with its probes."
    st.rerun()


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="health")
    except ControlRoomError as exc:
        st.error(f"**{error_title(exc)}.** {exc}")
        return
    st.title("System health")
    message = st.session_state.pop("health_message", None)
    if message:
        st.success(message)
    try:
        snapshot = load(frame.engine, frame.url)
    except ControlRoomError as exc:
        st.error(f"**{error_title(exc)}.** {exc}")
        return
    table = component_table(snapshot, frame.zone)
    st.dataframe(table.style.map(state_colour, subset=["State"]), hide_index=True)
    if frame.user.role in HEALTH_EDITORS:
        change_form(frame, snapshot)
        release_form(frame, snapshot)
    else:
        st.info("You can follow the systems here; ops and management set states.")


render()
