"""Placeholder while the screen is built (replaced in this change)."""

from __future__ import annotations

import streamlit as st

from controlroom.session_frame import frame_of

frame_of(st.session_state, screen="payments")
st.title("Payments")
