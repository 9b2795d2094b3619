"""Who a broadcast reaches: drivers, or customers, one Party per person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from controlroom.dispatch.models import Driver
from controlroom.errors import BroadcastError
from controlroom.orders.codes import parse_code
from controlroom.orders.models import Parcel, ParcelStatus, Party

# Parcels still on their way: ordered or picked up, not delivered/cancelled.
OPEN_STATUSES = (ParcelStatus.ORDERED, ParcelStatus.PICKED_UP)


class AudienceKind(StrEnum):
    """The four audiences a broadcast can go to."""

    ALL_DRIVERS = "all_drivers"
    DRIVERS_IN_AREA = "drivers_in_area"
    AFFECTED_CUSTOMERS = "affected_customers"
    OPEN_ORDER_CUSTOMERS = "open_order_customers"

    @property
    def is_drivers(self) -> bool:
        """Whether the audience is drivers (who have the driver app)."""
        return self in (AudienceKind.ALL_DRIVERS, AudienceKind.DRIVERS_IN_AREA)


@dataclass(frozen=True)
class Audience:
    """An audience kind and what narrows it: an area, postcodes, package codes."""

    kind: AudienceKind
    area: str = ""
    postcodes: tuple[str, ...] = field(default=())
    codes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind is AudienceKind.DRIVERS_IN_AREA and not self.area.strip():
            raise BroadcastError("Name the area whose drivers should hear this.")
        if (
            self.kind is AudienceKind.AFFECTED_CUSTOMERS
            and not self.postcodes
            and not self.codes
        ):
            raise BroadcastError(
                "Affected customers are found by postcode or package code; give "
                "at least one of either."
            )

    def describe(self) -> str:
        """The audience in words, for the screen and the journal."""
        if self.kind is AudienceKind.ALL_DRIVERS:
            return "all drivers"
        if self.kind is AudienceKind.DRIVERS_IN_AREA:
            return f"drivers in {self.area}"
        if self.kind is AudienceKind.OPEN_ORDER_CUSTOMERS:
            return "all customers with open orders"
        parts = []
        if self.postcodes:
            parts.append(f"postcodes {', '.join(self.postcodes)}")
        if self.codes:
            parts.append(f"parcels {', '.join(self.codes)}")
        return "customers of open parcels in " + " and ".join(parts)

    def detail(self) -> dict[str, object]:
        """What narrows the audience, as stored with the broadcast."""
        return {
            "area": self.area,
            "postcodes": list(self.postcodes),
            "codes": list(self.codes),
        }


def audience_parties(session: Session, audience: Audience) -> list[Party]:
    """Return the audience's recipients, each Party once, by id."""
    if audience.kind.is_drivers:
        query = select(Party).join(Driver, Driver.party_id == Party.id)
        if audience.kind is AudienceKind.DRIVERS_IN_AREA:
            query = query.where(Driver.area == audience.area.strip())
        return _unique(session.scalars(query))

    parcels = list(session.scalars(_open_parcels(audience)))
    parties = [party for p in parcels for party in (p.sender, p.recipient)]
    return _unique(parties)


def _open_parcels(audience: Audience) -> Select[Parcel]:
    query = select(Parcel).where(Parcel.status.in_(OPEN_STATUSES))
    if audience.kind is AudienceKind.OPEN_ORDER_CUSTOMERS:
        return query

    sender, recipient = aliased(Party), aliased(Party)
    query = query.join(sender, Parcel.sender_id == sender.id).join(
        recipient, Parcel.recipient_id == recipient.id
    )
    postcodes = [code.strip() for code in audience.postcodes if code.strip()]
    codes = [parse_code(code) for code in audience.codes]
    # A parcel is affected where it is picked up or where it goes.
    return query.where(
        or_(
            sender.postcode.in_(postcodes),
            recipient.postcode.in_(postcodes),
            Parcel.code.in_(codes),
        )
    )


def _unique(parties: Iterable[Party]) -> list[Party]:
    by_id = {party.id: party for party in parties}
    return [by_id[key] for key in sorted(by_id)]
