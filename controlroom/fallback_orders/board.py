"""What a screen shows of the fallback channels, as plain dataclasses.

Per channel, how many spooled orders wait for merge back and how many the
primary already holds; whether the spool's chain holds; and the last merge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.db import read_only
from controlroom.errors import FallbackOrderError
from controlroom.fallback_orders.chain import GENESIS_HASH
from controlroom.fallback_orders.merge import merged_checkpoint
from controlroom.fallback_orders.models import MergeOutcome, MergeRun
from controlroom.fallback_orders.spool import SpoolReading, read_spool
from controlroom.fallback_orders.spool_files import SPOOL_FILE, read_identity
from controlroom.orders.models import Parcel

# Keys asked about per query: well under every backend's parameter limit.
_KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class ChannelLine:
    """One channel's spooled orders: waiting for merge back, and merged."""

    channel: str
    waiting: int
    merged: int


@dataclass(frozen=True)
class SpoolChain:
    """The spool's state: its records, head, and the first problem if any.

    ``exists`` is false while no order was ever spooled in the folder;
    ``problem`` names the first bad record (or why the folder cannot be
    read); ``unfinished_tail`` is a crash before an order was acknowledged.
    """

    folder: Path
    exists: bool
    spool_id: str | None
    records: int
    head_seq: int
    head_hash: str
    problem: str | None
    unfinished_tail: bool

    @property
    def intact(self) -> bool:
        """Whether every record checks out."""
        return self.problem is None


@dataclass(frozen=True)
class LastMerge:
    """The newest merge run; ``finished_at`` is None while (or if) it runs."""

    run_id: int
    spool_id: str
    started_at: datetime
    started_by: str
    finished_at: datetime | None
    outcome: MergeOutcome
    through_seq: int
    merged: int
    already_present: int
    problem: str | None


@dataclass(frozen=True)
class FallbackBoard:
    """The fallback channels at a glance."""

    channels: tuple[ChannelLine, ...]
    chain: SpoolChain
    last_merge: LastMerge | None

    @property
    def waiting(self) -> int:
        """Spooled orders the primary does not hold yet, over every channel."""
        return sum(line.waiting for line in self.channels)


def fallback_board(engine: Engine, spool_dir: Path) -> FallbackBoard:
    """Read the spool and the primary and say where the fallback orders are."""
    reading, chain = _read_chain(engine, spool_dir)
    records = reading.records if reading is not None else ()

    with Session(read_only(engine)) as session:
        present = _present_keys(session, [r.key for r in records])
        run = session.scalars(
            select(MergeRun).order_by(MergeRun.started_at.desc(), MergeRun.id.desc())
        ).first()
        last = None if run is None else _last_merge(run)

    waiting: Counter[str] = Counter()
    merged: Counter[str] = Counter()
    for record in records:
        (merged if record.key in present else waiting)[record.channel] += 1
    channels = tuple(
        ChannelLine(channel, waiting[channel], merged[channel])
        for channel in sorted(waiting.keys() | merged.keys())
    )
    return FallbackBoard(channels, chain, last)


def _read_chain(engine: Engine, folder: Path) -> tuple[SpoolReading | None, SpoolChain]:
    folder = folder.expanduser().absolute()
    if not (folder / SPOOL_FILE).exists():
        return None, SpoolChain(folder, False, None, 0, 0, GENESIS_HASH, None, False)
    try:
        checkpoint = merged_checkpoint(engine, read_identity(folder))
        reading = read_spool(folder, checkpoint=checkpoint)
    except FallbackOrderError as exc:
        return None, SpoolChain(folder, True, None, 0, 0, GENESIS_HASH, str(exc), False)
    head_seq, head_hash = (
        reading.records[-1].seq_hash if reading.records else (0, GENESIS_HASH)
    )
    return reading, SpoolChain(
        folder=folder,
        exists=True,
        spool_id=reading.spool_id,
        records=len(reading.records),
        head_seq=head_seq,
        head_hash=head_hash,
        problem=None if reading.problem is None else str(reading.problem),
        unfinished_tail=reading.unfinished_tail,
    )


def _present_keys(session: Session, keys: Sequence[str]) -> set[str]:
    present: set[str] = set()
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        present.update(
            session.scalars(
                select(Parcel.idempotency_key).where(Parcel.idempotency_key.in_(chunk))
            )
        )
    return present


def _last_merge(run: MergeRun) -> LastMerge:
    return LastMerge(
        run_id=run.id,
        spool_id=run.spool_id,
        started_at=run.started_at,
        started_by=run.started_by,
        finished_at=run.finished_at,
        outcome=run.outcome,
        through_seq=run.through_seq,
        merged=run.merged,
        already_present=run.already_present,
        problem=run.problem,
    )
