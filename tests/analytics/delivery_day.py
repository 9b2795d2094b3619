"""A small delivery day built through the services, for the analytics tests.

Six parcels ordered on 4 December 2026 and one the day before:

======  =========  ==========  ========================  =================
parcel  channel    paid by     what happened              delivery
======  =========  ==========  ========================  =================
A       web_shop   onchain     picked up, delivered       on time
B       sms        lightning   picked up, delivered       25 minutes late
C       web_shop   onchain     paid after its pickup      not yet
D       web_shop   (unpaid)    ordered only               not yet
E       sms        lightning   paid only                  not yet
F       web_shop   (unpaid)    cancelled at 07:10 UTC     never
Y       web_shop   lightning   previous day, delivered    on time
======  =========  ==========  ========================  =================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import Stop, StopKind
from controlroom.dispatch.service import (
    PlannedRoute,
    PlannedStop,
    add_depot,
    add_driver,
    add_vehicle,
    complete_stop,
    create_plan,
    publish_plan,
)
from controlroom.orders.models import OrderChannel, Parcel, Party, PartyKind
from controlroom.orders.service import cancel_order, place_order, register_party
from controlroom.payments.models import PaymentMethod
from controlroom.payments.service import (
    issue_invoice,
    record_confirmations,
    record_payment,
)
from tests.conftest import DAY

DISPATCHER = "dispatcher:Kari Nordmann"
PEOPLE = [
    ("Ingrid Solberg", "+47 912 34 567", "Thorvald Meyers gate 12", "0555"),
    ("Magnus Haugland", "+47 934 56 781", "Bygdøy allé 41", "0265"),
    ("Sigrid Lunde", "+47 401 22 918", "Markveien 58", "0554"),
    ("Torbjørn Aas", "+47 988 10 442", "Kirkeveien 153", "0361"),
    ("Astrid Kvamme", "+47 466 73 205", "Grønlandsleiret 27", "0190"),
    ("Eirik Brekke", "+47 915 48 336", "Trondheimsveien 99", "0565"),
]
DRIVER = ("Håkon Rustad", "+47 977 01 623", "Sognsveien 7", "0451")


@dataclass
class DeliveryDay:
    """What the services stored: the personal strings the tests search for."""

    parcels: dict[str, int] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    postcodes: list[str] = field(default_factory=list)
    coordinates: list[float] = field(default_factory=list)


def _party(
    session: Session,
    day: DeliveryDay,
    person: tuple[str, ...],
    n: int,
    kind: PartyKind = PartyKind.CUSTOMER,
) -> Party:
    name, phone, street, postcode = person
    lat, lon = 59.91 + n * 0.0037, 10.75 + n * 0.0041
    day.secrets += [name, phone, street]
    day.postcodes.append(postcode)
    day.coordinates += [lat, lon]
    return register_party(
        session,
        kind=kind,
        name=name,
        phone=phone,
        street=street,
        postcode=postcode,
        city="Oslo",
        lat=lat,
        lon=lon,
        actor=DISPATCHER,
        at=DAY - timedelta(days=2),
    )


def _order(
    session: Session,
    day: DeliveryDay,
    label: str,
    ordered_at: datetime,
    sender: Party,
    recipient: Party,
    channel: OrderChannel,
) -> Parcel:
    parcel = place_order(
        session,
        sender=sender,
        recipient=recipient,
        load=2,
        pickup_window=(ordered_at, ordered_at + timedelta(hours=2)),
        delivery_window=(ordered_at, ordered_at + timedelta(hours=3)),
        price_sat=25_000,
        ordered_at=ordered_at,
        actor=DISPATCHER,
        channel=channel,
    )
    day.parcels[label] = parcel.id
    day.secrets += [parcel.code, parcel.code.replace("-", "")]
    return parcel


def _pay(
    session: Session,
    day: DeliveryDay,
    parcel: Parcel,
    method: PaymentMethod,
    at: datetime,
    *,
    settle: bool = True,
) -> None:
    n = parcel.id
    address = f"bc1qcustomeraddress{n:04d}" if method is PaymentMethod.ONCHAIN else None
    payment_hash = f"{n:02d}" * 32
    invoice = issue_invoice(
        session,
        parcel=parcel,
        method=method,
        amount_sat=25_000,
        created_at=at - timedelta(minutes=5),
        expires_at=at + timedelta(hours=1),
        actor=DISPATCHER,
        address=address,
        payment_hash=payment_hash,
        bolt11=f"lnbc250u1customerinvoice{n}" if address is None else None,
    )
    day.secrets += [payment_hash] + ([address] if address else [])
    if not settle:
        return
    if method is PaymentMethod.LIGHTNING:
        record_payment(
            session,
            invoice=invoice,
            amount_sat=25_000,
            seen_at=at,
            actor=DISPATCHER,
            payment_hash=payment_hash,
        )
        return
    txid = f"{n:02x}" * 32
    day.secrets.append(txid)
    payment = record_payment(
        session,
        invoice=invoice,
        amount_sat=25_000,
        seen_at=at - timedelta(minutes=2),
        actor=DISPATCHER,
        txid=txid,
        vout=0,
    )
    record_confirmations(
        session, payment=payment, confirmations=1, at=at, actor=DISPATCHER
    )


def build_delivery_day(engine: Engine) -> DeliveryDay:
    """Play the day in the module docstring through the services."""
    day = DeliveryDay()
    t = DAY  # 06:00 UTC
    with Session(engine) as session, session.begin():
        people = [_party(session, day, p, n) for n, p in enumerate(PEOPLE)]
        driver_party = _party(session, day, DRIVER, 9, PartyKind.DRIVER)
        depot = add_depot(
            session, name="Alnabru", lat=59.93, lon=10.84, actor=DISPATCHER
        )
        driver = add_driver(
            session,
            callsign="D07",
            party=driver_party,
            area="Oslo east",
            actor=DISPATCHER,
        )
        van = add_vehicle(
            session,
            plate="EV 40112",
            capacity=20,
            depot=depot,
            driver=driver,
            actor=DISPATCHER,
        )

        web, sms = OrderChannel.WEB_SHOP, OrderChannel.SMS
        y = _order(
            session, day, "Y", t - timedelta(hours=20), people[5], people[0], web
        )
        a = _order(session, day, "A", t, people[0], people[1], web)
        b = _order(
            session, day, "B", t + timedelta(minutes=10), people[2], people[3], sms
        )
        c = _order(
            session, day, "C", t + timedelta(minutes=20), people[4], people[5], web
        )
        d = _order(
            session, day, "D", t + timedelta(minutes=40), people[1], people[2], web
        )
        e = _order(
            session, day, "E", t + timedelta(minutes=50), people[3], people[4], sms
        )
        f = _order(
            session, day, "F", t + timedelta(minutes=55), people[5], people[1], web
        )

        _pay(session, day, y, PaymentMethod.LIGHTNING, t - timedelta(hours=19))
        _pay(session, day, a, PaymentMethod.ONCHAIN, t + timedelta(minutes=12))
        _pay(session, day, b, PaymentMethod.LIGHTNING, t + timedelta(minutes=15))
        _pay(session, day, c, PaymentMethod.ONCHAIN, t + timedelta(minutes=95))
        _pay(
            session,
            day,
            d,
            PaymentMethod.ONCHAIN,
            t + timedelta(minutes=45),
            settle=False,
        )
        _pay(session, day, e, PaymentMethod.LIGHTNING, t + timedelta(minutes=55))
        cancel_order(
            session,
            parcel=f,
            at=t + timedelta(minutes=70),
            actor=DISPATCHER,
            reason="sender changed their mind",
        )

        stops = [
            (y, StopKind.PICKUP, t - timedelta(hours=18)),
            (y, StopKind.DELIVERY, t - timedelta(hours=17, minutes=30)),
            (a, StopKind.PICKUP, t + timedelta(minutes=30)),
            (b, StopKind.PICKUP, t + timedelta(minutes=45)),
            (c, StopKind.PICKUP, t + timedelta(minutes=60)),
            (a, StopKind.DELIVERY, t + timedelta(minutes=90)),
            (b, StopKind.DELIVERY, t + timedelta(hours=3, minutes=35)),
        ]
        plan = create_plan(
            session,
            actor=DISPATCHER,
            reason="morning plan",
            at=t,
            routes=[PlannedRoute(van, [PlannedStop(p, k, at) for p, k, at in stops])],
        )
        publish_plan(session, plan=plan, at=t, actor=DISPATCHER)
        session.flush()
        planned = session.scalars(select(Stop).order_by(Stop.sequence)).all()
        for stop, (_, _, at) in zip(planned, stops, strict=True):
            complete_stop(session, stop=stop, at=at, actor=DISPATCHER)
    return day
