"""The overview's read model on the small known day."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.orders.codes import new_package_code
from controlroom.orders.models import Parcel, ParcelStatus, Party
from controlroom.overview.city_map import map_points
from controlroom.overview.queries import (
    DayKpis,
    ParcelFilter,
    code_fragment,
    code_search_problem,
    day_kpis,
    operating_day,
    parcel_flow,
    parcel_rows,
)
from controlroom.overview.snapshot import overview_snapshot
from controlroom.payments.models import InvoiceStatus, PaymentMethod
from tests.overview.small_day import PERSONAL, SmallDay

OSLO = "Europe/Oslo"


def rows(engine: Engine, filters: ParcelFilter) -> list[str]:
    with Session(engine) as session:
        day = operating_day(session, zone=OSLO)
        return [row.parcel for row in parcel_rows(session, day=day, filters=filters)]


def test_kpis_count_the_days_parcels_on_both_databases(
    small_day_anywhere: tuple[Engine, SmallDay],
) -> None:
    engine, _ = small_day_anywhere

    with Session(engine) as session:
        kpis = day_kpis(session, day=operating_day(session, zone=OSLO))

    assert kpis == DayKpis(
        ordered=4, paid=2, picked_up=3, delivered=2, late=2, overdue=1
    )


def test_flow_ends_at_the_kpis_on_both_databases(
    small_day_anywhere: tuple[Engine, SmallDay],
) -> None:
    engine, _ = small_day_anywhere

    with Session(engine) as session:
        day = operating_day(session, zone=OSLO)
        flow = parcel_flow(session, day=day, bucket_minutes=15)

    finals = {step: series[-1] for step, series in flow.cumulative.items()}
    assert finals == {"ordered": 4, "paid": 2, "picked up": 3, "delivered": 2}
    # 23:00 UTC the day before to 12:00 UTC, in quarter hours, "now" included.
    assert len(flow.bucket_starts) == 13 * 4 + 1
    assert (
        flow.cumulative["ordered"][
            flow.bucket_starts.index(datetime(2026, 12, 4, 7, 0, tzinfo=UTC))
        ]
        == 1
    )


def test_today_is_the_local_day_around_the_operating_clock(
    small_day: SmallDay, engine: Engine
) -> None:
    with Session(engine) as session:
        day = operating_day(session, zone=OSLO)

    assert day.now == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert day.start == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    assert day.end == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)


def test_a_parcel_is_late_when_delivered_after_its_window_or_still_out_past_it(
    small_day: SmallDay, engine: Engine
) -> None:
    late = rows(engine, ParcelFilter(late_only=True))

    assert sorted(late) == sorted([small_day.codes["P2"], small_day.codes["P3"]])


def test_the_table_lists_newest_first(small_day: SmallDay, engine: Engine) -> None:
    listed = rows(engine, ParcelFilter())

    assert listed == [small_day.codes[name] for name in ("P4", "P3", "P2", "P1", "P0")]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ParcelFilter(statuses=(ParcelStatus.PICKED_UP,)), ["P3"]),
        (
            ParcelFilter(statuses=(ParcelStatus.ORDERED, ParcelStatus.PICKED_UP)),
            ["P4", "P3"],
        ),
        (ParcelFilter(payment_states=(InvoiceStatus.NEW,)), ["P4"]),
        (ParcelFilter(payment_states=(InvoiceStatus.PROCESSING,)), ["P3"]),
        (ParcelFilter(methods=(PaymentMethod.LIGHTNING,)), ["P2", "P0"]),
        (
            ParcelFilter(methods=(PaymentMethod.ONCHAIN,), late_only=True),
            ["P3"],
        ),
        (ParcelFilter(limit=2), ["P4", "P3"]),
    ],
)
def test_filters_narrow_the_table(
    small_day: SmallDay, engine: Engine, filters: ParcelFilter, expected: list[str]
) -> None:
    listed = rows(engine, filters)

    assert listed == [small_day.codes[name] for name in expected]


def test_a_whole_code_finds_its_parcel_however_it_is_typed(
    small_day: SmallDay, engine: Engine
) -> None:
    typed = small_day.codes["P2"].lower().replace("-", " ").replace("0", "o")

    assert rows(engine, ParcelFilter(code=typed)) == [small_day.codes["P2"]]


def test_the_start_of_a_code_finds_the_parcels_beginning_with_it(
    small_day: SmallDay, engine: Engine
) -> None:
    code = small_day.codes["P1"]
    start = code.replace("-", "")[:6]

    listed = rows(engine, ParcelFilter(code=start.lower()))

    assert code in listed
    assert all(c.replace("-", "").startswith(start) for c in listed)


def test_a_code_fragment_from_the_middle_finds_nothing(
    small_day: SmallDay, engine: Engine
) -> None:
    middle = small_day.codes["P1"].replace("-", "")[5:10]
    others = [
        c for c in small_day.codes.values() if c.replace("-", "").startswith(middle)
    ]

    assert rows(engine, ParcelFilter(code=middle)) == others


def test_code_fragment_drops_what_cannot_occur_in_a_code() -> None:
    assert code_fragment(" 7kq2-9x*wm ") == "7KQ29XWM"
    assert code_fragment("oil") == "011"


def test_no_personal_data_reaches_the_overview(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone=OSLO, filters=ParcelFilter())
    party_columns = {column.name for column in Party.__table__.columns}

    parcel_fields = {field.name for field in dataclasses.fields(snapshot.parcels[0])}
    shown = repr(snapshot.parcels) + repr(snapshot.points)

    assert parcel_fields & (party_columns - {"id", "kind"}) == set()
    assert [word for word in PERSONAL if word in shown] == []
    assert "Driver Dina" not in shown


def test_open_stops_sit_at_rounded_coordinates(
    small_day: SmallDay, engine: Engine
) -> None:
    with Session(engine) as session:
        points = map_points(session)

    layers = sorted(point.layer for point in points)
    stops = [p for p in points if p.layer.startswith("open")]
    assert layers == ["depot", "open delivery", "open pickup", "van"]
    assert all(round(p.lat, 3) == p.lat and round(p.lon, 3) == p.lon for p in stops)


def test_the_table_reads_at_most_its_limit(small_day: SmallDay, engine: Engine) -> None:
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(Parcel))

    assert total == 5
    assert len(rows(engine, ParcelFilter(limit=3))) == 3


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("7KQ2%", "never occurs in a package code"),
        ("🚚", "never occurs in a package code"),
        ("0123-4567-89AB-C", "has more"),
    ],
)
def test_a_search_that_cannot_match_as_typed_says_why(typed: str, message: str) -> None:
    problem = code_search_problem(typed)

    assert problem is not None
    assert message in problem


def test_a_whole_code_with_a_typo_is_named_a_typo() -> None:
    code = new_package_code()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")

    assert "typo" in (code_search_problem(wrong) or "")
    assert code_search_problem(code) is None
    assert code_search_problem(code[:6].lower()) is None
