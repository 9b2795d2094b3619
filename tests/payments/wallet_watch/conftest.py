"""A fallback world: parcels waiting for invoices and the BIP84 test wallet."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from controlroom.orders.models import Parcel
from tests.conftest import SHARED_DATA
from tests.orders.world import customers, order

BIP84: dict[str, Any] = json.loads(
    (SHARED_DATA / "bitcoin" / "bip84_vectors.json").read_text()
)
# The account key of BIP84's "abandon ... about" vector (m/84'/0'/0').
ACCOUNT_ZPUB: str = BIP84["account_0"]["zpub"]
RECEIVE = [a["address"] for a in BIP84["addresses"] if a["path"].split("/")[-2] == "0"]
# A mainnet address for a single reused fallback address.
REUSED = "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv"


@pytest.fixture
def new_parcel(session: Session) -> Callable[[], Parcel]:
    """Place one more order for the same two customers."""
    sender, recipient = customers(session)
    return lambda: order(session, sender, recipient)
