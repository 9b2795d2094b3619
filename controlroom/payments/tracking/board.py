"""What the Payments screen reads: node health over time, fail-overs, invoices,
the operator queue and whether the tracker itself runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.health.models import Component, ComponentKind, ComponentState
from controlroom.orders.models import Parcel
from controlroom.payments.lifecycle import QueueReason
from controlroom.payments.marking import pending_marks
from controlroom.payments.models import Invoice, InvoiceException, InvoiceStatus
from controlroom.payments.standing import operator_queue
from controlroom.payments.tracking.models import (
    PROGRESS_ROW,
    NodeCheck,
    TrackerFailover,
    TrackerProgress,
)


@dataclass(frozen=True)
class NodeCheckRow:
    """One node check, with how far the node lagged the best trusted tip then."""

    node_key: str
    region: str
    provider: str
    at: datetime
    height: int | None
    lag: int | None
    response_ms: int | None
    trusted: bool
    reason: str


@dataclass(frozen=True)
class FailoverRow:
    """One fail-over of the tracker; ``to_node`` None means tracking stopped."""

    at: datetime
    from_node: str | None
    to_node: str | None
    reason: str


@dataclass(frozen=True)
class InvoiceStateRow:
    """How many invoices are in one state, and their sat."""

    status: InvoiceStatus
    exception: InvoiceException | None
    count: int
    amount_sat: int
    paid_sat: int

    @property
    def label(self) -> str:
        """The state as people read it, e.g. ``Expired (paid partial)``."""
        status = self.status.value.capitalize()
        if self.exception is None:
            return status
        return f"{status} ({self.exception.value.replace('_', ' ')})"


@dataclass(frozen=True)
class TrackerPosition:
    """Where the tracker stands: the last fully processed block and its node."""

    height: int
    block_hash: str
    node_key: str | None
    updated_at: datetime


# What a person does about each reason an invoice waits in the queue.
QUEUE_WORDS = {
    QueueReason.EXPIRED_WITH_MONEY: (
        "Expired with money on it: ship if the customer tops up or accepts, "
        "otherwise refund what was paid"
    ),
    QueueReason.INVALID: (
        "Invalid: a payment was double-spent or never confirmed; do not ship, "
        "contact the customer"
    ),
    QueueReason.PAID_OVER: "Paid more than asked: refund the difference",
    QueueReason.SETTLED_UNBACKED: (
        "Settled, but its payment was reorged out or double-spent: check "
        "before the parcel leaves"
    ),
}


@dataclass(frozen=True)
class QueueLine:
    """One invoice in the operator queue, in the words of the screen."""

    code: str
    state: str
    amount_sat: int
    paid_sat: int
    due_sat: int
    what_to_do: str


@dataclass(frozen=True)
class PendingMark:
    """A proposal to settle or invalidate an invoice, waiting for a second person."""

    request_id: int
    code: str
    target: InvoiceStatus
    reason: str
    proposed_by: str
    proposed_at: datetime


@dataclass(frozen=True)
class TrackerHealth:
    """The payment tracker's own component: is it running at all?"""

    state: ComponentState
    since: datetime
    note: str


@dataclass(frozen=True)
class PaymentsBoard:
    """Everything the Payments screen draws, read at ``now``."""

    now: datetime
    checks: list[NodeCheckRow]
    latest: list[NodeCheckRow]
    tracker: TrackerPosition | None
    failovers: list[FailoverRow]
    invoices: list[InvoiceStateRow]
    queue: list[QueueLine] = field(default_factory=list)
    tracker_health: TrackerHealth | None = None
    pending_marks: list[PendingMark] = field(default_factory=list)


def node_checks(session: Session, *, since: datetime) -> list[NodeCheckRow]:
    """Return every node check since ``since``, oldest first, with its lag."""
    checks = session.scalars(
        select(NodeCheck).where(NodeCheck.at >= since).order_by(NodeCheck.id)
    ).all()
    best: dict[datetime, int] = {}
    for check in checks:
        if check.trusted and check.height is not None:
            best[check.at] = max(best.get(check.at, check.height), check.height)
    rows = []
    for check in checks:
        top = best.get(check.at)
        lag = None if check.height is None or top is None else top - check.height
        rows.append(
            NodeCheckRow(
                check.node_key,
                check.region,
                check.provider,
                check.at,
                check.height,
                lag,
                check.response_ms,
                check.trusted,
                check.reason,
            )
        )
    return rows


