"""Keys, records and public service states: the rules with no I/O."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from controlroom.config import Settings
from controlroom.errors import ConfigurationError, PackageCodeError
from controlroom.health.models import ComponentKind, ComponentState
from controlroom.orders.models import ParcelStatus
from controlroom.status_site.components import ComponentReading, public_services
from controlroom.status_site.hashing import prefix_of, record_key, site_salt
from controlroom.status_site.records import (
    ParcelFacts,
    hour_band,
    is_published,
    parcel_record,
    public_city,
)
from tests.status_site.conftest import StatusDay

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def facts(status: ParcelStatus, **times: datetime | None) -> ParcelFacts:
    return ParcelFacts(
        code="4KHK-Y80Z-DS7E",
        status=status,
        ordered_at=times.get("ordered_at") or datetime(2026, 12, 4, 7, tzinfo=UTC),
        picked_up_at=times.get("picked_up_at"),
        delivered_at=times.get("delivered_at"),
        sender_city="Bergen",
        recipient_city="Oslo",
    )


def test_a_key_is_the_salted_sha256_of_the_compact_upper_case_code() -> None:
    key = record_key("4khk-y80z-ds7e", "salt-of-this-site")

    expected = hashlib.sha256(b"salt-of-this-site:4KHKY80ZDS7E").hexdigest()
    assert key == expected
    assert prefix_of(key) == expected[:2]


def test_typed_confusables_give_the_same_key_and_a_typo_raises() -> None:
    assert record_key("4KHK Y8OZ DS7E", "s" * 16) == record_key(
        "4KHKY80ZDS7E", "s" * 16
    )
    with pytest.raises(PackageCodeError, match="typo"):
        record_key("4KHK-Y80Z-DS7F", "s" * 16)


def test_the_salt_is_drawn_once_and_kept_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    first = site_salt(settings)
    second = site_salt(settings)

    assert first == second
    assert len(first) == 32
    assert (tmp_path / "data" / "status-site.salt").stat().st_mode & 0o777 == 0o600


def test_a_short_or_quoted_salt_setting_is_refused(tmp_path: Path) -> None:
    for salt in ("short", 'has "quotes" and is long enough'):
        with pytest.raises(ConfigurationError, match="STATUS_SITE_SALT must be"):
            site_salt(Settings(data_dir=tmp_path, status_site_salt=salt))


def test_the_hour_band_is_local_two_hours_with_the_zone() -> None:
    assert hour_band(AT, "Europe/Oslo") == "Fri 4 Dec, 12:00–14:00 CET"
    assert (
        hour_band(datetime(2026, 7, 1, 21, 59, tzinfo=UTC), "Europe/Oslo")
        == "Wed 1 Jul, 22:00–00:00 CEST"
    )


def test_a_record_takes_the_latest_event_and_its_city() -> None:
    ordered = parcel_record(facts(ParcelStatus.ORDERED), zone="UTC")
    picked = parcel_record(facts(ParcelStatus.PICKED_UP, picked_up_at=AT), zone="UTC")
    delivered = parcel_record(
        facts(ParcelStatus.DELIVERED, picked_up_at=AT, delivered_at=AT), zone="UTC"
    )

    assert (ordered.when, ordered.city) == ("Fri 4 Dec, 06:00–08:00 UTC", "Bergen")
    assert (picked.words, picked.city) == ("Picked up, on its way", "Bergen")
    assert (delivered.status, delivered.city) == ("delivered", "Oslo")
    assert set(delivered.as_json()) == {"status", "words", "when", "city"}


def test_old_finished_parcels_are_not_published_but_open_ones_are() -> None:
    old = datetime(2026, 11, 1, tzinfo=UTC)

    assert not is_published(
        facts(ParcelStatus.DELIVERED, ordered_at=old), now=AT, keep_days=14
    )
    assert is_published(
        facts(ParcelStatus.PICKED_UP, ordered_at=old), now=AT, keep_days=14
    )
    assert is_published(facts(ParcelStatus.DELIVERED), now=AT, keep_days=14)


def reading(kind: ComponentKind, state: ComponentState) -> ComponentReading:
    return ComponentReading(kind, kind.value, state, AT)


def test_one_payment_node_down_of_two_leaves_payments_slower_not_down() -> None:
    services = public_services(
        [
            reading(ComponentKind.PAYMENT_NODE, ComponentState.MAJOR_OUTAGE),
            reading(ComponentKind.PAYMENT_NODE, ComponentState.OPERATIONAL),
            reading(ComponentKind.WEB_SHOP, ComponentState.OPERATIONAL),
        ]
    )

    states = {s.name: s.state for s in services}
    assert states["Payments"] is ComponentState.DEGRADED_PERFORMANCE
    assert states["Ordering"] is ComponentState.OPERATIONAL


def test_every_payment_node_down_is_payments_down_and_the_worst_need_counts() -> None:
    services = public_services(
        [
            reading(ComponentKind.PAYMENT_NODE, ComponentState.MAJOR_OUTAGE),
            reading(ComponentKind.PAYMENT_NODE, ComponentState.PARTIAL_OUTAGE),
            reading(ComponentKind.ORDER_DB_PRIMARY, ComponentState.OPERATIONAL),
            reading(ComponentKind.WEB_SHOP, ComponentState.PARTIAL_OUTAGE),
        ]
    )

    states = {s.name: s.words for s in services}
    assert states["Payments"] == "Unavailable"
    assert states["Ordering"] == "Partly unavailable"
    assert [s.name for s in services] == [
        "Ordering",
        "Payments",
        "Pickup and delivery planning",
        "Driver updates",
        "Text messages",
    ]


def test_a_city_that_looks_like_an_address_is_left_out() -> None:
    assert public_city("  Tromsø ") == "Tromsø"
    assert public_city("Oslo, Storgata 1") == ""
    assert public_city("0150 Oslo") == ""
    assert public_city("x" * 41) == ""


def test_a_cancelled_parcel_shows_when_it_was_cancelled_not_when_ordered(
    engine: Engine, status_day: StatusDay
) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from controlroom.orders.models import Parcel
    from controlroom.orders.service import cancel_order
    from controlroom.status_site.snapshot import published_parcels
    from tests.overview.small_day import NOW

    cancelled_at = NOW - timedelta(minutes=10)
    with Session(engine) as session, session.begin():
        parcel = session.scalars(
            select(Parcel).where(Parcel.status == ParcelStatus.ORDERED)
        ).first()
        assert parcel is not None
        code = parcel.code
        cancel_order(
            session, parcel=parcel, at=cancelled_at, actor="t", reason="customer"
        )
    with Session(engine) as session:
        [found] = [
            f
            for f in published_parcels(session, now=NOW, keep_days=14)
            if f.code == code
        ]

    assert found.cancelled_at == cancelled_at
    record = parcel_record(found, zone="UTC")
    assert record.status == "cancelled"
    assert record.when == "Fri 4 Dec, 10:00–12:00 UTC"  # ordered in 08:00–10:00
