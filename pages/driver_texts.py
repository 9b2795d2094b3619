"""Driver texts: what drivers texted from the dedicated phones, and those phones."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.driver_sms.actions import (
    PHONE_KEEPERS,
    load_board,
    register,
    revoke,
    unlock,
)
from controlroom.driver_sms.board import DriverTextsBoard
from controlroom.driver_sms.commands import COMMAND_LIST
from controlroom.errors import ControlRoomError
from controlroom.session_frame import Frame, error_markdown, frame_of, short_time

MESSAGE_KEY = "driver_texts_message"


@st.cache_data(ttl=2, show_spinner=False)
def load(_engine: Engine, url: str) -> DriverTextsBoard:
    return load_board(_engine)


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


def texts_section(board: DriverTextsBoard, zone: str) -> None:
    st.subheader("Latest texts")
    st.caption(f"Drivers text: {COMMAND_LIST}. PINs are never shown or kept.")
    if not board.texts:
        st.info("No driver has texted yet.")
        return
    if board.problems:
        st.warning(
            f"{board.problems} of the latest texts "
            f"{'needs' if board.problems == 1 else 'need'} a look; "
            "they are listed first.",
            icon=":material/warning:",
        )
    lines = board.texts
    st.dataframe(
        pd.DataFrame(
            {
                "": ["⚠" if line.problem else "" for line in lines],
                "Received": [short_time(line.received_at, zone) for line in lines],
                "Driver": [line.sender for line in lines],
                "Command": [line.command.capitalize() for line in lines],
                "Package code": [line.code for line in lines],
                "Outcome": [line.outcome_words for line in lines],
                "Text": [line.text for line in lines],
                "Reply": [line.reply for line in lines],
            }
        ),
        hide_index=True,
    )


def phones_section(frame: Frame, board: DriverTextsBoard) -> None:
    st.subheader("Registered phones")
    keeps = frame.user.role in PHONE_KEEPERS
    for phone in board.locked:
        until = short_time(phone.locked_until, frame.zone)
        # The masked number's stars would end the bold early: escape them.
        masked = phone.phone.replace("*", r"\*")
        st.error(
            f"**{phone.callsign}'s phone {masked} is locked** until "
            f"{until} after five wrong PINs.",
            icon=":material/lock:",
        )
        if keeps and st.button(
            f"Unlock {phone.callsign}'s phone",
            key=f"unlock_{phone.registration_id}",
            help="Only after you spoke to the driver on the phone.",
        ):
            act(
                partial(
                    unlock,
                    frame.engine,
                    user=frame.user,
                    registration_id=phone.registration_id,
                )
            )
    if not board.phones:
        st.info("No dedicated phone is registered yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Driver": [p.callsign for p in board.phones],
                    "Phone": [p.phone for p in board.phones],
                    "Registered": [
                        short_time(p.registered_at, frame.zone) for p in board.phones
                    ],
                    "By": [p.registered_by for p in board.phones],
                    "Wrong PINs in a row": [p.wrong_pins for p in board.phones],
                    "Locked until": [
                        short_time(p.locked_until, frame.zone) for p in board.phones
                    ],
                }
            ),
            hide_index=True,
        )
    if keeps:
        left, right = st.columns(2)
        with left:
            register_form(frame, board)
        with right:
            revoke_form(frame, board)


def register_form(frame: Frame, board: DriverTextsBoard) -> None:
    with st.form("register_phone", clear_on_submit=True):
        st.markdown("**Register a dedicated phone** (replaces the driver's old one)")
        driver = st.selectbox(
            "Driver", list(board.drivers), format_func=board.drivers.__getitem__
        )
        phone = st.text_input("Phone number", placeholder="+47 912 34 567")
        pin = st.text_input("PIN (4 to 8 digits)", type="password", max_chars=8)
        pin_again = st.text_input("PIN again", type="password", max_chars=8)
        submitted = st.form_submit_button("Register phone")
    if submitted and driver is not None:
        act(
            lambda: register(
                frame.engine,
                user=frame.user,
                driver_id=driver,
                phone=phone,
                pin=pin,
                pin_again=pin_again,
            )
        )


def revoke_form(frame: Frame, board: DriverTextsBoard) -> None:
    if not board.phones:
        return
    phones = {p.registration_id: f"{p.callsign} {p.phone}" for p in board.phones}
    with st.form("revoke_phone"):
        st.markdown("**Revoke a phone** (lost, stolen or handed back)")
        chosen = st.selectbox("Phone", list(phones), format_func=phones.__getitem__)
        submitted = st.form_submit_button("Revoke phone")
    if submitted and chosen is not None:
        act(lambda: revoke(frame.engine, user=frame.user, registration_id=chosen))


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="driver_texts")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Driver texts")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.success(message)
    try:
        board = load(frame.engine, frame.url)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return

    texts_section(board, frame.zone)
    phones_section(frame, board)


render()
