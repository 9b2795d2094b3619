"""A small day with an incident, built into a status site, for these tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.health.models import ComponentState
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import Visibility
from controlroom.incidents.service import open_incident, record_progress_report
from controlroom.orders.models import Parcel, PartyKind
from controlroom.orders.service import place_order, record_pickup, register_party
from controlroom.payments.models import PaymentMethod
from controlroom.payments.service import issue_invoice, record_payment
from controlroom.status_site.build import BuildReport, build_status_site
from controlroom.status_site.snapshot import SiteOptions
from tests.overview.small_day import NOW, SmallDay, build_small_day

SALT = "test-salt-0f1e2d3c4b5a"
OPTIONS = SiteOptions(
    zone="Europe/Oslo",
    salt=SALT,
    stale_after=timedelta(minutes=30),
    keep_days=14,
)
PUBLIC_UPDATE = "Card-free payments are slow; orders are still taken."
RESTRICTED_NOTE = "Node eu-north rpc creds rotated by Olga"


@dataclass(frozen=True)
class StatusDay:
    """The small day plus a parcel to Tromsø and a public payments incident."""

    codes: dict[str, str]


def add_status_day(engine: Engine) -> StatusDay:
    """Add to the small day a parcel picked up in Tromsø and an incident."""
    with Session(engine) as session, session.begin():
        sender = register_party(
            session,
            kind=PartyKind.CUSTOMER,
            name="Sigrid Sørensen",
            phone="+4791234567",
            street="Storgata 88",
            postcode="9008",
            city="Tromsø",
            lat=69.65,
            lon=18.96,
            actor="test",
            at=NOW - timedelta(hours=6),
        )
        recipient = (
            session.scalars(select(Parcel).order_by(Parcel.id).limit(1)).one().recipient
        )
        parcel = place_order(
            session,
            sender=sender,
            recipient=recipient,
            load=1,
            pickup_window=(NOW - timedelta(hours=3), NOW),
            delivery_window=(NOW - timedelta(hours=3), NOW + timedelta(hours=5)),
            price_sat=31_337,
            ordered_at=NOW - timedelta(hours=3),
            actor="test",
        )
        invoice = issue_invoice(
            session,
            parcel=parcel,
            method=PaymentMethod.ONCHAIN,
            amount_sat=31_337,
            created_at=parcel.ordered_at,
            expires_at=parcel.ordered_at + timedelta(hours=1),
            actor="test",
            address="bc1qtromsoexampleaddress9",
        )
        record_payment(
            session,
            invoice=invoice,
            amount_sat=31_337,
            seen_at=parcel.ordered_at + timedelta(minutes=3),
            actor="t",
            txid="c0ffee" * 10 + "abcd",
            vout=0,
        )
        record_pickup(session, parcel=parcel, at=NOW - timedelta(minutes=50), actor="t")
        incident = open_incident(
            session,
            title="Payments are slow",
            kind="payment_node_down",
            severity=Severity.SEV2,
            visibility=Visibility.PUBLIC,
            summary="One payment node is down; the others carry payments.",
            at=NOW - timedelta(minutes=40),
            actor="mona",
            components={"node_eu": ComponentState.MAJOR_OUTAGE},
        )
        record_progress_report(
            session,
            incident=incident,
            text=PUBLIC_UPDATE,
            at=NOW - timedelta(minutes=35),
            actor="mona",
            public=True,
        )
        record_progress_report(
            session,
            incident=incident,
            text=RESTRICTED_NOTE,
            at=NOW - timedelta(minutes=20),
            actor="mona",
            public=False,
        )
        return StatusDay({"TROMSO": parcel.code})


@pytest.fixture
def status_day(engine: Engine) -> StatusDay:
    """The small day (no users) with the Tromsø parcel and the incident."""
    day: SmallDay = build_small_day(engine, users=False)
    extra = add_status_day(engine)
    return StatusDay({**day.codes, **extra.codes})


def build(engine: Engine, out: Path, *, at: datetime = NOW) -> BuildReport:
    """Build the site of ``engine`` at ``at`` (default: the small day's now)."""
    with Session(engine) as session, session.begin():
        return build_status_site(session, out=out, options=OPTIONS, at=at)


@pytest.fixture
def site(engine: Engine, status_day: StatusDay, tmp_path: Path) -> Path:
    """The status day built into ``tmp_path/site``."""
    return build(engine, tmp_path / "site").folder
