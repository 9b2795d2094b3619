"""A small, fully known day built through the services, for screen tests.

The operating clock stands at 13:00 Oslo time (12:00 UTC) on 4 December 2026.
Four parcels were ordered that day and one the day before:

=====  ========  =================  ==========  =============================
code   ordered   payment            parcel      delivery window ends / late?
=====  ========  =================  ==========  =============================
P1     07:00     on-chain, settled  delivered   10:00, delivered 09:00: on time
P2     07:30     Lightning, settled delivered   11:00, delivered 11:30: late
P3     08:00     on-chain, seen     picked up   11:00, still out: late, overdue
P4     09:00     on-chain, new      ordered     16:00: not late (open stops)
P0     day -1    Lightning, settled delivered   not today
=====  ========  =================  ==========  =============================
(times UTC)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.auth.service import create_user
from controlroom.clock import set_simulated_time
from controlroom.dispatch.models import StopKind
from controlroom.dispatch.service import (
    PlannedRoute,
    PlannedStop,
    add_depot,
    add_driver,
    add_vehicle,
    create_plan,
    publish_plan,
)
from controlroom.health.models import ComponentKind
from controlroom.health.service import add_component
from controlroom.orders.models import Parcel, Party, PartyKind
from controlroom.orders.service import (
    place_order,
    record_delivery,
    record_pickup,
    register_party,
)
from controlroom.payments.models import Invoice, PaymentMethod
from controlroom.payments.service import (
    issue_invoice,
    record_confirmations,
    record_payment,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
USERS = {
    Role.MANAGEMENT: "mona",
    Role.DISPATCHER: "dag",
    Role.OPS: "olga",
    Role.ANALYST: "anton",
}
PERSONAL = ("Kari Nordmann", "+4790000001", "Storgata 1", "Ola Hansen", "+4790000002")
COMPONENTS = (
    ("web_shop", "Web shop", ComponentKind.WEB_SHOP, ""),
    ("node_eu", "Payment node EU", ComponentKind.PAYMENT_NODE, "eu-north"),
    ("node_us", "Payment node US", ComponentKind.PAYMENT_NODE, "us-east"),
    ("tracker", "Payment tracker", ComponentKind.PAYMENT_TRACKER, ""),
    ("db_primary", "Order DB primary", ComponentKind.ORDER_DB_PRIMARY, "eu-north"),
    ("db_standby", "Order DB standby", ComponentKind.ORDER_DB_STANDBY, "eu-west"),
    ("scheduler", "Route scheduler", ComponentKind.ROUTE_SCHEDULER, ""),
    ("driver_app", "Driver app backend", ComponentKind.DRIVER_APP, ""),
    ("sms", "SMS gateway", ComponentKind.SMS_GATEWAY, ""),
    ("status_site", "Status site", ComponentKind.STATUS_SITE, ""),
)


@dataclass(frozen=True)
class SmallDay:
    """The package codes of the day's parcels, by their name in the table."""

    codes: dict[str, str]


def _at(hour: int, minute: int = 0, day: int = 4) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def _party(session: Session, index: int, name: str, phone: str, street: str) -> Party:
    return register_party(
        session,
        kind=PartyKind.CUSTOMER,
        name=name,
        phone=phone,
        street=street,
        postcode="0150",
        city="Oslo",
        lat=59.91 + index * 0.004,
        lon=10.75 + index * 0.006,
        actor="test",
        at=_at(6, day=3),
    )


def _order(
    session: Session, sender: Party, recipient: Party, ordered: datetime, due: datetime
) -> Parcel:
    return place_order(
        session,
        sender=sender,
        recipient=recipient,
        load=1,
        pickup_window=(ordered, ordered + timedelta(hours=2)),
        delivery_window=(ordered, due),
        price_sat=25_000,
        ordered_at=ordered,
        actor="test",
    )


def _onchain(session: Session, parcel: Parcel, n: int) -> Invoice:
    return issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.ONCHAIN,
        amount_sat=25_000,
        created_at=parcel.ordered_at,
        expires_at=parcel.ordered_at + timedelta(hours=1),
        actor="test",
        address=f"bc1qtestaddress{n:04d}",
    )


