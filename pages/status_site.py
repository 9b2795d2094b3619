"""Status site: build the public static site, see how fresh it is, preview it."""

from __future__ import annotations

import streamlit as st

from controlroom.errors import ControlRoomError
from controlroom.session_frame import Frame, error_markdown, frame_of, local_time
from controlroom.status_site.actions import (
    SiteState,
    build_message,
    build_site_now,
    site_state,
)
from controlroom.status_site.reader import BundleInfo, look_up, preview_html

MESSAGE_KEY = "status_site_message"


def build_section(frame: Frame, state: SiteState) -> None:
    if state.info is None:
        st.warning(
            "The status site has not been built yet. Build it now; then copy "
            f"`{state.folder}` to the static host, or run `controlroom "
            "status-site build --out DIR` where the host reads it."
        )
    elif state.stale:
        st.warning(
            f"**Stale:** built {local_time(state.info.generated_at, frame.zone)}, "
            f"{state.age_minutes()} minutes ago; visitors now see the "
            '"may be out of date" banner. Build it again.',
            icon=":material/schedule:",
        )
    else:
        fresh_until = state.info.generated_at + state.info.stale_after
        st.success(
            f"Built {local_time(state.info.generated_at, frame.zone)}, "
            f"{state.age_minutes()} minutes ago; fresh until "
            f"{local_time(fresh_until, frame.zone)}.",
            icon=":material/check_circle:",
        )
    if st.button("Build now", type="primary"):
        try:
            report = build_site_now(frame.engine, settings=frame.settings)
        except ControlRoomError as exc:
            st.error(error_markdown(exc))
            return
        st.session_state[MESSAGE_KEY] = build_message(report, zone=frame.zone)
        st.rerun()
    st.caption(
        f"Built into `{state.folder}`. The folder's `hosting/` has an nginx "
        "configuration and a Tor onion-service snippet."
    )


def lookup_section(info: BundleInfo) -> None:
    st.subheader("Look up a code as the public would")
    st.caption(
        "Hashes the code with the site's salt and reads only that hash's group "
        "file of the built site, as a visitor's browser does; the database is "
        "not asked."
    )
    with st.form("public_lookup"):
        typed = st.text_input("Package code", max_chars=40, key="public_code")
        submitted = st.form_submit_button("Look up")
    if not submitted:
        return
    try:
        answer = look_up(info, typed)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    if answer.record is None:
        st.info(f"{answer.code} is not on the site (read `{answer.group_file}`).")
        return
    record = answer.record
    st.success(
        f"**{answer.code}: {record.words}** · last update {record.when} · "
        f"{record.city} (read `{answer.group_file}`)"
    )


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="status_site")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    st.title("Status site")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.success(message)
    try:
        state = site_state(frame.engine, settings=frame.settings)
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return

    build_section(frame, state)
    if state.info is None:
        return
    lookup_section(state.info)
    st.subheader("Preview of the public page")
    # The preview is our own escaped page with its script left out.
    st.iframe(preview_html(state.info), height=900)


render()
