"""Broadcasts: compose an update, preview it per channel, send, and follow it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st

from controlroom.broadcasts.actions import (
    BROADCASTERS,
    TEMPLATE_EDITORS,
    BroadcastBoard,
    draft_texts,
    load_board,
    preview_draft,
    retry,
    save_template,
    send,
)
from controlroom.broadcasts.audiences import Audience, AudienceKind
from controlroom.broadcasts.composer import BroadcastDraft, ChannelPreview
from controlroom.broadcasts.models import MessageChannel, MessageState
from controlroom.broadcasts.templates import PURPOSES
from controlroom.errors import ControlRoomError
from controlroom.session_frame import Frame, error_markdown, frame_of, short_time

MESSAGE_KEY = "broadcasts_message"
DRAFT_KEY = "broadcast_draft_key"
BROADCAST_PURPOSES = ("incident_update_drivers", "incident_update_customers")
AUDIENCE_WORDS = {
    AudienceKind.ALL_DRIVERS: "All drivers",
    AudienceKind.DRIVERS_IN_AREA: "Drivers in an area",
    AudienceKind.AFFECTED_CUSTOMERS: "Customers whose parcels are affected",
    AudienceKind.OPEN_ORDER_CUSTOMERS: "All customers with open orders",
}
CHANNEL_WORDS = {
    MessageChannel.APP: "Driver app",
    MessageChannel.SMS: "SMS",
    MessageChannel.STATUS_SITE: "Status site",
}


def act(call: Callable[[], str]) -> None:
    """Run one action; show its error here, or its outcome after a rerun."""
    try:
        message = call()
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.session_state[MESSAGE_KEY] = message
    st.rerun()


def split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(",", " ").split() if part)


def audience_input(board: BroadcastBoard) -> Audience:
    kinds = list(AudienceKind)
    kind = st.radio("Audience", kinds, format_func=AUDIENCE_WORDS.__getitem__)
    if kind is AudienceKind.DRIVERS_IN_AREA:
        area = st.selectbox("Area", board.areas or ("",))
        return Audience(kind, area=area or "")
    if kind is AudienceKind.AFFECTED_CUSTOMERS:
        postcodes = st.text_input("Postcodes (pickup or delivery)", key="postcodes")
        codes = st.text_input("Package codes", key="codes")
        return Audience(kind, postcodes=split(postcodes), codes=split(codes))
    return Audience(kind)


def channel_preview(shown: ChannelPreview, key: str) -> None:
    st.caption(f"{CHANNEL_WORDS[shown.channel]} · to {shown.sample}")
    st.code(shown.text, language=None, wrap_lines=True)
    if shown.sms is None:
        return
    plan = shown.sms
    st.markdown(
        f"**{plan.encoding}** · {plan.segment_count} segment(s) · "
        f"{plan.units_left} {plan.unit_name} left in the last · "
        f"cost {shown.cost} øre for {shown.recipients} recipient(s)"
    )
    offer = shown.gsm_offer
    if offer is not None:
        st.info(
            f"{plan.ucs2_character!r} makes this UCS-2. Plain spelling: "
            f"“{offer.text}” ({offer.segments_offered} segment(s) instead of "
            f"{offer.segments_now})."
        )
        st.button(
            "Use the GSM-7 spelling",
            key=f"gsm_{key}",
            on_click=st.session_state.__setitem__,
            args=(key, offer.text),
        )


def composer(frame: Frame, board: BroadcastBoard) -> None:
    st.subheader("Compose")
    draft_key = st.session_state.setdefault(DRAFT_KEY, uuid.uuid4().hex)
    incidents = {None: "No incident"} | {
        i.incident_id: f"#{i.incident_id} {i.title} ({i.status})"
        for i in board.incidents
    }
    # The most severe open incident first: what a broadcast is usually about.
    incident_id = st.selectbox(
        "Incident",
        list(incidents),
        index=1 if board.incidents else 0,
        format_func=incidents.__getitem__,
    )
    purpose_key = st.selectbox(
        "Message", BROADCAST_PURPOSES, format_func=lambda k: PURPOSES[k].label
    )
    purpose = PURPOSES[purpose_key]
    try:
        audience = audience_input(board)
    except ControlRoomError as exc:
        st.info(error_markdown(exc))
        return
    channels = st.multiselect(
        "Channels",
        list(purpose.channels),
        # While the driver app is down, drivers are reached by SMS too.
        default=[
            c
            for c in purpose.channels
            if c is purpose.channels[0] or (board.app_down and c is MessageChannel.SMS)
        ],
        format_func=CHANNEL_WORDS.__getitem__,
    )
    message = st.text_area("What to say", key="broadcast_message", max_chars=600)
    next_update = st.text_input("Next update by", key="next_update", max_chars=20)
    if board.app_down and MessageChannel.APP in channels:
        st.warning(
            f"{', '.join(board.app_down)} is down: app messages wait in the "
            "outbox. Drivers whose app is down need the SMS channel."
        )
    if not channels or not message.strip():
        st.caption("Choose channels and write what to say to see the texts.")
        return

    title = next((i.title for i in board.incidents if i.incident_id == incident_id), "")
    values = {
        "message": message.strip(),
        "next_update": next_update.strip() or "the next report",
        "incident": title or "Update",
        "status": next(
            (i.status for i in board.incidents if i.incident_id == incident_id), ""
        ),
        "area": audience.area,
    }
    try:
        rendered = draft_texts(
            frame.engine, purpose=purpose_key, channels=channels, values=values
        )
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return

    texts: dict[MessageChannel, str] = {}
    columns = st.columns(len(channels))
    for column, channel in zip(columns, channels, strict=True):
        key = f"text_{purpose_key}_{channel.value}"
        # A new rendering (the message changed) replaces the text; an edit
        # of the text itself stays until then.
        if st.session_state.get(f"{key}_from") != rendered[channel]:
            st.session_state[f"{key}_from"] = rendered[channel]
            st.session_state[key] = rendered[channel]
        with column:
            texts[channel] = st.text_area(CHANNEL_WORDS[channel], key=key)
    draft = BroadcastDraft(draft_key, purpose_key, audience, texts, incident_id)
    try:
        shown = preview_draft(frame.engine, draft=draft, settings=frame.settings)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    for column, item in zip(columns, shown, strict=True):
        with column:
            channel_preview(item, f"text_{purpose_key}_{item.channel.value}")

    if frame.user.role in BROADCASTERS and st.button("Send", type="primary"):
        try:
            outcome = send(
                frame.engine, user=frame.user, draft=draft, settings=frame.settings
            )
        except ControlRoomError as exc:
            st.error(error_markdown(exc))
            return
        # The next draft is a new update; this one can no longer be re-sent.
        st.session_state[DRAFT_KEY] = uuid.uuid4().hex
        st.session_state[MESSAGE_KEY] = outcome
        st.rerun()


def deliveries(frame: Frame, board: BroadcastBoard) -> None:
    st.subheader("Delivery")
    if board.waiting_for_app:
        st.warning(
            f"{board.waiting_for_app} driver-app message(s) wait: the driver app "
            "is down. Send the same update by SMS."
        )
    rows = [
        {
            "Broadcast": d.broadcast_id,
            "Time": short_time(d.created_at, frame.zone),
            "By": d.created_by,
            "Audience": d.audience.replace("_", " "),
            "Channel": CHANNEL_WORDS[channel],
            **{state.value.capitalize(): counts[state] for state in MessageState},
        }
        for d in board.deliveries
        for channel, counts in d.counts.items()
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption("No broadcast sent yet.")

    st.markdown("**Failed, waiting for a person**")
    if not board.flagged:
        st.caption("Nothing failed.")
    for item in board.flagged:
        left, right = st.columns([4, 1])
        left.markdown(
            f"**{CHANNEL_WORDS[item.channel]} to {item.recipient}** failed after "
            f"{item.attempts} attempt(s): {item.reason} "
            f"(message {item.message_id}, {item.update_key})"
        )
        if frame.user.role in BROADCASTERS and right.button(
            "Send again", key=f"retry_{item.message_id}"
        ):
            act(
                partial(
                    retry, frame.engine, user=frame.user, message_id=item.message_id
                )
            )

    st.markdown("**Unmatched delivery receipts** (shown, never counted)")
    if not board.unmatched:
        st.caption("None.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Arrived": [
                    short_time(r.received_at, frame.zone) for r in board.unmatched
                ],
                "Id": [r.message_id for r in board.unmatched],
                "State": [r.stat for r in board.unmatched],
                "Why not matched": [r.reason for r in board.unmatched],
            }
        ),
        hide_index=True,
    )


def template_editor(frame: Frame, board: BroadcastBoard) -> None:
    st.subheader("Templates")
    lines = {(t.purpose, t.channel): t for t in board.templates}
    chosen = st.selectbox(
        "Template",
        list(lines),
        format_func=lambda pc: f"{PURPOSES[pc[0]].label} · {CHANNEL_WORDS[pc[1]]}",
    )
    line = lines[chosen]
    purpose = PURPOSES[line.purpose]
    names = ", ".join("{{ " + name + " }}" for name in sorted(purpose.placeholders))
    edited = short_time(line.updated_at, frame.zone)
    st.caption(f"Placeholders: {names} · last edited by {line.updated_by}, {edited}")
    editable = frame.user.role in TEMPLATE_EDITORS
    body = st.text_area(
        "Text",
        value=line.body,
        key=f"template_{line.purpose}_{line.channel.value}",
        disabled=not editable,
    )
    if editable and st.button("Save template"):
        act(
            lambda: save_template(
                frame.engine,
                user=frame.user,
                purpose=line.purpose,
                channel=line.channel,
                body=body,
            )
        )


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="broadcasts")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Broadcasts")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.success(message)
    try:
        board = load_board(frame.engine)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return

    composer(frame, board)
    deliveries(frame, board)
    template_editor(frame, board)


render()