def latest_checks(rows: list[NodeCheckRow]) -> list[NodeCheckRow]:
    """Return each node's newest check, in the order nodes were first seen."""
    newest: dict[str, NodeCheckRow] = {}
    for row in rows:
        newest[row.node_key] = row
    return list(newest.values())


def failover_log(session: Session, *, limit: int = 50) -> list[FailoverRow]:
    """Return the newest fail-overs first."""
    rows = session.scalars(
        select(TrackerFailover).order_by(TrackerFailover.id.desc()).limit(limit)
    )
    return [FailoverRow(f.at, f.from_node, f.to_node, f.reason) for f in rows]


def tracker_position(session: Session) -> TrackerPosition | None:
    """Return the tracker's last fully processed block, if it ever started."""
    progress = session.get(TrackerProgress, PROGRESS_ROW)
    if progress is None:
        return None
    return TrackerPosition(
        progress.height, progress.block_hash, progress.node_key, progress.updated_at
    )


def invoices_by_state(session: Session) -> list[InvoiceStateRow]:
    """Count invoices and sum their sat per status and exception."""
    rows = session.execute(
        select(
            Invoice.status,
            Invoice.exception,
            func.count(),
            func.coalesce(func.sum(Invoice.amount_sat), 0),
            func.coalesce(func.sum(Invoice.paid_sat), 0),
        ).group_by(Invoice.status, Invoice.exception)
    ).all()
    order = {status: index for index, status in enumerate(InvoiceStatus)}
    states = [
        InvoiceStateRow(status, exception, count, int(amount), int(paid))
        for status, exception, count, amount, paid in rows
    ]
    return sorted(
        states,
        key=lambda s: (order[s.status], s.exception is not None, s.exception or ""),
    )


def queue_lines(session: Session) -> list[QueueLine]:
    """Return the operator queue with package codes and what to do."""
    entries = operator_queue(session)
    codes = dict(
        session.execute(
            select(Parcel.id, Parcel.code).where(
                Parcel.id.in_([e.parcel_id for e in entries])
            )
        ).all()
    )
    return [
        QueueLine(
            codes.get(entry.parcel_id, f"parcel {entry.parcel_id}"),
            InvoiceStateRow(entry.status, entry.exception, 1, 0, 0).label,
            entry.amount_sat,
            entry.paid_sat,
            entry.due_sat,
            "; ".join(QUEUE_WORDS[reason] for reason in entry.reasons),
        )
        for entry in entries
    ]


def pending_mark_lines(session: Session) -> list[PendingMark]:
    """Return the proposals to mark an invoice that wait for a second person."""
    return [
        PendingMark(
            r.id,
            r.invoice.parcel.code,
            r.target,
            r.reason,
            r.proposed_by,
            r.proposed_at,
        )
        for r in pending_marks(session)
    ]


def tracker_health(session: Session) -> TrackerHealth | None:
    """Return the tracker component's state, if the tracker is registered."""
    component = session.scalar(
        select(Component)
        .where(Component.kind == ComponentKind.PAYMENT_TRACKER)
        .order_by(Component.id)
    )
    if component is None:
        return None
    return TrackerHealth(component.state, component.state_since, component.note)


def payments_board(engine: Engine, *, hours: int = 6) -> PaymentsBoard:
    """Read the Payments screen in one short session: the last ``hours`` of checks.

    The window ends at the newest check rather than at the clock, so a
    tracker stopped hours ago still shows how it last saw the nodes.
    """
    with Session(read_only(engine)) as session:
        now = operating_now(session)
        newest = session.scalar(select(func.max(NodeCheck.at))) or now
        checks = node_checks(session, since=newest - timedelta(hours=hours))
        return PaymentsBoard(
            now=now,
            checks=checks,
            latest=latest_checks(checks),
            tracker=tracker_position(session),
            failovers=failover_log(session),
            invoices=invoices_by_state(session),
            queue=queue_lines(session),
            tracker_health=tracker_health(session),
            pending_marks=pending_mark_lines(session),
        )
