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
from controlroom.overview.snapshot import HealthSnapshot, health_snapshot
from controlroom.overview.system_tiles import TILE_COLOURS, state_words
from controlroom.overview.wording import literal_markdown
from controlroom.session_frame import (
    HEALTH_EDITORS,
    Frame,
    day_time,
    error_markdown,
    frame_of,
)


@st.cache_data(ttl=2, show_spinner=False)
def load(_engine: Engine, url: str) -> HealthSnapshot:
    return health_snapshot(_engine)


def component_table(snapshot: HealthSnapshot, zone: str) -> pd.DataFrame:
    rows, now = snapshot.components, snapshot.now
    return pd.DataFrame(
        {
            "Component": [c.name for c in rows],
            "State": [state_words(c.state) for c in rows],
            "Since": [day_time(c.since, zone, today=now) for c in rows],
            "Held by": [c.held_by or "" for c in rows],
            "Note": [literal_markdown(c.note) for c in rows],
            "Runs at": [
                " · ".join(p for p in (c.region, c.provider) if p) for c in rows
            ],
            "Function": [c.function for c in rows],
            "Latency (ms)": [
                "" if c.latency_ms is None else f"{c.latency_ms:,}" for c in rows
            ],
            "Last probe": [day_time(c.probed_at, zone, today=now) for c in rows],
            "Key": [c.key for c in rows],
        }
    )


def state_colour(words: object) -> str:
    state = next(s for s in ComponentState if state_words(s) == words)
    background, text = TILE_COLOURS[state]
    return f"background-color: {background}; color: {text}"


def health_table(snapshot: HealthSnapshot, zone: str) -> None:
    # A static table: as tall as its rows, long notes wrap, nothing is cut.
    table = component_table(snapshot, zone)
    styled = table.style.map(state_colour, subset=["State"]).hide(axis="index")
    st.table(styled)
    st.caption(
        f"Times in {zone}, with the date only when it is not today. Held by: "
        "the person who declared the state by hand; probes do not change it "
        "until it is released."
    )


def change_form(frame: Frame, snapshot: HealthSnapshot) -> None:
    names = {c.key: c.name for c in snapshot.components}
    with st.form("set_state", clear_on_submit=True):
        st.subheader("Set a component's state")
        key = st.selectbox("Component", list(names), format_func=names.__getitem__)
        states: list[ComponentState] = list(ComponentState)
        # No preselected state: a click on "Set state" without choosing one
        # must not quietly declare a component operational.
        state = st.selectbox(
            "New state",
            states,
            index=None,
            placeholder="Choose the new state",
            format_func=lambda s: s.label,
        )
        note = st.text_input("Note (why, who is on it)", max_chars=240)
        st.caption(
            "A state you set holds: health probes no longer change it until "
            "you hand the component back to them below. Setting Operational "
            "hands it back at once."
        )
        submitted = st.form_submit_button("Set state", type="primary")
    if not submitted:
        return
    if state is None:
        st.error("Choose the new state first; nothing was changed.")
        return
    try:
        changed = change_component_state(
            frame.engine, user=frame.user, key=key, state=state, note=note
        )
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
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
        st.error(error_markdown(exc))
        return
    load.clear()
    st.session_state["health_message"] = f"{held[key]} is back with its probes."
    st.rerun()


def live_table(frame: Frame) -> None:
    """The table, re-read on every refresh while the page is open."""
    try:
        snapshot = load(frame.engine, frame.url)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    health_table(snapshot, frame.zone)


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="health")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("System health")
    message = st.session_state.pop("health_message", None)
    if message:
        st.success(message)
    try:
        snapshot = load(frame.engine, frame.url)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.fragment(run_every=frame.settings.refresh_seconds)(live_table)(frame)
    if frame.user.role in HEALTH_EDITORS:
        change_form(frame, snapshot)
        release_form(frame, snapshot)
    else:
        st.info("You can follow the systems here; ops and management set states.")


render()
