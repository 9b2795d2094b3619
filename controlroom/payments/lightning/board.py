"""What the Payments screen shows of Lightning: customers' limits and proposals.

Only regular customers may pay over Lightning, each within a limit in
satoshis; a new limit needs a second person. The screen lists every regular
customer with the limit, what is open against it now, and the proposals
waiting for a second person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.orders.models import CustomerKind, Party, PartyKind
from controlroom.payments.lightning.service import (
    lightning_limit,
    open_lightning_sat,
    pending_limit_changes,
)
from controlroom.payments.models import Invoice, InvoiceStatus, PaymentMethod


@dataclass(frozen=True)
class CustomerLimit:
    """One regular customer's Lightning limit and what is open against it."""

    party_id: int
    name: str
    limit_sat: int
    open_sat: int


@dataclass(frozen=True)
class PendingLimit:
    """A limit change that waits for a second person."""

    change_id: int
    party_id: int
    name: str
    previous_sat: int
    limit_sat: int
    reason: str
    proposed_by: str
    proposed_at: datetime


@dataclass(frozen=True)
class LightningBoard:
    """Lightning on the Payments screen."""

    now: datetime
    customers: tuple[CustomerLimit, ...]
    pending: tuple[PendingLimit, ...]
    invoices_by_status: dict[InvoiceStatus, int]


def lightning_board(engine: Engine) -> LightningBoard:
    """Read the regular customers' limits, the proposals and Lightning invoices."""
    with Session(read_only(engine)) as session:
        now = operating_now(session)
        regulars = session.scalars(
            select(Party)
            .where(
                Party.kind == PartyKind.CUSTOMER,
                Party.customer_kind == CustomerKind.REGULAR,
            )
            .order_by(Party.name, Party.id)
        ).all()
        customers = tuple(
            CustomerLimit(
                party.id,
                party.name,
                lightning_limit(session, customer=party),
                open_lightning_sat(session, customer=party, now=now),
            )
            for party in regulars
        )
        pending = tuple(
            PendingLimit(
                change.id,
                change.party_id,
                change.customer.name,
                change.previous_limit_sat,
                change.limit_sat,
                change.reason,
                change.proposed_by,
                change.proposed_at,
            )
            for change in pending_limit_changes(session)
        )
        counts = session.execute(
            select(Invoice.status, func.count())
            .where(Invoice.method == PaymentMethod.LIGHTNING)
            .group_by(Invoice.status)
        )
        by_status = {status: int(count) for status, count in counts}
    return LightningBoard(now, customers, pending, by_status)
