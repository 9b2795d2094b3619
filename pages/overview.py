"""Overview: the day's numbers, systems, live parcels and payments, vans, flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.errors import ControlRoomError
from controlroom.orders.models import ParcelStatus
from controlroom.overview.banner import STALE_AFTER_REFRESHES, banner_html
from controlroom.overview.figures import STATE_TEXT_COLOURS, city_map, flow_chart
from controlroom.overview.parcel_names import ParcelNames, parcel_names_for
from controlroom.overview.queries import ParcelFilter, ParcelRow, code_search_problem
from controlroom.overview.snapshot import OverviewSnapshot, overview_snapshot
from controlroom.overview.system_tiles import system_tiles_html
from controlroom.overview.wording import (
    channel_words,
    literal_markdown,
    method_words,
    parcel_status_words,
    payment_words,
)
from controlroom.payments.models import InvoiceStatus, PaymentMethod
from controlroom.session_frame import (
    Frame,
    day_time,
    error_markdown,
    frame_of,
    local_time,
    short_time,
)

# Shorter than the refresh, so each refresh reads afresh while several
# screens refreshing within the same two seconds share one read.
DATA_TTL_SECONDS = 2
# No toolbar: its buttons sat on the legends, and a glance needs no zoom.
CHART_CONFIG = {"displayModeBar": False}
# About fifteen rows: enough to scan without scrolling the page away.
TABLE_HEIGHT = 600


@st.cache_data(ttl=DATA_TTL_SECONDS, show_spinner=False)
def load(
    _engine: Engine,
    url: str,
    zone: str,
    filters: ParcelFilter,
    show_codes: bool,
    refresh_seconds: float,
    _names: ParcelNames,
) -> OverviewSnapshot:
    return overview_snapshot(
        _engine,
        zone=zone,
        filters=filters,
        names=_names,
        stale_after=timedelta(seconds=STALE_AFTER_REFRESHES * refresh_seconds),
    )


def filters_form(show_codes: bool) -> ParcelFilter:
    widths = [2, 2, 1.4, 1.6, 1] if show_codes else [2, 2, 1.4, 1]
    columns = st.columns(widths, vertical_alignment="bottom")
    statuses = columns[0].multiselect(
        "Parcel status",
        list(ParcelStatus),
        format_func=parcel_status_words,
        key="f_status",
    )
    payments = columns[1].multiselect(
        "Payment", list(InvoiceStatus), format_func=payment_words_of, key="f_payment"
    )
    methods = columns[2].multiselect(
        "Method", list(PaymentMethod), format_func=method_words, key="f_method"
    )
    code = ""
    if show_codes:
        code = columns[3].text_input(
            "Package code", key="f_code", placeholder="starts with, e.g. 7KQ2"
        )
        problem = code_search_problem(code)
        if problem:
            st.warning(problem)
    late = columns[-1].toggle("Late only", key="f_late")
    return ParcelFilter(
        tuple(statuses), tuple(payments), tuple(methods), late, code.strip()
    )


def payment_words_of(status: InvoiceStatus) -> str:
    return payment_words(status, None)


def payment_cell(parcel: ParcelRow) -> str:
    words = payment_words(parcel.payment, parcel.payment_exception)
    # The amounts only when they differ: that is when a person must look.
    paid, asked = parcel.paid_sat or 0, parcel.amount_sat or 0
    if paid and paid != asked:
        words += f" · {paid:,} of {asked:,} sat"
    return words


def parcel_table(snapshot: OverviewSnapshot, zone: str, header: str) -> pd.DataFrame:
    parcels, today = snapshot.parcels, snapshot.day.now
    return pd.DataFrame(
        {
            header: [p.parcel for p in parcels],
            "Status": [parcel_status_words(p.status) for p in parcels],
            "Late": ["⚠ Late" if p.late else "" for p in parcels],
            "Payment": [payment_cell(p) for p in parcels],
            "Method": [method_words(p.method) for p in parcels],
            "Ordered": [day_time(p.ordered_at, zone, today=today) for p in parcels],
            "Deliver by": [
                day_time(p.deliver_until, zone, today=today) for p in parcels
            ],
            "Picked up": [day_time(p.picked_up_at, zone, today=today) for p in parcels],
            "Delivered": [day_time(p.delivered_at, zone, today=today) for p in parcels],
            "Channel": [channel_words(p.channel) for p in parcels],
        }
    )


def column_widths(header: str) -> dict[str, Any]:
    sizes = {
        header: 140 if header == "Package code" else 172,
        "Status": 85,
        "Late": 58,
        "Payment": 190,
        "Method": 80,
        "Ordered": 68,
        "Deliver by": 78,
        "Picked up": 75,
        "Delivered": 75,
        "Channel": 90,
    }
    return {name: st.column_config.Column(width=px) for name, px in sizes.items()}


def kpi_row(snapshot: OverviewSnapshot) -> None:
    kpis = snapshot.kpis
    columns = st.columns(6)
    columns[0].metric("Orders today", kpis.ordered)
    columns[1].metric("Paid", kpis.paid)
    columns[2].metric("Picked up", kpis.picked_up)
    columns[3].metric("Delivered", kpis.delivered)
    # Two plain counts, the same for every role and every moment: a delta
    # arrow shown only while one is non-zero read as a trend.
    columns[4].metric(
        "Late",
        kpis.late,
        help="Delivered after the delivery window, or not delivered and past it.",
    )
    columns[5].metric(
        "Overdue",
        kpis.overdue,
        help="Still out and already past the delivery window (counted in Late too).",
    )


def systems(snapshot: OverviewSnapshot, zone: str) -> None:
    st.subheader("Systems")
    st.markdown(system_tiles_html(snapshot.components), unsafe_allow_html=True)
    for component in (c for c in snapshot.components if c.state.is_down):
        colour = STATE_TEXT_COLOURS[component.state]
        st.markdown(
            f":{colour}[**{component.name}: {component.state.label}**] since "
            f"{short_time(component.since, zone)}"
            + (f" — {literal_markdown(component.note)}" if component.note else "")
        )


def live(frame: Frame) -> None:
    names = parcel_names_for(frame.user, frame.settings)
    top = st.container()
    st.subheader("Parcels and payments")
    filters = filters_form(names.show_codes)
    try:
        snapshot = load(
            frame.engine,
            frame.url,
            frame.zone,
            filters,
            names.show_codes,
            frame.settings.refresh_seconds,
            names,
        )
    except ControlRoomError as exc:
        top.error(error_markdown(exc))
        return

    with top:
        st.markdown(banner_html(snapshot.banner, frame.zone), unsafe_allow_html=True)
        st.title("Overview")
        st.caption(
            f"Today in {frame.zone}: parcels ordered since "
            f"{local_time(snapshot.day.start, frame.zone)}; refreshed "
            f"{local_time(snapshot.day.now, frame.zone, seconds=True)}."
        )
        kpi_row(snapshot)
        systems(snapshot, frame.zone)

    header = "Package code" if names.show_codes else "Parcel (pseudonym)"
    st.dataframe(
        parcel_table(snapshot, frame.zone, header),
        hide_index=True,
        height=TABLE_HEIGHT,
        column_config=column_widths(header),
    )
    st.caption(
        f"Newest {len(snapshot.parcels)} matching parcels, newest first; times in "
        f"{frame.zone}, with the date only when it is not today."
    )

    city, flow = st.columns([1, 1])
    with city:
        st.subheader("City: vans and open stops")
        st.plotly_chart(
            city_map(snapshot.points, frame.zone), key="city_map", config=CHART_CONFIG
        )
    with flow:
        st.subheader("Parcel flow today")
        st.plotly_chart(
            flow_chart(snapshot.flow, frame.zone, snapshot.day.now),
            key="flow",
            config=CHART_CONFIG,
        )


def render() -> None:
    try:
        frame = frame_of(st.session_state, screen="overview")
    except ControlRoomError as exc:
        st.error(error_markdown(exc))
        return
    # The banner is drawn inside the fragment, from the same read as the
    # numbers, so both say the same time (the frame leaves it to this page).
    st.fragment(run_every=frame.settings.refresh_seconds)(live)(frame)


render()
