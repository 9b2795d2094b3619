"""Restoring a database from the write-once store: a snapshot plus the journal.

The steps, each refusing with the reason named:

1. The target is a SQLite file that does not exist yet, or is empty.
2. The store's segment chain verifies from its first event to its last
   (:func:`controlroom.backup.verify.verify_store`): any gap, altered,
   reordered or truncated object refuses the restore.
3. The newest snapshot whose bytes match its manifest and whose journal
   head is on that chain, with the same hash, is chosen; others are passed
   over and named in the report.
4. It is written beside the target under a temporary name, the journal
   events after its head are appended from the segments (same sequence
   numbers and hashes, linked to the snapshot's head), and the order events
   among them are re-applied (:mod:`controlroom.backup.replay`).
5. The copy passes SQLite's check and the schema check; its row counts are
   the snapshot's plus what was appended and re-applied; its journal head is
   the last shipped segment's. Only then is it renamed to the target.

A refused restore leaves no target behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, text, update

from controlroom.backup.replay import Replay, reapply_orders
from controlroom.backup.segments import (
    MANIFEST_FOLDER,
    SegmentManifest,
    decode_events,
)
from controlroom.backup.snapshots import (
    SnapshotManifest,
    check_snapshot_bytes,
    snapshot_manifest_keys,
)
from controlroom.backup.stores import BackupStore
from controlroom.backup.verify import verify_store
from controlroom.db import _sqlite_path, create_db_engine, describe_url
from controlroom.errors import BackupBroken, BackupError, RestoreRefused
from controlroom.journal import GENESIS_HASH, JournalEvent, JournalHead
from controlroom.payments.wallet_watch.service import refuse_wallet_secret
from controlroom.schema import check_database, upgrade_database

logger = logging.getLogger(__name__)

_EVENTS = JournalEvent.metadata.tables[JournalEvent.__tablename__]
_HEAD = JournalHead.metadata.tables[JournalHead.__tablename__]


@dataclass(frozen=True)
class TableCount:
    """One table's rows: in the snapshot, added by the restore, and found."""

    table: str
    in_snapshot: int
    added: int
    found: int

    @property
    def expected(self) -> int:
        """The rows the restored table should hold."""
        return self.in_snapshot + self.added

    @property
    def ok(self) -> bool:
        """Whether the restored table holds what it should."""
        return self.found == self.expected


@dataclass(frozen=True)
class RestoreReport:
    """What a restore used, appended, re-applied and checked."""

    target: str
    location: str
    snapshot: SnapshotManifest
    passed_over: tuple[str, ...]
    appended: int
    replay: Replay
    counts: tuple[TableCount, ...]
    head_restored: tuple[int, str]
    head_shipped: tuple[int, str]
    seconds: float

    @property
    def journal_only(self) -> Mapping[str, int]:
        """Event kinds after the snapshot kept in the journal only, by count."""
        return dict(sorted(self.replay.journal_only.items()))


class SegmentChain:
    """The verified segments, read on demand by sequence number."""

    def __init__(self, store: BackupStore) -> None:
        self.store = store
        self.manifests = [
            SegmentManifest.from_bytes(store.get(key))
            for key in store.list(MANIFEST_FOLDER + "/")
        ]

    @property
    def head(self) -> tuple[int, str]:
        if not self.manifests:
            return 0, GENESIS_HASH
        last = self.manifests[-1]
        return last.last_seq, last.head_hash

    def hash_of(self, seq: int) -> str | None:
        """The hash of event ``seq`` on the chain; None past its end."""
        if seq == 0:
            return GENESIS_HASH
        for manifest in self.manifests:
            if manifest.first_seq <= seq <= manifest.last_seq:
                if seq == manifest.last_seq:
                    return manifest.head_hash
                rows = decode_events(self.store.get(manifest.segment_key))
                return str(rows[seq - manifest.first_seq]["hash"])
        return None

    def events_after(self, seq: int) -> list[dict[str, Any]]:
        """The events after ``seq``, in order, as journal rows."""
        rows: list[dict[str, Any]] = []
        for manifest in self.manifests:
            if manifest.last_seq <= seq:
                continue
            decoded = decode_events(self.store.get(manifest.segment_key))
            rows.extend(row for row in decoded if row["seq"] > seq)
        return rows


