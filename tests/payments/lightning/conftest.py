"""A lab Lightning node on 127.0.0.1 and customers who pay over Lightning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from controlroom.orders.models import CustomerKind, Parcel, Party, PartyKind
from controlroom.orders.service import register_party
from controlroom.payments.lab.lightning_node import LabLightningNode
from controlroom.payments.lab.lightning_server import LabLightningServer
from controlroom.payments.lightning.lnd_rest import LndRestNode
from tests.conftest import DAY
from tests.orders.world import RECIPIENT, SENDER, order

# The order's payment deadline in these tests: its pickup window opens then.
DEADLINE = DAY + timedelta(hours=2)


class LabClock:
    """The lab node's clock, moved by the test instead of by time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def lab_clock() -> LabClock:
    """A clock standing at the start of the demo day."""
    return LabClock(DAY)


@pytest.fixture
def lab_lnd(lab_clock: LabClock) -> Iterator[LabLightningServer]:
    """A regtest lab LND answering its REST API on 127.0.0.1."""
    with LabLightningServer(LabLightningNode(clock=lab_clock)) as server:
        yield server


@pytest.fixture
def lnd(lab_lnd: LabLightningServer) -> Iterator[LndRestNode]:
    """Our adapter, configured with the lab node's URL and macaroon."""
    node = LndRestNode(lab_lnd.node_config(timeout_seconds=2.0))
    yield node
    node.close()


def customer(session: Session, kind: CustomerKind, name: str = "Ingrid") -> Party:
    """Register a customer of the given kind."""
    details = {**SENDER, "name": f"{name} Sender"}
    return register_party(
        session,
        kind=PartyKind.CUSTOMER,
        actor="webshop",
        customer_kind=kind,
        **details,
    )


def parcel_from(session: Session, sender: Party) -> Parcel:
    """An ordered parcel the sender pays for."""
    recipient = register_party(
        session, kind=PartyKind.CUSTOMER, actor="webshop", **RECIPIENT
    )
    return order(session, sender, recipient)


@pytest.fixture
def regular(session: Session) -> Party:
    """A regular customer: Lightning is open to them."""
    return customer(session, CustomerKind.REGULAR)


@pytest.fixture
def regular_parcel(session: Session, regular: Party) -> Parcel:
    """A parcel a regular customer sends."""
    return parcel_from(session, regular)
