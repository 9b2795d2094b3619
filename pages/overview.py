"""Overview: the day's numbers, live parcels and payments, systems, vans, flow."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from controlroom.errors import ControlRoomError
from controlroom.orders.models import ParcelStatus
from controlroom.overview.figures import (
    STATE_TEXT_COLOURS,
    city_map,
    flow_chart,
    health_map,
)
from controlroom.overview.queries import ParcelFilter
from controlroom.overview.snapshot import OverviewSnapshot, overview_snapshot
from controlroom.payments.models import InvoiceStatus, PaymentMethod
from controlroom.session_frame import (
    Frame,
    error_title,
    frame_of,
    local_time,
    short_time,
)

# Shorter than the refresh, so each refresh reads afresh while several
# screens refreshing within the same two seconds share one read.
DATA_TTL_SECONDS = 2
# No toolbar: its buttons sat on the legends, and a glance needs no zoom.
CHART_CONFIG = {"displayModeBar": False}


@st.cache_data(ttl=DATA_TTL_SECONDS, show_spinner=False)
def load(
    _engine: Engine, url: str, zone: str, filters: ParcelFilter
) -> OverviewSnapshot:
    return overview_snapshot(_engine, zone=zone, filters=filters)


def filters_form() -> ParcelFilter:
    left, middle, right, code_col, late_col = st.columns([2, 2, 1.4, 1.6, 1])
    statuses = left.multiselect("Parcel status", list(ParcelStatus), key="f_status")
    payments = middle.multiselect("Payment", list(InvoiceStatus), key="f_payment")
    methods = right.multiselect("Method", list(PaymentMethod), key="f_method")
    code = code_col.text_input(
        "Package code", key="f_code", placeholder="starts with, e.g. 7KQ2"
    )
    late_col.write("")
    late = late_col.toggle("Late only", key="f_late")
    return ParcelFilter(
        tuple(statuses), tuple(payments), tuple(methods), late, code.strip()
    )


def parcel_table(snapshot: OverviewSnapshot, zone: str) -> pd.DataFrame:
    parcels = snapshot.parcels
    return pd.DataFrame(
        {
            "Code": [p.code for p in parcels],
            "Status": [p.status.value.replace("_", " ") for p in parcels],
            "Late": ["LATE" if p.late else "" for p in parcels],
            "Payment": [
                " · ".join(x for x in (p.payment, p.payment_exception) if x)
                or "no invoice"
                for p in parcels
            ],
            "Method": [p.method.value if p.method else "" for p in parcels],
            "Deliver by": [short_time(p.deliver_until, zone) for p in parcels],
            "Picked up": [short_time(p.picked_up_at, zone) for p in parcels],
            "Delivered": [short_time(p.delivered_at, zone) for p in parcels],
            "Ordered": [short_time(p.ordered_at, zone) for p in parcels],
            "Paid / asked (sat)": [
                f"{p.paid_sat:,} / {p.amount_sat:,}" if p.amount_sat else ""
                for p in parcels
            ],
            "Channel": [p.channel.replace("_", " ") for p in parcels],
        }
    )


def live(frame: Frame) -> None:
    filters = filters_form()
    try:
        snapshot = load(frame.engine, frame.url, frame.zone, filters)
    except ControlRoomError as exc:
        st.error(f"**{error_title(exc)}.** {exc}")
        return

    kpis = snapshot.kpis
    st.caption(
        f"Today in {frame.zone}: parcels ordered since "
        f"{local_time(snapshot.day.start, frame.zone)}; refreshed "
        f"{local_time(snapshot.day.now, frame.zone, seconds=True)}."
    )
    columns = st.columns(5)
    columns[0].metric("Orders today", kpis.ordered)
    columns[1].metric("Paid", kpis.paid)
    columns[2].metric("Picked up", kpis.picked_up)
    columns[3].metric("Delivered", kpis.delivered)
    columns[4].metric(
        "Late",
        kpis.late,
        delta=f"{kpis.overdue} still out" if kpis.overdue else None,
        delta_color="inverse",
        help="Delivered after the delivery window, or not delivered and past it.",
    )

    table, systems = st.columns([3, 2])
    with table:
        st.subheader("Parcels and payments")
        st.dataframe(parcel_table(snapshot, frame.zone), hide_index=True, height=360)
        st.caption(
            f"Newest {len(snapshot.parcels)} matching parcels; times in {frame.zone}."
        )
    with systems:
        st.subheader("Systems")
        st.plotly_chart(
            health_map(snapshot.components), key="health_map", config=CHART_CONFIG
        )
        if snapshot.posture.fallbacks:
            for fallback in snapshot.posture.fallbacks:
                st.warning(f"**{fallback.title}** — {fallback.action}")
        else:
            st.success("No fallback active.")
        down = [c for c in snapshot.components if c.state.is_down]
        for component in down:
            colour = STATE_TEXT_COLOURS[component.state]
            st.markdown(
                f":{colour}[**{component.name}: {component.state.label}**] since "
                f"{short_time(component.since, frame.zone)}"
                + (f" — {component.note}" if component.note else "")
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
        st.error(f"**{error_title(exc)}.** {exc}")
        return
    st.title("Overview")
    st.fragment(run_every=frame.settings.refresh_seconds)(live)(frame)


render()