def target_path(url: str) -> Path:
    """The SQLite file a restore writes; refuse any other kind of target."""
    path = _sqlite_path(url)
    if path is None:
        # PostgreSQL is restored as a data folder from a base backup and the
        # archived WAL (controlroom.backup.pg_restore), not into a URL.
        raise RestoreRefused(
            f"Restoring into {describe_url(url)} is not supported: the target "
            "must be a SQLite file URL such as sqlite:////path/restored.sqlite3; "
            "restore PostgreSQL into a new data folder with --to-pgdata DIR."
        )
    return path.resolve()


def refuse_used_target(path: Path) -> None:
    """Refuse a target file (or its WAL) that exists and is not empty."""
    for candidate in (path, Path(f"{path}-wal")):
        if candidate.is_dir():
            raise RestoreRefused(f"{candidate} is a folder, not a database file.")
        if candidate.exists() and candidate.stat().st_size > 0:
            raise RestoreRefused(
                f"{candidate} exists and is not empty; a restore never "
                "overwrites a database. Move it aside or name a new file."
            )


def choose_snapshot(
    store: BackupStore, chain: SegmentChain
) -> tuple[SnapshotManifest, bytes, tuple[str, ...]]:
    """The newest snapshot that holds and sits on the chain; the rest named."""
    passed_over: list[str] = []
    for key in reversed(snapshot_manifest_keys(store)):
        try:
            manifest = SnapshotManifest.from_bytes(store.get(key))
        except ValueError as exc:
            passed_over.append(f"{key}: the manifest is unreadable, {exc}")
            continue
        if manifest.key != key:
            passed_over.append(f"{key}: moved, it describes {manifest.object_key}")
            continue
        try:
            data = store.get(manifest.object_key)
        except BackupError:
            passed_over.append(f"{manifest.object_key}: missing")
            continue
        fault = check_snapshot_bytes(manifest, data)
        if fault is not None:
            passed_over.append(f"{manifest.object_key}: {fault}")
            continue
        on_chain = chain.hash_of(manifest.head_seq)
        if on_chain is None:
            passed_over.append(
                f"{manifest.object_key}: its journal head, event "
                f"{manifest.head_seq}, is not in the shipped segments (they end "
                f"at {chain.head[0]}); ship first"
            )
            continue
        if on_chain != manifest.head_hash:
            passed_over.append(
                f"{manifest.object_key}: its journal head does not match event "
                f"{manifest.head_seq} in the segments (another journal)"
            )
            continue
        return manifest, data, tuple(passed_over)

    if not passed_over:
        raise RestoreRefused(
            f"The backup at {store.location} holds no snapshot; take one with "
            "'controlroom backup snapshot'."
        )
    raise RestoreRefused(
        f"No snapshot in {store.location} can be restored: " + "; ".join(passed_over),
        key=passed_over[0].partition(":")[0],
    )


def restore_database(
    store: BackupStore,
    target_url: str,
    *,
    wallet_keys: Mapping[str, str] | None = None,
    expected_head: tuple[int, str] | None = None,
) -> RestoreReport:
    """Rebuild a database at ``target_url`` from the store; refuse on any fault.

    ``wallet_keys``: by name, the keys of fallback wallets added after the
    snapshot, which the journal does not hold (:mod:`.replay_wallets`).
    ``expected_head``: a ``(seq, hash)`` kept elsewhere that the store must
    reach; without it, newest segments deleted with their manifests cannot
    be noticed, and the report's head is all there is to compare.
    """
    started = time.perf_counter()
    keys = dict(wallet_keys or {})
    for key in keys.values():
        refuse_wallet_secret(key)
    path = target_path(target_url)
    refuse_used_target(path)

    verified = verify_store(store, snapshots=False, expected_head=expected_head)
    problem = verified.problem
    if problem is not None:
        raise BackupBroken(
            f"Restore refused: the backup at {store.location} is broken at {problem}.",
            key=problem.key,
            seq=problem.seq,
        )
    chain = SegmentChain(store)
    snapshot, data, passed_over = choose_snapshot(store, chain)
    events = chain.events_after(snapshot.head_seq)
    _check_links(events, after=(snapshot.head_seq, snapshot.head_hash), store=store)

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".restoring"
    )
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        replay, counts, head = _rebuild(temp, snapshot, events, keys)
        if head != chain.head:
            raise RestoreRefused(
                f"The restored journal ends at event {head[0]}, the last shipped "
                f"segment at {chain.head[0]}; nothing was written to {path}."
            )
        _settle_file(temp)
        refuse_used_target(path)
        os.replace(temp, path)
    finally:
        for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
            leftover.unlink(missing_ok=True)

    seconds = time.perf_counter() - started
    logger.info(
        "restored target=%s snapshot=%s appended=%s seconds=%.2f",
        path,
        snapshot.object_key,
        len(events),
        seconds,
    )
    return RestoreReport(
        target=str(path),
        location=store.location,
        snapshot=snapshot,
        passed_over=passed_over,
        appended=len(events),
        replay=replay,
        counts=counts,
        head_restored=head,
        head_shipped=chain.head,
        seconds=seconds,
    )


