"""A primary to merge into, and spooled orders to merge: the fallback world."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import Depot
from controlroom.fallback_orders.fallback_order import Contact, FallbackOrder, PayTo
from controlroom.fallback_orders.spool import Spool, SpoolEntry
from controlroom.fallback_orders.spool_wallet import SpoolWallet
from controlroom.fallback_orders.terms import delivery_window, pickup_window
from controlroom.orders.codes import new_package_code
from controlroom.orders.models import Parcel, PartyKind
from controlroom.orders.service import place_order, register_party
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.models import WalletKind
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
    issue_fallback_address,
)

OUTAGE = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def primary_with_depot(engine: Engine, wallet_key: str | None = None) -> None:
    """Give the primary a depot (and the spool's wallet key, if given)."""
    with Session(engine) as session, session.begin():
        session.add(Depot(name="Oslo S", lat=59.911, lon=10.753))
        if wallet_key is not None:
            add_fallback_wallet(
                session,
                name="Spool wallet",
                kind=WalletKind.HD,
                public_key=wallet_key,
                network=Network.REGTEST,
                at=OUTAGE,
                actor="ops",
                activate=False,
            )


def primary_issuing_from(engine: Engine, wallet_key: str, issued: int) -> list[str]:
    """A primary whose active fallback wallet has paid ``issued`` web orders.

    Returns the codes of those parcels, in the order their addresses (index
    0, 1, ...) were given.
    """
    primary_with_depot(engine)
    with Session(engine) as session, session.begin():
        add_fallback_wallet(
            session,
            name="Primary fallback",
            kind=WalletKind.HD,
            public_key=wallet_key,
            network=Network.REGTEST,
            at=OUTAGE,
            actor="ops",
        )
    codes = []
    for number in range(issued):
        web_order(engine, number)
        with Session(engine) as session, session.begin():
            parcel = session.scalars(
                select(Parcel).where(
                    Parcel.idempotency_key == f"web-order-{number:06d}"
                )
            ).one()
            issue_fallback_address(
                session, parcel=parcel, amount_sat=21_200, at=OUTAGE, actor="ops"
            )
            codes.append(parcel.code)
    return codes


def spooled_order(
    number: int, *, wallet: SpoolWallet | None = None, channel: str = "sms"
) -> SpoolEntry:
    """Spooled order ``number``: a medium parcel from 0155 to 0364."""
    received = OUTAGE + timedelta(seconds=number)
    pay_to = None
    if wallet is not None:
        pay_to = PayTo(
            address=wallet.address(number),
            amount_sat=28_000,
            wallet=wallet.first_address,
            index=number,
            network="regtest",
        )
    order = FallbackOrder(
        code=new_package_code(),
        size="M",
        load=20,
        price_sat=28_000,
        sender=Contact(postcode="0155", phone=f"+479{number:07d}"),
        recipient=Contact(postcode="0364"),
        pickup_window=pickup_window(received),
        delivery_window=delivery_window(received),
        pay_to=pay_to,
    )
    return SpoolEntry(
        f"{channel}-order-{number:06d}", channel, received, order.as_json()
    )


def spool_of(folder: Path, count: int, **options: object) -> Spool:
    """A spool holding orders 0 .. count-1."""
    spool = Spool(folder)
    spool.accept_many([spooled_order(n, **options) for n in range(count)])  # type: ignore[arg-type]
    return spool


def web_order(engine: Engine, number: int) -> None:
    """Place web order ``number`` on the primary in a transaction of its own."""
    with Session(engine) as session, session.begin():
        sender = register_party(
            session,
            kind=PartyKind.CUSTOMER,
            name="Web Sender",
            phone="+4790000001",
            street="Storgata 1",
            postcode="0155",
            city="Oslo",
            lat=59.91,
            lon=10.75,
            actor="webshop",
        )
        place_order(
            session,
            sender=sender,
            recipient=sender,
            load=3,
            pickup_window=(OUTAGE, OUTAGE + timedelta(hours=2)),
            delivery_window=(OUTAGE, OUTAGE + timedelta(hours=4)),
            price_sat=21_200,
            ordered_at=OUTAGE,
            actor="webshop",
            idempotency_key=f"web-order-{number:06d}",
        )


def keys_in_primary(engine: Engine) -> list[str]:
    """Every parcel's idempotency key, in order of placing."""
    with Session(engine) as session:
        return list(session.scalars(select(Parcel.idempotency_key).order_by(Parcel.id)))


def parcel_count(engine: Engine) -> int:
    """How many parcels the primary holds."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Parcel)) or 0


def complete_web_order(
    key: str, received: datetime, *, sender_phone: str = "+4791234567"
) -> FallbackOrder:
    """A web shop order as take_order wants it: geocoded, Oslo to Oslo, size M."""
    return FallbackOrder(
        code=new_package_code(),
        size="M",
        load=20,
        price_sat=28_000,
        sender=Contact(
            postcode="0155",
            phone=sender_phone,
            name="Kari Nordmann",
            street="Storgata 1",
            city="Oslo",
            lat=59.913,
            lon=10.752,
        ),
        recipient=Contact(
            postcode="0364",
            phone="+4798765432",
            name="Ola Nordmann",
            street="Kirkeveien 64",
            city="Oslo",
            lat=59.929,
            lon=10.717,
        ),
        pickup_window=pickup_window(received),
        delivery_window=delivery_window(received),
    )
