"""The flow of parcels through their states, and delivery punctuality."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine

from controlroom.analytics import (
    PERFORMANCE_COLUMNS,
    delivery_performance,
    parcel_events,
    parcel_flow,
)
from tests.analytics.conftest import KEY
from tests.analytics.delivery_day import DeliveryDay

DAY = date(2026, 12, 4)


@pytest.fixture
def events(engine: Engine, delivery_day: DeliveryDay) -> pd.DataFrame:
    """The pseudonymised events of the six parcels ordered on the day."""
    return parcel_events(engine, day=DAY, key=KEY)


def _at(flow: pd.DataFrame, clock: str, column: str) -> dict[str, int]:
    moment = pd.Timestamp(f"2026-12-04 {clock}", tz="UTC")
    rows = flow[flow["at"] == moment]
    return {str(s): int(n) for s, n in zip(rows["state"], rows[column], strict=True)}


def test_flow_counts_parcels_that_reached_each_state(events: pd.DataFrame) -> None:
    flow = parcel_flow(events, freq="30min")

    assert _at(flow, "06:30", "reached") == {
        "ordered": 3,
        "paid": 2,
        "picked_up": 1,
        "delivered": 0,
        "cancelled": 0,
    }
    assert _at(flow, "10:00", "reached") == {
        "ordered": 6,
        "paid": 4,
        "picked_up": 3,
        "delivered": 2,
        "cancelled": 1,
    }


def test_each_parcel_is_currently_in_its_furthest_state(
    events: pd.DataFrame,
) -> None:
    flow = parcel_flow(events, freq="30min")

    # C was picked up at 07:00 and paid at 07:35: it stays picked up.
    assert _at(flow, "08:00", "current") == {
        "ordered": 1,
        "paid": 1,
        "picked_up": 2,
        "delivered": 1,
        "cancelled": 1,
    }
    per_bucket = flow.groupby("at")["current"].sum()
    ordered = flow[flow["state"] == "ordered"].set_index("at")["reached"]
    assert per_bucket.tolist() == ordered.tolist()


def test_flow_buckets_span_the_events_at_the_given_frequency(
    events: pd.DataFrame,
) -> None:
    flow = parcel_flow(events, freq="15min")

    moments = flow["at"].drop_duplicates()
    assert moments.iloc[0] == pd.Timestamp("2026-12-04 06:00", tz="UTC")
    assert moments.iloc[-1] == pd.Timestamp("2026-12-04 09:45", tz="UTC")
    assert (moments.diff().dropna() == pd.Timedelta(minutes=15)).all()


def test_cancelled_shows_in_the_flow_only_when_a_parcel_was(
    events: pd.DataFrame,
) -> None:
    cancelled = events.loc[events["state"] == "cancelled", "parcel"]
    never_cancelled = events[~events["parcel"].isin(cancelled)]

    with_cancelled = parcel_flow(events)
    without = parcel_flow(never_cancelled)

    assert list(with_cancelled["state"].cat.categories)[-1] == "cancelled"
    assert list(without["state"].cat.categories) == [
        "ordered",
        "paid",
        "picked_up",
        "delivered",
    ]


def test_flow_of_no_events_is_empty(events: pd.DataFrame) -> None:
    flow = parcel_flow(events.iloc[0:0])

    assert flow.empty
    assert list(flow.columns) == ["at", "state", "reached", "current"]


def test_performance_tells_on_time_share_and_minutes_late(
    events: pd.DataFrame,
) -> None:
    performance = delivery_performance(events)

    assert list(performance.columns) == list(PERFORMANCE_COLUMNS)
    row = performance.loc["all"]
    assert row["parcels"] == 6
    assert row["delivered"] == 2
    assert row["on_time_share"] == pytest.approx(0.5)
    assert row["mean_minutes_late"] == pytest.approx(25.0)
    assert row["median_minutes_to_deliver"] == pytest.approx((90 + 205) / 2)


def test_performance_splits_by_a_column(events: pd.DataFrame) -> None:
    performance = delivery_performance(events, by="channel")

    assert performance.index.tolist() == ["sms", "web_shop"]
    assert performance.loc["sms", "late"] == 1
    assert performance.loc["web_shop", "on_time_share"] == pytest.approx(1.0)
    assert performance.loc["web_shop", "parcels"] == 4