def _check_links(
    events: Sequence[Mapping[str, Any]],
    *,
    after: tuple[int, str],
    store: BackupStore,
) -> None:
    # Verification walked each segment; this checks the seam between the
    # snapshot's head and the first event appended after it.
    seq, digest = after
    for event in events:
        if event["seq"] != seq + 1 or event["prev_hash"] != digest:
            raise BackupBroken(
                f"Restore refused: event {event['seq']} in the segments at "
                f"{store.location} does not follow event {seq} ({digest[:12]}…).",
                key=store.location,
                seq=event["seq"],
            )
        seq, digest = event["seq"], event["hash"]


def _rebuild(
    path: Path,
    snapshot: SnapshotManifest,
    events: Sequence[Mapping[str, Any]],
    wallet_keys: Mapping[str, str],
) -> tuple[Replay, tuple[TableCount, ...], tuple[int, str]]:
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        copied = _journal_head(engine)
        if copied != (snapshot.head_seq, snapshot.head_hash):
            raise RestoreRefused(
                f"The snapshot {snapshot.object_key} says its journal ends at "
                f"{snapshot.head_seq}, but the copy's head row is at {copied[0]}.",
                key=snapshot.object_key,
            )
        # A snapshot from an older version of the control room is brought
        # to this version's schema before anything is added to it.
        upgrade_database(engine)
        with engine.begin() as connection:
            _append(connection, events, had_head=snapshot.head_seq > 0)
            replay = reapply_orders(connection, events, wallet_keys=wallet_keys)
        check_database(engine)
        counts = _count(engine, snapshot, events, replay)
        head = _journal_head(engine)
    finally:
        engine.dispose()
    wrong = [count for count in counts if not count.ok]
    if wrong:
        raise RestoreRefused(
            "The restored database does not hold what it should: "
            + "; ".join(
                f"{c.table} has {c.found:,} rows, expected {c.expected:,}"
                for c in wrong
            )
        )
    return replay, counts, head


def _journal_head(engine: Engine) -> tuple[int, str]:
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT seq, hash FROM journal_head WHERE id = 1")
        ).one_or_none()
    return (int(row.seq), str(row.hash)) if row else (0, GENESIS_HASH)


def _append(
    connection: Connection, events: Sequence[Mapping[str, Any]], *, had_head: bool
) -> None:
    if not events:
        return
    connection.execute(insert(_EVENTS), list(events))
    last = events[-1]
    if had_head:
        connection.execute(
            update(_HEAD)
            .where(_HEAD.c.id == 1)
            .values(seq=last["seq"], hash=last["hash"])
        )
    else:
        connection.execute(
            insert(_HEAD).values(id=1, seq=last["seq"], hash=last["hash"])
        )


def _count(
    engine: Engine,
    snapshot: SnapshotManifest,
    events: Sequence[Mapping[str, Any]],
    replay: Replay,
) -> tuple[TableCount, ...]:
    # Each re-applied kind counts the rows it inserted, table by table.
    added: Counter[str] = Counter(journal_events=len(events))
    added.update(replay.rows_added)
    if events and snapshot.row_counts.get("journal_head", 0) == 0:
        added["journal_head"] = 1
    with engine.connect() as connection:
        present = set(
            connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            ).scalars()
        )
        counts = []
        for table in sorted(snapshot.row_counts.keys() | present):
            found = 0
            if table in present:
                query = text(f'SELECT COUNT(*) FROM "{table}"')
                found = int(connection.execute(query).scalar_one())
            counts.append(
                TableCount(
                    table, snapshot.row_counts.get(table, 0), added[table], found
                )
            )
    return tuple(counts)


def _settle_file(path: Path) -> None:
    # Fold the WAL into the file and leave it one self-contained file, so
    # the rename below moves the whole database.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    with open(path, "rb") as file:
        os.fsync(file.fileno())
