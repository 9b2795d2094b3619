"""Reading parcel state events from the journal for analysts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from controlroom.analytics import (
    EVENT_COLUMNS,
    open_database,
    order_days,
    parcel_events,
)
from controlroom.analytics.pseudonyms import pseudonymise
from controlroom.errors import DatabaseUnavailable, SchemaOutdated
from tests.analytics.conftest import KEY
from tests.analytics.delivery_day import DeliveryDay, build_delivery_day

DAY = date(2026, 12, 4)


def _states_of(events: pd.DataFrame, label: str, day: DeliveryDay) -> list[str]:
    pseudonym = pseudonymise(KEY, f"parcel:{day.parcels[label]}")
    rows = events[events["parcel"] == pseudonym]
    return [str(state) for state in rows["state"]]


def test_each_state_a_parcel_reached_is_one_row(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    events = parcel_events(engine, day=DAY, key=KEY)

    assert list(events.columns) == list(EVENT_COLUMNS)
    assert _states_of(events, "A", delivery_day) == [
        "ordered",
        "paid",
        "picked_up",
        "delivered",
    ]
    assert _states_of(events, "C", delivery_day) == ["ordered", "picked_up", "paid"]
    assert _states_of(events, "D", delivery_day) == ["ordered"]
    assert _states_of(events, "F", delivery_day) == ["ordered", "cancelled"]
    assert events["occurred_at"].is_monotonic_increasing
    assert str(events["occurred_at"].dt.tz) == "UTC"


def test_a_day_holds_the_parcels_ordered_that_local_day(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    that_day = parcel_events(engine, day=DAY, key=KEY)
    day_before = parcel_events(engine, day=date(2026, 12, 3), key=KEY)
    every_day = parcel_events(engine, key=KEY)

    assert that_day["parcel"].nunique() == 6
    assert _states_of(day_before, "Y", delivery_day) == [
        "ordered",
        "paid",
        "picked_up",
        "delivered",
    ]
    assert day_before["parcel"].nunique() == 1
    assert every_day["parcel"].nunique() == 7


def test_order_days_are_the_local_days_with_orders(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    assert order_days(engine) == [date(2026, 12, 3), DAY]


def test_facts_come_from_the_order_and_the_paid_invoice(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    events = parcel_events(engine, day=DAY, key=KEY)
    by_parcel = events.drop_duplicates("parcel").set_index("parcel")
    parcel_b = pseudonymise(KEY, f"parcel:{delivery_day.parcels['B']}")
    parcel_d = pseudonymise(KEY, f"parcel:{delivery_day.parcels['D']}")

    assert by_parcel.loc[parcel_b, "channel"] == "sms"
    assert by_parcel.loc[parcel_b, "payment_method"] == "lightning"
    assert by_parcel.loc[parcel_b, "load"] == 2
    assert by_parcel.loc[parcel_d, "payment_method"] == "onchain"
    paid = events[events["state"] == "paid"]
    assert set(paid["kind"]) == {"InvoiceSettled"}


def test_late_is_told_on_delivery_rows_only(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    events = parcel_events(engine, day=DAY, key=KEY)

    delivered = events[events["state"] == "delivered"]
    assert sorted(delivered["late"].tolist()) == [False, True]
    assert events.loc[events["state"] != "delivered", "late"].isna().all()


def test_pseudonyms_are_stable_for_a_key_and_change_with_it(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    first = parcel_events(engine, day=DAY, key=KEY)
    again = parcel_events(engine, day=DAY, key=KEY)
    other_key = parcel_events(engine, day=DAY, key=b"another key of 16+ bytes")

    assert first["parcel"].tolist() == again["parcel"].tolist()
    assert set(first["parcel"]).isdisjoint(set(other_key["parcel"]))


def test_a_journal_without_parcels_gives_an_empty_typed_frame(
    engine: Engine,
) -> None:
    events = parcel_events(engine, key=KEY)

    assert events.empty
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert str(events["occurred_at"].dt.tz) == "UTC"


def test_open_database_uses_the_database_setting(
    engine: Engine, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROLROOM_DATABASE_URL", sqlite_url)

    opened = open_database()

    assert str(opened.url) == sqlite_url
    opened.dispose()


def test_open_database_refuses_a_missing_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere.sqlite3'}"

    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        open_database(url)


def test_open_database_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()

    with pytest.raises(SchemaOutdated, match="controlroom db upgrade"):
        open_database(f"sqlite:///{path}")


def test_a_day_reads_alike_on_sqlite_and_postgresql(any_engine: Engine) -> None:
    day = build_delivery_day(any_engine)

    events = parcel_events(any_engine, day=DAY, key=KEY)

    assert _states_of(events, "B", day) == [
        "ordered",
        "paid",
        "picked_up",
        "delivered",
    ]
    assert events["parcel"].nunique() == 6
    assert order_days(any_engine) == [date(2026, 12, 3), DAY]
