"""What ops observe arriving in a fallback wallet: typed in or imported.

Given a session; nothing here commits. Each observation is journalled
(``PaymentObserved``) and the rules then propose its order
(:func:`.verification.propose_matches_now`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from controlroom.errors import ImportRefused, PaymentError
from controlroom.journal import append_event
from controlroom.payments.addresses import parse_address
from controlroom.payments.private_material import refuse_private_material
from controlroom.payments.wallet_watch.amounts_and_times import MAX_SAT, AmountUnit
from controlroom.payments.wallet_watch.csv_import import ObservedRow, read_observations
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    Observation,
    ObservationSource,
)
from controlroom.payments.wallet_watch.verification import propose_matches_now

logger = logging.getLogger(__name__)

# Clocks differ a little between a phone, an explorer and this server.
FUTURE_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class ImportReport:
    """What an import added, and what it left out and why."""

    file_name: str
    imported: tuple[Observation, ...]
    duplicates: tuple[str, ...]
    skipped: tuple[str, ...]


def record_observation(
    session: Session,
    *,
    address: str,
    amount_sat: int,
    observed_at: datetime,
    recorded_by: str,
    at: datetime,
    txid: str | None = None,
    note: str = "",
) -> Observation:
    """Record a payment someone saw by hand and propose its order."""
    if amount_sat <= 0:
        raise PaymentError(f"A payment is positive, not {amount_sat:,} sat.")
    if amount_sat > MAX_SAT:
        raise PaymentError(
            f"{amount_sat:,} sat is more than 21 million BTC; check the amount "
            "and that it is in sat, not BTC."
        )
    _check_not_ahead(observed_at, at=at)
    refuse_private_material(note)
    address = _known_network_address(session, address.strip())
    txid = (txid or "").strip().lower() or None
    if txid is not None and (
        len(txid) != 64 or any(c not in "0123456789abcdef" for c in txid)
    ):
        raise PaymentError(
            "A txid is 64 hexadecimal characters; copy it again from the "
            "explorer, or leave it empty."
        )
    if txid is not None and _already_observed(session, {(txid, address)}):
        raise PaymentError(
            f"A payment of {txid} to {address} is already recorded; it is not "
            "counted twice."
        )

    observation = _add_observation(
        session,
        row=None,
        address=address,
        amount_sat=amount_sat,
        observed_at=observed_at,
        txid=txid,
        source=ObservationSource.MANUAL,
        recorded_by=recorded_by,
        at=at,
        note=note.strip()[:240],
    )
    propose_matches_now(session, at=at, actor=recorded_by)
    return observation


def import_observations(
    session: Session,
    *,
    content: bytes,
    file_name: str,
    recorded_by: str,
    at: datetime,
    zone: str | None = None,
    unit: AmountUnit | None = None,
) -> ImportReport:
    """Import a CSV export whole, or refuse it naming every bad row."""
    networks = set(session.scalars(select(FallbackWallet.network).distinct()))
    if not networks:
        raise PaymentError(
            "Add a fallback wallet before importing, so the control room knows "
            "which network the addresses belong to."
        )
    read = read_observations(
        content, file_name=file_name, networks=networks, zone=zone, unit=unit
    )

    ahead = [
        f"row {row.row}: seen at {row.observed_at:%Y-%m-%d %H:%M} UTC, later than "
        "now; check the date and its time zone"
        for row in read.rows
        if row.observed_at > at + FUTURE_SLACK
    ]
    if ahead:
        raise ImportRefused(
            f"{file_name} was not imported: " + "; ".join(ahead) + ".",
            problems=ahead,
        )
    fresh, duplicates = _without_duplicates(session, read.rows)
    imported = tuple(
        _add_observation(
            session,
            row=row,
            address=row.address,
            amount_sat=row.amount_sat,
            observed_at=row.observed_at,
            txid=row.txid,
            source=ObservationSource.CSV,
            file_name=file_name,
            recorded_by=recorded_by,
            at=at,
        )
        for row in fresh
    )
    append_event(
        session,
        kind="ObservationsImported",
        subject=f"wallet_import:{file_name[:120]}",
        actor=recorded_by,
        occurred_at=at,
        payload={
            "file": file_name,
            "imported": len(imported),
            "duplicates": len(duplicates),
            "skipped": len(read.skipped),
        },
    )
    propose_matches_now(session, at=at, actor=recorded_by)
    return ImportReport(file_name, imported, tuple(duplicates), read.skipped)


def _check_not_ahead(observed_at: datetime, *, at: datetime) -> None:
    # A payment cannot be seen in the future; a mistyped year or zone would
    # otherwise make it silently late (or early) for its order.
    if observed_at > at + FUTURE_SLACK:
        raise PaymentError(
            f"Seen at {observed_at:%Y-%m-%d %H:%M} UTC is later than now; check "
            "the date, the year and the time zone."
        )


def _known_network_address(session: Session, text: str) -> str:
    networks = list(session.scalars(select(FallbackWallet.network).distinct()))
    if not networks:
        raise PaymentError(
            "Add a fallback wallet first, so the control room knows which "
            "network the address belongs to."
        )
    problem: PaymentError | None = None
    for network in networks:
        try:
            return parse_address(text, network=network).text
        except PaymentError as exc:
            problem = problem or exc
    assert problem is not None
    raise problem


def _already_observed(session: Session, pairs: set[tuple[str, str]]) -> bool:
    return bool(_observed_pairs(session, pairs))


def _observed_pairs(
    session: Session, pairs: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    if not pairs:
        return set()
    found = session.execute(
        select(Observation.txid, Observation.address).where(
            tuple_(Observation.txid, Observation.address).in_(list(pairs))
        )
    ).all()
    return {(txid, address) for txid, address in found if txid is not None}


def _without_duplicates(
    session: Session, rows: tuple[ObservedRow, ...]
) -> tuple[list[ObservedRow], list[str]]:
    # With a txid, one payment is (txid, address). Without one, the same
    # address, amount and moment again is taken to be the same line, so a
    # file imported twice is not counted twice.
    with_txid = {(r.txid, r.address) for r in rows if r.txid is not None}
    known = _observed_pairs(session, with_txid)
    untagged = {(r.address, r.amount_sat, r.observed_at) for r in rows if not r.txid}
    known_untagged = _untagged_observed(session, untagged)

    fresh: list[ObservedRow] = []
    duplicates: list[str] = []
    seen: set[tuple[object, ...]] = set()
    for row in rows:
        key: tuple[object, ...] = (
            (row.txid, row.address)
            if row.txid
            else (row.address, row.amount_sat, row.observed_at)
        )
        if key in seen or key in known or key in known_untagged:
            where = "earlier in this file" if key in seen else "already recorded"
            duplicates.append(
                f"Row {row.row}: {row.amount_sat:,} sat to {row.address} is "
                f"{where}; skipped, not counted twice."
            )
            continue
        seen.add(key)
        fresh.append(row)
    return fresh, duplicates


def _untagged_observed(
    session: Session, keys: set[tuple[str, int, datetime]]
) -> set[tuple[str, int, datetime]]:
    if not keys:
        return set()
    addresses = {address for address, _, _ in keys}
    found = session.execute(
        select(
            Observation.address, Observation.amount_sat, Observation.observed_at
        ).where(Observation.address.in_(addresses), Observation.txid.is_(None))
    ).all()
    return {(a, s, t) for a, s, t in found} & keys


def _add_observation(
    session: Session,
    *,
    row: ObservedRow | None,
    address: str,
    amount_sat: int,
    observed_at: datetime,
    txid: str | None,
    source: ObservationSource,
    recorded_by: str,
    at: datetime,
    file_name: str | None = None,
    note: str = "",
) -> Observation:
    observation = Observation(
        address=address,
        amount_sat=amount_sat,
        txid=txid,
        observed_at=observed_at,
        source=source,
        file_name=file_name,
        file_row=row.row if row else None,
        note=note,
        recorded_by=recorded_by,
        recorded_at=at,
    )
    session.add(observation)
    session.flush()
    append_event(
        session,
        kind="PaymentObserved",
        subject=observation.subject,
        actor=recorded_by,
        occurred_at=at,
        payload={
            "address": address,
            "amount_sat": amount_sat,
            "txid": txid,
            "observed_at": observed_at,
            "source": source,
            "file": file_name,
            "row": observation.file_row,
            "note": note,
        },
    )
    return observation
