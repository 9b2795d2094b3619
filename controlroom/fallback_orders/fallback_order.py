"""What a spooled order holds, and its JSON form in the spool.

Only what carrying out the order needs: the package code the customer was
given, the size, load and price, the pickup and delivery places (a
postcode at least; name, street and city when the channel collected
them), the customers' phone numbers, and where to pay. No name or street
is made up here; merge back fills what a channel could not collect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controlroom.errors import FallbackOrderError


@dataclass(frozen=True)
class Contact:
    """One end of a parcel's journey, as far as the channel knows it."""

    postcode: str
    phone: str = ""
    name: str = ""
    street: str = ""
    city: str = ""
    # Known when the channel geocoded the address (a web order spooled
    # during a fail-over); else merge back places it at its postcode.
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class PayTo:
    """Where the customer was told to pay, from a watch-only wallet.

    ``wallet`` is the wallet's first receive address: it names the wallet
    without its public key (which would reveal every address it has).
    """

    address: str
    amount_sat: int
    wallet: str
    index: int | None
    network: str


@dataclass(frozen=True)
class FallbackOrder:
    """An order accepted by a fallback channel, as the spool keeps it."""

    code: str
    size: str
    load: int
    price_sat: int
    sender: Contact
    recipient: Contact
    pickup_window: tuple[datetime, datetime]
    delivery_window: tuple[datetime, datetime]
    pay_to: PayTo | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the order as the spool stores it."""
        return {
            "code": self.code,
            "size": self.size,
            "load": self.load,
            "price_sat": self.price_sat,
            "sender": vars(self.sender),
            "recipient": vars(self.recipient),
            "pickup_window": [t.isoformat() for t in self.pickup_window],
            "delivery_window": [t.isoformat() for t in self.delivery_window],
            "pay_to": None if self.pay_to is None else vars(self.pay_to),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FallbackOrder:
        """Read an order back from the spool, or raise naming what is wrong."""
        try:
            pay_to = raw.get("pay_to")
            return cls(
                code=str(raw["code"]),
                size=str(raw["size"]),
                load=int(raw["load"]),
                price_sat=int(raw["price_sat"]),
                sender=Contact(**raw["sender"]),
                recipient=Contact(**raw["recipient"]),
                pickup_window=_window(raw["pickup_window"]),
                delivery_window=_window(raw["delivery_window"]),
                pay_to=None if pay_to is None else PayTo(**pay_to),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FallbackOrderError(
                f"A spooled order cannot be read ({exc!r}); it was written by "
                "another version or altered."
            ) from exc


def _window(raw: Any) -> tuple[datetime, datetime]:
    start, end = (datetime.fromisoformat(str(value)) for value in raw)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("a window time has no time zone")
    return start, end
