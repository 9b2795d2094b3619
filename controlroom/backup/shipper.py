"""The shipper: new journal events, sealed into segments, into a store.

Each round reads the events after the shipped position, seals them into
segments of at most ``segment_events``, checks that they re-hash and link to
what was shipped before (a journal rewritten under us is never shipped),
writes each segment and then its manifest to the store, and records the new
position. Then it measures the lag, in events and in seconds since the
oldest event not yet shipped, and sets the backup component: a refused or
failed write raises the alarm at once; a lag past the threshold raises it
too; a round that catches up clears it.

:meth:`Shipper.ship_through` is the ship-before-acknowledge mode: the order
path calls it after its transaction commits and acknowledges the order only
when it returns, so an acknowledged order is never only on one machine. The
cost is a store round trip per acknowledgement: one segment and one
manifest written and flushed, 5 to 20 ms on this machine's disk (50 to 185
acknowledged orders a second instead of about 2,500; a PUT pair, tens of
milliseconds, with S3), and a tiny segment per order instead of one per
second (see BENCHMARKS.md).

Two shippers on one store stay consistent: objects are written once under
names given by their first sequence number, so the slower of two writers is
refused and adopts what the other wrote, after checking it is the same
journal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.alarm import (
    BackupLag,
    clip,
    decide_alarm,
    measure_lag,
    set_backup_component,
)
from controlroom.backup.models import BackupPosition, BackupShipment
from controlroom.backup.segments import (
    MANIFEST_FOLDER,
    SegmentManifest,
    checksum,
    seal_segment,
    walk_segment,
)
from controlroom.backup.stores import BackupStore, RetentionCheck, open_store
from controlroom.config import Settings
from controlroom.db import utcnow
from controlroom.errors import BackupError, ControlRoomError, StoreRefused
from controlroom.journal import GENESIS_HASH, JournalEvent
from controlroom.journal.chain import ChainedEvent

logger = logging.getLogger(__name__)

_EVENTS = JournalEvent.__table__
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(location: str) -> threading.Lock:
    # One shipper at a time per store within a process: the background
    # rounds and the order path's ship_through share it.
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(location, threading.Lock())


@dataclass(frozen=True)
class ShipReport:
    """What one round shipped, how far behind the store is, and any alarm."""

    location: str
    segments: int
    events: int
    shipped_seq: int
    lag: BackupLag
    error: str = ""
    alarm: str = ""


class Shipper:
    """Ships one database's journal to one store."""

    def __init__(
        self,
        engine: Engine,
        store: BackupStore,
        *,
        segment_events: int = 10_000,
        segments_per_round: int = 100,
        lag_alarm_seconds: float = 10.0,
        retention_every_seconds: float = 300.0,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.store = store
        self.segment_events = segment_events
        # A long catch-up (a first shipment, a store back after an outage)
        # still reports its lag and alarm between bounded rounds.
        self.segments_per_round = segments_per_round
        self.lag_alarm_seconds = lag_alarm_seconds
        self.retention_every_seconds = retention_every_seconds
        self.now = now
        self._lock = _lock_for(store.location)
        self._retention: RetentionCheck | None = None
        self._retention_at = 0.0

    def ship_once(self) -> ShipReport:
        """Ship everything new, measure the lag, set the backup component."""
        with self._lock:
            self._ensure_position()
            retention = self._check_retention()
            segments = events = 0
            error = ""
            try:
                while segments < self.segments_per_round and (
                    shipped := self._ship_segment()
                ):
                    segments += 1
                    events += shipped
            except BackupError as exc:
                error = str(exc)
                logger.warning(
                    "backup write failed location=%s error=%s",
                    self.store.location,
                    error,
                )
            return self._settle(segments, events, error, retention)

    def ship_through(self, seq: int) -> ShipReport:
        """Return once events up to ``seq`` are in the store; else raise.

        Call after the transaction that wrote event ``seq`` has committed.
        """
        report = self.ship_once()
        if report.shipped_seq < seq:
            raise BackupError(
                f"Event {seq} is not in the backup at {self.store.location}: "
                + (report.error or f"the store holds events up to {report.shipped_seq}")
            )
        return report

    def run(
        self,
        *,
        every_seconds: float = 1.0,
        rounds: int | None = None,
        on_round: Callable[[ShipReport], None] | None = None,
    ) -> None:
        """Ship a round every ``every_seconds`` until ``rounds`` are done.

        The first round's errors are raised (a wrong store, another
        journal's backup); later ones are logged and the next round tries
        again.
        """
        done = 0
        while rounds is None or done < rounds:
            started = time.monotonic()
            try:
                report = self.ship_once()
            except ControlRoomError as exc:
                if not done:
                    raise
                logger.error(
                    "backup round failed location=%s error=%s",
                    self.store.location,
                    exc,
                )
            except Exception:
                # The outer loop of a background job: one bad round must
                # not end the shipping.
                logger.exception("backup round failed location=%s", self.store.location)
            else:
                if on_round is not None:
                    on_round(report)
            done += 1
            if rounds is None or done < rounds:
                time.sleep(max(0.0, every_seconds - (time.monotonic() - started)))

    # -- one segment ---------------------------------------------------------

    def _ensure_position(self) -> None:
        with Session(self.engine) as session, session.begin():
            if _position(session, self.store.location) is not None:
                return
            seq, head, digest = self._adopt_store(session)
            session.add(
                BackupPosition(
                    location=self.store.location,
                    kind=self.store.kind,
                    shipped_seq=seq,
                    shipped_hash=head,
                    manifest_digest=digest,
                    lag_events=0,
                    lag_seconds=0.0,
                    last_error="",
                    retention_detail="",
                )
            )

    def _adopt_store(self, session: Session) -> tuple[int, str, str]:
        # A store that already holds segments (a database restored, a record
        # lost) is continued, if it holds this journal.
        manifests = self.store.list(MANIFEST_FOLDER + "/")
        if not manifests:
            return 0, GENESIS_HASH, GENESIS_HASH
        raw = self.store.get(manifests[-1])
        manifest = _read_manifest(raw, manifests[-1])
        self._check_same_journal(session, manifest)
        return manifest.last_seq, manifest.head_hash, checksum(raw)

    def _check_same_journal(self, session: Session, manifest: SegmentManifest) -> None:
        ours = session.scalar(
            select(JournalEvent.hash).where(JournalEvent.seq == manifest.last_seq)
        )
        if ours != manifest.head_hash:
            raise BackupError(
                f"The store at {self.store.location} holds another journal: its "
                f"event {manifest.last_seq} is not this database's. Ship to an "
                "empty store."
            )

    def _ship_segment(self) -> int:
        with Session(self.engine) as session:
            position = _position(session, self.store.location)
            assert position is not None  # made by _ensure_position
            after, prev_hash = position.shipped_seq, position.shipped_hash
            prev_manifest = position.manifest_digest
            # Rows, not mapped objects: the ORM's bookkeeping would cost more
            # than sealing (benchmarks/backup_bench.py).
            rows = session.execute(
                select(_EVENTS)
                .where(_EVENTS.c.seq > after)
                .order_by(_EVENTS.c.seq)
                .limit(self.segment_events)
            ).all()
            if not rows:
                return 0
            # A row has the columns as attributes, which is all sealing reads.
            events = cast(Sequence[ChainedEvent], rows)
            segment = seal_segment(
                events, prev_manifest=prev_manifest, created_at=self.now()
            )
        self._check_chain(segment.data, after + 1, prev_hash)

        manifest = segment.manifest
        raw = manifest.to_bytes()
        if not self._put_once(manifest.segment_key, segment.data):
            # The name is taken: by another shipper, whose manifest says what
            # it shipped, or by our own round cut short before its manifest.
            if self.store.exists(manifest.key):
                return self._adopt(manifest.key)
            if self.store.get(manifest.segment_key) != segment.data:
                raise BackupError(
                    f"{manifest.segment_key} is in the store without a manifest "
                    "and differs from the journal; run 'controlroom backup verify'."
                )
        if not self._put_once(manifest.key, raw):
            return self._adopt(manifest.key)
        self._record(manifest, raw)
        return manifest.count

    def _put_once(self, key: str, data: bytes) -> bool:
        """Write a new object; False if the name is taken already."""
        try:
            self.store.put(key, data)
        except StoreRefused:
            if self.store.exists(key):
                return False
            raise
        return True

    def _adopt(self, key: str) -> int:
        raw = self.store.get(key)
        manifest = _read_manifest(raw, key)
        with Session(self.engine) as session:
            self._check_same_journal(session, manifest)
        logger.info(
            "backup adopted location=%s first=%s last=%s",
            self.store.location,
            manifest.first_seq,
            manifest.last_seq,
        )
        self._record(manifest, raw)
        return manifest.count

    def _check_chain(self, data: bytes, first_seq: int, prev_hash: str) -> None:
        walk = walk_segment(data, first_seq=first_seq, prev_hash=prev_hash)
        if walk.bad_seq is not None:
            raise BackupError(
                f"Not shipped: the journal is broken at event {walk.bad_seq} "
                f"({walk.fault}); run 'controlroom journal verify'."
            )

    def _record(self, manifest: SegmentManifest, raw: bytes) -> None:
        at = self.now()
        with Session(self.engine) as session, session.begin():
            position = _position(session, self.store.location)
            assert position is not None
            session.add(
                BackupShipment(
                    location=self.store.location,
                    first_seq=manifest.first_seq,
                    last_seq=manifest.last_seq,
                    head_hash=manifest.head_hash,
                    manifest_digest=checksum(raw),
                    size=manifest.size,
                    shipped_at=at,
                )
            )
            position.shipped_seq = manifest.last_seq
            position.shipped_hash = manifest.head_hash
            position.manifest_digest = checksum(raw)
            position.shipped_at = at
            position.failing_since = None
            position.last_error = ""

    # -- after the round -----------------------------------------------------

    def _check_retention(self) -> RetentionCheck | None:
        due = time.monotonic() - self._retention_at >= self.retention_every_seconds
        if self._retention is not None and not due:
            return self._retention
        try:
            self._retention = self.store.check_retention()
        except BackupError as exc:
            self._retention = RetentionCheck(False, str(exc), (str(exc),))
        self._retention_at = time.monotonic()
        with Session(self.engine) as session, session.begin():
            position = _position(session, self.store.location)
            assert position is not None
            position.retention_checked_at = self.now()
            position.retention_ok = self._retention.ok
            problems = "; ".join(self._retention.problems)
            position.retention_detail = clip(problems or self._retention.detail)
        return self._retention

    def _settle(
        self,
        segments: int,
        events: int,
        error: str,
        retention: RetentionCheck | None,
    ) -> ShipReport:
        at = self.now()
        with Session(self.engine) as session, session.begin():
            position = _position(session, self.store.location)
            assert position is not None
            lag = measure_lag(session, shipped_seq=position.shipped_seq, at=at)
            position.last_attempt_at = at
            position.lag_events = lag.events
            position.lag_seconds = lag.seconds
            if error:
                position.failing_since = position.failing_since or at
                position.last_error = clip(error)
            alarm, state = decide_alarm(
                lag=lag,
                error=error,
                retention=retention,
                lag_alarm_seconds=self.lag_alarm_seconds,
            )
            set_backup_component(
                session,
                state=state,
                note=alarm,
                at=at,
                lag_alarm_seconds=self.lag_alarm_seconds,
            )
            shipped = position.shipped_seq
        return ShipReport(
            self.store.location, segments, events, shipped, lag, error, alarm
        )


def shipper_from_settings(
    engine: Engine, settings: Settings, store: BackupStore | None = None
) -> Shipper:
    """A shipper to the configured store, with the configured size and alarm."""
    return Shipper(
        engine,
        store or open_store(settings),
        segment_events=settings.backup_segment_events,
        lag_alarm_seconds=settings.backup_lag_alarm_seconds,
    )


def _position(session: Session, location: str) -> BackupPosition | None:
    return session.scalar(
        select(BackupPosition).where(BackupPosition.location == location)
    )


def _read_manifest(raw: bytes, key: str) -> SegmentManifest:
    try:
        return SegmentManifest.from_bytes(raw)
    except ValueError as exc:
        raise BackupError(
            f"The manifest {key} in the store is unreadable ({exc}); run "
            "'controlroom backup verify'."
        ) from None
