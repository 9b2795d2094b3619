"""The words for a visit: what a vehicle does at a stop, and a visit by ids."""

from __future__ import annotations

from enum import StrEnum


class StopKind(StrEnum):
    """What a vehicle does at a stop."""

    PICKUP = "pickup"
    DELIVERY = "delivery"


# One visit named by ids: (shipment or on-board parcel id, pickup or delivery).
StopRef = tuple[str, StopKind]
