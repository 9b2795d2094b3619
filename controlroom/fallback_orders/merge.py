"""Merge back: spooled orders flow into the primary once it returns.

Records go in spool order, a batch per transaction, each placed under its
idempotency key (:func:`controlroom.orders.service.place_order`) and marked
with the channel it came through. A record whose key the primary already
holds is counted and skipped, so a merge interrupted by a crash is simply
run again: what was committed is found, the rest is placed, and the result
is the same as one uninterrupted run. A run is logged in
``fallback_merges`` and journalled when it starts and when it ends.

A spool whose chain is broken is merged up to the first bad record and
the run stops there, naming it: the orders before it were acknowledged to
customers and must not wait for the investigation.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.db import read_only, utcnow
from controlroom.dispatch.models import Depot
from controlroom.errors import FallbackOrderError
from controlroom.fallback_orders.chain import SpoolProblem, SpoolRecord
from controlroom.fallback_orders.fallback_order import Contact, FallbackOrder, PayTo
from controlroom.fallback_orders.models import MergeOutcome, MergeRun
from controlroom.fallback_orders.spool import read_spool
from controlroom.fallback_orders.spool_files import read_identity
from controlroom.journal import append_event
from controlroom.orders.models import OrderChannel, Parcel, Party, PartyKind
from controlroom.orders.service import find_order_by_key, place_order, register_party
from controlroom.payments.models import PaymentMethod
from controlroom.payments.service import issue_invoice
from controlroom.payments.wallet_watch.models import FallbackWallet, IssuedAddress
from controlroom.payments.wallet_watch.service import (
    FALLBACK_INVOICE_LIFETIME,
    journal_address_issued,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
Progress = Callable[[int, int], None]


class RecordFate(StrEnum):
    """What merging one spooled record did."""

    MERGED = "merged"
    ALREADY_PRESENT = "already_present"


@dataclass(frozen=True)
class AddressClash:
    """A merged order paid to an address the primary gave another parcel."""

    code: str
    address: str
    other_parcel: str


@dataclass(frozen=True)
class MergeReport:
    """What one merge run did, per channel and in all."""

    run_id: int
    spool_id: str
    records: int
    merged: int
    already_present: int
    by_channel: dict[str, dict[RecordFate, int]]
    through_seq: int
    problem: SpoolProblem | None
    clashes: tuple[AddressClash, ...] = ()


def merge_spool(
    engine: Engine,
    folder: Path,
    *,
    actor: str,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> MergeReport:
    """Merge every intact record of the spool in ``folder`` into the primary.

    The furthest an earlier run of this spool got is a checkpoint: a spool
    since cut short below it is noticed even with its head file rewritten.
    """
    spool_id = read_identity(folder.expanduser().absolute())
    reading = read_spool(folder, checkpoint=merged_checkpoint(engine, spool_id))
    records = reading.records
    problem = reading.problem
    run_id = _start_run(engine, reading.spool_id, len(records), actor)

    fates: Counter[tuple[str, RecordFate]] = Counter()
    places: dict[str, tuple[float, float]] = {}
    clashes: list[AddressClash] = []
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        with Session(engine) as session, session.begin():
            for record in batch:
                fate = merge_record(
                    session, record, actor=actor, places=places, clashes=clashes
                )
                fates[(record.channel, fate)] += 1
            _advance_run(session, run_id, batch, fates)
        if progress is not None:
            progress(start + len(batch), len(records))

    through = records[-1].seq if records else 0
    _finish_run(engine, run_id, problem, actor)
    report = MergeReport(
        run_id=run_id,
        spool_id=reading.spool_id,
        records=len(records),
        merged=sum(n for (_, fate), n in fates.items() if fate is RecordFate.MERGED),
        already_present=sum(
            n for (_, fate), n in fates.items() if fate is RecordFate.ALREADY_PRESENT
        ),
        by_channel=_by_channel(fates),
        through_seq=through,
        problem=problem,
        clashes=tuple(clashes),
    )
    logger.info(
        "fallback merge done run=%s merged=%s present=%s clashes=%s problem=%s",
        run_id,
        report.merged,
        report.already_present,
        len(clashes),
        problem,
    )
    return report


def merged_checkpoint(engine: Engine, spool_id: str) -> tuple[int, str] | None:
    """Return the furthest (seq, hash) any merge run of this spool reached."""
    with Session(read_only(engine)) as session:
        furthest = session.execute(
            select(MergeRun.through_seq, MergeRun.through_hash)
            .where(MergeRun.spool_id == spool_id, MergeRun.through_seq > 0)
            .order_by(MergeRun.through_seq.desc())
            .limit(1)
        ).first()
    return None if furthest is None else (furthest[0], furthest[1])


class _PlacedMeanwhile(Exception):
    """Another writer placed this key first; undo our parties."""


def merge_record(
    session: Session,
    record: SpoolRecord,
    *,
    actor: str,
    places: dict[str, tuple[float, float]] | None = None,
    clashes: list[AddressClash] | None = None,
) -> RecordFate:
    """Place one spooled order in the primary unless its key is there already.

    ``places`` remembers where each postcode was placed, across a run;
    ``clashes`` collects orders paid to an address already issued to
    another parcel (the order is merged all the same).
    """
    places = {} if places is None else places
    if find_order_by_key(session, record.key) is not None:
        return RecordFate.ALREADY_PRESENT
    order = FallbackOrder.from_json(record.order)
    channel = _channel(record)
    if not order.sender.phone:
        raise FallbackOrderError(
            f"Spool record {record.seq} has no phone number for the sender; "
            "the channel that spooled it must collect one."
        )

    # One savepoint for the parties, the parcel and its invoice: if a
    # concurrent merge placed the key first, none of ours stays behind.
    try:
        with session.begin_nested():
            at = record.received_at
            sender = _party(session, order.sender, order, actor, at, places)
            recipient = _party(session, order.recipient, order, actor, at, places)
            parcel = place_order(
                session,
                sender=sender,
                recipient=recipient,
                load=order.load,
                pickup_window=order.pickup_window,
                delivery_window=order.delivery_window,
                price_sat=order.price_sat,
                ordered_at=record.received_at,
                actor=actor,
                channel=channel,
                idempotency_key=record.key,
                code=order.code,
            )
            if parcel.sender_id != sender.id:
                raise _PlacedMeanwhile
            clash = None
            if order.pay_to is not None:
                clash = _invoice(
                    session, parcel, order.pay_to, record.received_at, actor
                )
    except _PlacedMeanwhile:
        return RecordFate.ALREADY_PRESENT
    if clash is not None and clashes is not None:
        clashes.append(clash)
    return RecordFate.MERGED


def _channel(record: SpoolRecord) -> OrderChannel:
    try:
        return OrderChannel(record.channel)
    except ValueError:
        raise FallbackOrderError(
            f"Spool record {record.seq} names the channel {record.channel!r}, "
            "which this version does not know; merge it with the version that "
            "spooled it."
        ) from None


def _party(
    session: Session,
    contact: Contact,
    order: FallbackOrder,
    actor: str,
    at: datetime,
    places: dict[str, tuple[float, float]],
) -> Party:
    # SMS orders know a postcode and a phone: the street is agreed on the
    # phone call the reply promises, and the place is the postcode's.
    if contact.lat is not None and contact.lon is not None:
        lat, lon = contact.lat, contact.lon
    else:
        if contact.postcode not in places:
            places[contact.postcode] = _place(session, contact.postcode)
        lat, lon = places[contact.postcode]
    return register_party(
        session,
        kind=PartyKind.CUSTOMER,
        name=contact.name or f"Customer of order {order.code}",
        phone=contact.phone or order.sender.phone,
        street=contact.street or "to be agreed by phone",
        postcode=contact.postcode,
        city=contact.city,
        lat=lat,
        lon=lon,
        actor=actor,
        at=at,
    )


def _place(session: Session, postcode: str) -> tuple[float, float]:
    known = session.execute(
        select(func.avg(Party.lat), func.avg(Party.lon)).where(
            Party.postcode == postcode
        )
    ).one()
    if known[0] is not None:
        return float(known[0]), float(known[1])
    depot = session.execute(
        select(Depot.lat, Depot.lon).order_by(Depot.id).limit(1)
    ).first()
    if depot is None:
        raise FallbackOrderError(
            f"Postcode {postcode} is new to the primary and it has no depot to "
            "place the order at; add the depot first, then merge again."
        )
    return depot.lat, depot.lon


def _invoice(
    session: Session, parcel: Parcel, pay_to: PayTo, at: datetime, actor: str
) -> AddressClash | None:
    invoice = issue_invoice(
        session,
        parcel=parcel,
        method=PaymentMethod.ONCHAIN,
        amount_sat=pay_to.amount_sat,
        created_at=at,
        expires_at=at + FALLBACK_INVOICE_LIFETIME,
        actor=actor,
        address=pay_to.address,
    )
    wallet = session.scalar(
        select(FallbackWallet).where(FallbackWallet.first_address == pay_to.wallet)
    )
    if wallet is None or pay_to.index is None:
        return None
    taken = session.scalar(
        select(Parcel.code)
        .join(IssuedAddress, IssuedAddress.parcel_id == Parcel.id)
        .where(
            IssuedAddress.wallet_id == wallet.id,
            IssuedAddress.derivation_index == pay_to.index,
        )
    )
    if taken is not None:
        # The spool was given the account the primary issues from: the
        # invoice still watches the address, but the wallet's list cannot
        # hold it twice. The merge report names both parcels so ops match
        # the payments by hand.
        logger.warning(
            "fallback address index already issued wallet=%s index=%s parcel=%s",
            wallet.id,
            pay_to.index,
            taken,
        )
        return AddressClash(parcel.code, pay_to.address, taken)
    issued = IssuedAddress(
        wallet=wallet,
        derivation_index=pay_to.index,
        address=pay_to.address,
        invoice=invoice,
        parcel_id=parcel.id,
        issued_by=actor,
        issued_at=at,
    )
    session.add(issued)
    session.flush()
    # Journalled as the primary journals its own addresses, so a restore
    # brings the row back (controlroom.backup.replay_wallets).
    journal_address_issued(session, issued=issued, amount_sat=pay_to.amount_sat)
    return None


def _start_run(engine: Engine, spool_id: str, records: int, actor: str) -> int:
    with Session(engine) as session, session.begin():
        run = MergeRun(spool_id=spool_id, started_at=utcnow(), started_by=actor)
        session.add(run)
        session.flush()
        append_event(
            session,
            kind="FallbackMergeStarted",
            subject=run.subject,
            actor=actor,
            payload={"spool": spool_id, "records": records},
        )
        return run.id


def _advance_run(
    session: Session,
    run_id: int,
    batch: Sequence[SpoolRecord],
    fates: Counter[tuple[str, RecordFate]],
) -> None:
    run = session.get_one(MergeRun, run_id)
    run.through_seq, run.through_hash = batch[-1].seq_hash
    run.merged = sum(n for (_, f), n in fates.items() if f is RecordFate.MERGED)
    run.already_present = sum(
        n for (_, f), n in fates.items() if f is RecordFate.ALREADY_PRESENT
    )


def _finish_run(
    engine: Engine, run_id: int, problem: SpoolProblem | None, actor: str
) -> None:
    with Session(engine) as session, session.begin():
        run = session.get_one(MergeRun, run_id)
        run.finished_at = utcnow()
        run.outcome = (
            MergeOutcome.COMPLETE
            if problem is None
            else MergeOutcome.STOPPED_AT_PROBLEM
        )
        run.problem = None if problem is None else str(problem)[:400]
        append_event(
            session,
            kind="FallbackMergeFinished",
            subject=run.subject,
            actor=actor,
            payload={
                "outcome": run.outcome,
                "through_seq": run.through_seq,
                "through_hash": run.through_hash,
                "merged": run.merged,
                "already_present": run.already_present,
                "problem": run.problem,
            },
        )


def _by_channel(
    fates: Counter[tuple[str, RecordFate]],
) -> dict[str, dict[RecordFate, int]]:
    channels: dict[str, dict[RecordFate, int]] = {}
    for (channel, fate), count in sorted(fates.items()):
        channels.setdefault(channel, dict.fromkeys(RecordFate, 0))[fate] = count
    return channels
