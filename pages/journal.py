"""Journal: the newest events, filtered, and a check of the whole hash chain."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.errors import ControlRoomError
from controlroom.overview.actions import verify_journal_now
from controlroom.overview.snapshot import JournalSnapshot, journal_snapshot
from controlroom.session_frame import error_markdown, frame_of, local_time

TABLE_HEIGHT = 600


@st.cache_data(ttl=2, show_spinner=False)
def load(
    _engine: Engine, url: str, kinds: tuple[str, ...], subject: str
) -> JournalSnapshot:
    return journal_snapshot(_engine, kinds=kinds, subject=subject)


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="journal")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Journal")
    st.caption(
        "Every state change, hash-chained. Payloads are not shown here: some "
        "hold personal data."
    )
    if st.button("Verify the journal", icon=":material/verified:"):
        check = verify_journal_now(frame.engine)
        if check.intact:
            st.success(
                f"Journal intact: {check.head_seq} events, head "
                f"{check.head_seq}:{check.head_hash}"
            )
        else:
            st.error(f"Journal broken at event {check.broken_seq}: {check.problem}.")

    left, right = st.columns([3, 2])
    try:
        kinds_known = load(frame.engine, frame.url, (), "").kinds
        kinds = left.multiselect("Kind", kinds_known, key="j_kinds")
        subject = right.text_input(
            "Subject starts with", key="j_subject", placeholder="parcel: or component:"
        )
        snapshot = load(frame.engine, frame.url, tuple(kinds), subject.strip())
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return

    events = snapshot.events
    st.dataframe(
        pd.DataFrame(
            {
                "#": [e.seq for e in events],
                "Occurred": [
                    local_time(e.occurred_at, frame.zone, seconds=True) for e in events
                ],
                "Kind": [e.kind for e in events],
                "Subject": [e.subject for e in events],
                "Actor": [e.actor for e in events],
                "What": [e.what for e in events],
            }
        ),
        hide_index=True,
        height=TABLE_HEIGHT,
        column_config={
            "#": st.column_config.NumberColumn(width=70, format="%d"),
            "Occurred": st.column_config.Column(width=170),
            "Kind": st.column_config.Column(width=190),
            "Subject": st.column_config.Column(width=150),
            "Actor": st.column_config.Column(width=130),
            "What": st.column_config.Column(width=360),
        },
    )
    st.caption(f"Newest {len(events)} events; times in {frame.zone}.")


render()
