"""How the live screens name a parcel: by package code, or by pseudonym.

A package code is the key to a parcel's status on the public status site,
so only the roles in :data:`controlroom.session_frame.CODE_READERS` see it.
Everyone else sees the keyed pseudonym analysts already know from
:mod:`controlroom.analytics`, and the code is never read from the database
for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

from controlroom.analytics.pseudonyms import pseudonym_key, pseudonymise
from controlroom.config import Settings
from controlroom.orders.models import Parcel
from controlroom.session_frame import SignedInUser, shows_codes


@dataclass(frozen=True)
class ParcelNames:
    """Package codes (no key) or pseudonyms under ``pseudonym_key``."""

    pseudonym_key: bytes | None = field(default=None, repr=False)

    @property
    def show_codes(self) -> bool:
        """Whether parcels are named by their package code."""
        return self.pseudonym_key is None

    @property
    def column(self) -> InstrumentedAttribute[Any]:
        """The parcel column to read: the code, or only the id to pseudonymise."""
        return Parcel.code if self.show_codes else Parcel.id

    def name(self, value: Any) -> str:
        """The shown name of a parcel from the value read from :attr:`column`."""
        if self.pseudonym_key is None:
            return str(value)
        return pseudonymise(self.pseudonym_key, f"parcel:{value}")


PACKAGE_CODES = ParcelNames()


def parcel_names_for(user: SignedInUser, settings: Settings) -> ParcelNames:
    """Return how ``user``'s screens name parcels, as their role allows."""
    if shows_codes(user.role):
        return PACKAGE_CODES
    return ParcelNames(pseudonym_key(settings))
