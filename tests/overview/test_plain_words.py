"""Screens name parcels as the role allows and say states in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from controlroom.analytics.pseudonyms import pseudonymise
from controlroom.errors import ConfigurationError, PermissionDenied
from controlroom.health.models import ComponentKind, ComponentState
from controlroom.health.posture import ComponentStatus, derive_posture
from controlroom.orders.models import ParcelStatus
from controlroom.overview.banner import BannerState, banner_headline, banner_html
from controlroom.overview.parcel_names import ParcelNames
from controlroom.overview.queries import ParcelFilter
from controlroom.overview.snapshot import overview_snapshot
from controlroom.overview.wording import (
    channel_words,
    literal_markdown,
    method_words,
    parcel_status_words,
    payment_words,
)
from controlroom.payments.models import InvoiceStatus, PaymentMethod
from controlroom.session_frame import day_time, error_markdown
from tests.overview.small_day import SmallDay

OSLO = "Europe/Oslo"
KEY = b"a test key of thirty-two bytes.."


def test_pseudonymised_names_carry_no_package_code(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(
        engine, zone=OSLO, filters=ParcelFilter(), names=ParcelNames(KEY)
    )

    shown = repr(snapshot.parcels) + repr(snapshot.points)
    assert [code for code in small_day.codes.values() if code in shown] == []
    assert [row.parcel for row in snapshot.parcels][-1] == pseudonymise(KEY, "parcel:1")
    stops = [p.label for p in snapshot.points if p.layer.startswith("open")]
    assert stops and all(label.startswith("pcl-") for label in stops)


def test_package_codes_are_the_default_names(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone=OSLO, filters=ParcelFilter())

    assert snapshot.parcels[0].parcel == small_day.codes["P4"]


def test_a_code_search_is_refused_without_codes(
    small_day: SmallDay, engine: Engine
) -> None:
    with pytest.raises(PermissionDenied, match="roles that see package codes"):
        overview_snapshot(
            engine,
            zone=OSLO,
            filters=ParcelFilter(code=small_day.codes["P1"][:4]),
            names=ParcelNames(KEY),
        )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (parcel_status_words(ParcelStatus.PICKED_UP), "Picked up"),
        (payment_words(InvoiceStatus.SETTLED, "paid_late"), "Settled (paid late)"),
        (payment_words(InvoiceStatus.SETTLED, "paid_partial"), "Settled (underpaid)"),
        (payment_words(InvoiceStatus.PROCESSING, None), "Processing"),
        (payment_words(None, None), "No invoice"),
        (method_words(PaymentMethod.ONCHAIN), "On-chain"),
        (method_words(None), ""),
        (channel_words("onion_mirror"), "Onion mirror"),
        (channel_words("carrier_pigeon"), "Carrier pigeon"),
    ],
)
def test_labels_read_as_words(words: str, expected: str) -> None:
    assert words == expected


def _down(*keys: tuple[str, ComponentKind]) -> BannerState:
    posture = derive_posture(
        [
            ComponentStatus(key, key, kind, ComponentState.MAJOR_OUTAGE)
            for key, kind in keys
        ]
    )
    return BannerState(posture, datetime(2026, 12, 4, 16, 48, tzinfo=UTC))


def test_the_banner_counts_fallbacks_in_proper_words() -> None:
    one = _down(("app", ComponentKind.DRIVER_APP))
    two = _down(
        ("app", ComponentKind.DRIVER_APP), ("db", ComponentKind.ORDER_DB_PRIMARY)
    )

    assert banner_headline(one.posture).startswith("1 fallback active: ")
    assert banner_headline(two.posture).startswith("2 fallbacks active: ")
    assert "(s)" not in banner_html(two, OSLO)


def test_a_stopped_simulator_is_said_plainly_in_the_banner() -> None:
    state = _down()
    stopped = BannerState(state.posture, state.now, True, simulator_stopped=True)

    shown = banner_html(stopped, OSLO)

    assert "Simulator stopped — the simulated day is frozen at 17:48." in shown
    assert "Run ./run demo --keep to carry on" in shown
    assert "Operating time" not in shown


def test_an_error_heading_is_said_once() -> None:
    error = ConfigurationError(
        "The configuration is not valid: CONTROLROOM_TIMEZONE: unknown time zone"
    )

    assert error_markdown(error) == (
        "**The configuration is not valid.** CONTROLROOM_TIMEZONE: unknown time zone"
    )


def test_day_time_says_the_date_only_when_it_is_not_today() -> None:
    today = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    assert day_time(datetime(2026, 12, 4, 15, 5, tzinfo=UTC), OSLO, today=today) == (
        "16:05"
    )
    assert day_time(datetime(2026, 12, 3, 23, 30, tzinfo=UTC), OSLO, today=today) == (
        "00:30"
    )
    assert day_time(datetime(2026, 12, 3, 12, 0, tzinfo=UTC), OSLO, today=today) == (
        "03 Dec 13:00"
    )
    assert day_time(None, OSLO, today=today) == ""


def test_a_typed_note_cannot_become_a_link_an_image_or_a_colour() -> None:
    note = "Call [hotline](http://x/p) ![i](http://x/i.png) :red[now] $x^2$ **b**"

    shown = literal_markdown(note)

    unescaped = re.findall(r"(?<!\\)[\[\]()!:$*^]", shown)
    assert unescaped == []
    assert shown.replace("\\", "") == note


def test_a_note_cannot_turn_its_text_around() -> None:
    assert literal_markdown("abc\u202edef\u2066") == "abcdef"


def test_the_banner_names_the_open_incident_and_its_next_report() -> None:
    from controlroom.incidents.board import IncidentLine, IncidentNotice
    from controlroom.incidents.cadence import SEV2_CADENCE, report_due
    from controlroom.incidents.models import IncidentStatus

    state = _down(("app", ComponentKind.DRIVER_APP))
    started = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    line = IncidentLine(
        1, "Driver app down", "SEV2 major", IncidentStatus.IDENTIFIED, "public",
        "1 h 48 min", "Drivers text their stops",
    )  # fmt: skip
    due = report_due(
        started_at=started,
        last_report_at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC),
        cadence=SEV2_CADENCE,
        now=state.now,
        zone=ZoneInfo(OSLO),
    )
    notice = IncidentNotice(line=line, due=due, others=1)

    shown = banner_html(BannerState(state.posture, state.now, incident=notice), OSLO)

    assert "Incident: SEV2 major · Identified · Driver app down (+1 more open)" in shown
    assert "overdue by 18 min" in shown
    assert "text-decoration:underline" in shown
    assert "Incident:" not in banner_html(state, OSLO)