def _lightning(session: Session, parcel: Parcel, n: int) -> Invoice:
    return issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.LIGHTNING,
        amount_sat=25_000,
        created_at=parcel.ordered_at,
        expires_at=parcel.ordered_at + timedelta(hours=1),
        actor="test",
        payment_hash=f"{n:064x}",
    )


def build_small_day(engine: Engine, *, users: bool = True) -> SmallDay:
    """Fill a migrated database with the small day described above.

    ``users=False`` leaves out the four users, whose Argon2 hashing is the
    slowest part of building the day.
    """
    with Session(engine) as session, session.begin():
        kari = _party(session, 0, PERSONAL[0], PERSONAL[1], PERSONAL[2])
        ola = _party(session, 1, PERSONAL[3], PERSONAL[4], "Kirkeveien 7")

        p0 = _order(session, kari, ola, _at(10, day=3), _at(14, day=3))
        inv = _lightning(session, p0, 0)
        record_payment(
            session, invoice=inv, amount_sat=25_000, seen_at=_at(10, 5, 3), actor="t"
        )
        record_pickup(session, parcel=p0, at=_at(11, day=3), actor="t")
        record_delivery(session, parcel=p0, at=_at(12, day=3), actor="t")

        p1 = _order(session, kari, ola, _at(7), _at(10))
        inv = _onchain(session, p1, 1)
        pay = record_payment(
            session,
            invoice=inv,
            amount_sat=25_000,
            seen_at=_at(7, 5),
            actor="t",
            txid="a" * 64,
            vout=0,
        )
        record_confirmations(
            session, payment=pay, confirmations=1, at=_at(7, 10), actor="t"
        )
        record_pickup(session, parcel=p1, at=_at(8), actor="t")
        record_delivery(session, parcel=p1, at=_at(9), actor="t")

        p2 = _order(session, ola, kari, _at(7, 30), _at(11))
        inv = _lightning(session, p2, 2)
        record_payment(
            session, invoice=inv, amount_sat=25_000, seen_at=_at(7, 31), actor="t"
        )
        record_pickup(session, parcel=p2, at=_at(8, 30), actor="t")
        record_delivery(session, parcel=p2, at=_at(11, 30), actor="t")

        p3 = _order(session, ola, kari, _at(8), _at(11))
        inv = _onchain(session, p3, 3)
        record_payment(
            session,
            invoice=inv,
            amount_sat=25_000,
            seen_at=_at(8, 5),
            actor="t",
            txid="b" * 64,
            vout=1,
        )
        record_pickup(session, parcel=p3, at=_at(9), actor="t")

        p4 = _order(session, kari, ola, _at(9), _at(16))
        _onchain(session, p4, 4)

        for key, name, kind, region in COMPONENTS:
            add_component(
                session,
                key=key,
                name=name,
                kind=kind,
                region=region,
                at=_at(5),
                actor="test",
            )
        for role, username in USERS.items() if users else ():
            create_user(
                session,
                username=username,
                display_name=username.capitalize(),
                role=role,
                password=PASSWORD,
                at=_at(5),
                actor="test",
            )

        depot = add_depot(session, name="Alna", lat=59.93, lon=10.84, actor="test")
        driver_party = register_party(
            session,
            kind=PartyKind.DRIVER,
            name="Driver Dina",
            phone="+4790000009",
            street="Depotveien 2",
            postcode="0668",
            city="Oslo",
            lat=59.93,
            lon=10.84,
            actor="test",
        )
        driver = add_driver(
            session, callsign="D1", party=driver_party, area="east", actor="test"
        )
        van = add_vehicle(
            session,
            plate="EV 10001",
            capacity=10,
            depot=depot,
            driver=driver,
            actor="test",
        )
        plan = create_plan(
            session,
            routes=[
                PlannedRoute(
                    van,
                    [
                        PlannedStop(p4, StopKind.PICKUP, _at(13)),
                        PlannedStop(p4, StopKind.DELIVERY, _at(14)),
                    ],
                )
            ],
            reason="morning plan",
            at=_at(6),
            actor="test",
        )
        publish_plan(session, plan=plan, at=_at(6), actor="test")
        set_simulated_time(session, now=NOW, day_start=_at(5), speed=60.0)

        codes = {
            name: parcel.code
            for name, parcel in (("P0", p0), ("P1", p1), ("P2", p2), ("P3", p3))
        }
        codes["P4"] = p4.code
    return SmallDay(codes)
