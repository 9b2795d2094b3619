"""The fallback spool: orders accepted while the primary cannot take them.

The spool is a folder of its own on storage independent of the order
database. Records are JSON lines in numbered segment files
(``000001.jsonl``, ...), each carrying the hash of the one before it
(:mod:`controlroom.fallback_orders.chain`). A record is written and
``fsync``'d before :meth:`Spool.accept` returns, so "accepted" is never
said of an order a power cut can take back. A full segment is sealed:
made read-only, never opened for writing again.

Beside the segments, ``spool.json`` names the spool (its id, made once)
and ``head.json`` keeps the last acknowledged record's sequence number and
hash, so records cut off the end are noticed.

The same order delivered again under its idempotency key is not written
twice: :meth:`Spool.accept` returns the record already there.

Personal data: a record holds what the order needs to be carried out --
the pickup and delivery postcodes and the customers' phone numbers (names
and streets when a channel collects them). The folder is created
owner-only (0700) and every file in it is 0600 (0400 once sealed); keep the
spool on an encrypted volume, and remove the folder once it is merged and
verified (:mod:`controlroom.fallback_orders.merge`).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from controlroom.errors import FallbackOrderError, SpoolBroken
from controlroom.fallback_orders import spool_files as files
from controlroom.fallback_orders.chain import (
    GENESIS_HASH,
    SpoolProblem,
    SpoolRecord,
    checkpoint_problem,
    first_problem,
    parse_line,
    seal_record,
)

RECORDS_PER_SEGMENT = 500


@dataclass(frozen=True)
class SpoolEntry:
    """An order to spool: its idempotency key, channel, time and details."""

    key: str
    channel: str
    received_at: datetime
    order: Mapping[str, Any]


@dataclass(frozen=True)
class Accepted:
    """What the spool answered: the record, and whether it is new."""

    record: SpoolRecord
    new: bool


@dataclass(frozen=True)
class SpoolReading:
    """A spool read back and checked, up to its first problem.

    ``records`` holds the intact records before ``problem`` (all of them
    when there is none). ``unfinished_tail`` says the last line was cut
    off mid-write after the head: a crash before that order was
    acknowledged, so no customer was told it was accepted.
    """

    folder: Path
    spool_id: str
    records: tuple[SpoolRecord, ...]
    head: tuple[int, str]
    problem: SpoolProblem | None
    unfinished_tail: bool


def read_spool(
    folder: Path, *, checkpoint: tuple[int, str] | None = None
) -> SpoolReading:
    """Read and verify the spool in ``folder``; never changes a file.

    ``checkpoint`` is a record's (seq, hash) known from outside the spool
    (see :func:`~controlroom.fallback_orders.chain.checkpoint_problem`).
    """
    folder = folder.expanduser().absolute()
    spool_id = files.read_identity(folder)
    head = files.read_head(folder)
    lines = list(files.segment_lines(folder))

    records: list[SpoolRecord] = []
    problem: SpoolProblem | None = None
    unfinished = False
    for number, (line, whole) in enumerate(lines):
        next_seq = records[-1].seq + 1 if records else 1
        try:
            if not whole:
                raise ValueError("cut off")
            records.append(parse_line(line))
        except (ValueError, KeyError, TypeError):
            last_line = number == len(lines) - 1
            if last_line and not whole and next_seq > head[0]:
                unfinished = True
            else:
                problem = SpoolProblem(
                    next_seq, "truncated or damaged: its line is not a whole record"
                )
            break

    chain_problem = first_problem(records, head=head if problem is None else None)
    if chain_problem is not None:
        problem = chain_problem
    if problem is None and checkpoint is not None:
        problem = checkpoint_problem(records, checkpoint)
    if problem is not None:
        records = [r for r in records if r.seq < problem.seq]
    return SpoolReading(
        folder, spool_id, tuple(records), head, problem, unfinished and not problem
    )


def spool_broken(folder: Path, problem: SpoolProblem) -> SpoolBroken:
    """Return the error that names the first ``problem`` of the spool."""
    return SpoolBroken(
        f"The fallback spool in {folder} is broken at {problem}. Keep the "
        "folder as it is for investigation; the records before it can still "
        "be merged.",
        folder=str(folder),
        seq=problem.seq,
        problem=problem.problem,
    )


class Spool:
    """An open spool folder that orders are accepted into.

    Safe to share between threads; two processes appending to one folder
    take turns on a lock file. Opening refuses a spool whose chain is
    broken (:class:`SpoolBroken`): new orders then go to a new folder.
    """

    def __init__(
        self, folder: Path, *, records_per_segment: int = RECORDS_PER_SEGMENT
    ) -> None:
        self.folder = files.private_folder(folder.expanduser().absolute())
        self._per_segment = records_per_segment
        self._lock = threading.Lock()
        self._records: list[SpoolRecord] = []
        self._keys: dict[str, SpoolRecord] = {}
        with self._file_lock():
            self._load()

    @property
    def spool_id(self) -> str:
        """The spool's own id, made when it was created."""
        return self._spool_id

    @property
    def head(self) -> tuple[int, str]:
        """The newest record's ``(seq, hash)``; ``(0, genesis)`` when empty."""
        with self._lock:
            return self._head()

    def records(self) -> tuple[SpoolRecord, ...]:
        """Every record, oldest first."""
        with self._lock:
            return tuple(self._records)

    def find(self, key: str) -> SpoolRecord | None:
        """Return the record spooled under ``key``, if there is one."""
        with self._lock:
            return self._keys.get(key)

    def accept(
        self,
        *,
        key: str,
        channel: str,
        order: Mapping[str, Any],
        received_at: datetime,
    ) -> Accepted:
        """Spool one order durably; the same key again returns its record."""
        [accepted] = self.accept_many([SpoolEntry(key, channel, received_at, order)])
        return accepted

    def accept_many(self, entries: Sequence[SpoolEntry]) -> list[Accepted]:
        """Spool orders in the given order with one ``fsync`` for them all."""
        for entry in entries:
            _check_time(entry.key, entry.received_at)
        with self._file_lock():
            self._catch_up()
            return self._seal_and_write(entries)

    def accept_with(
        self,
        *,
        key: str,
        channel: str,
        received_at: datetime,
        compose: Callable[[Sequence[SpoolRecord]], Mapping[str, Any] | SpoolRecord],
    ) -> Accepted:
        """Spool the order ``compose`` makes from the records before it.

        ``compose`` runs under the spool's lock, so what it derives from
        the records (the next address index) is never given twice. It may
        return a record already spooled instead, when the order is a repeat
        of it: that record is answered and nothing is written.
        """
        _check_time(key, received_at)
        with self._file_lock():
            self._catch_up()
            if (known := self._keys.get(key)) is not None:
                return Accepted(known, new=False)
            composed = compose(tuple(self._records))
            if isinstance(composed, SpoolRecord):
                return Accepted(composed, new=False)
            entry = SpoolEntry(key, channel, received_at, composed)
            [accepted] = self._seal_and_write([entry])
            return accepted

    def _catch_up(self) -> None:
        if files.read_head(self.folder) != self._head():
            self._load()  # another process appended meanwhile

    def _seal_and_write(self, entries: Sequence[SpoolEntry]) -> list[Accepted]:
        results: list[Accepted] = []
        fresh: list[SpoolRecord] = []
        for entry in entries:
            known = self._keys.get(entry.key)
            if known is not None:
                results.append(Accepted(known, new=False))
                continue
            record = seal_record(
                after=fresh[-1].seq_hash if fresh else self._head(),
                key=entry.key,
                channel=entry.channel,
                received_at=entry.received_at,
                order=entry.order,
            )
            fresh.append(record)
            self._keys[entry.key] = record
            results.append(Accepted(record, new=True))
        try:
            self._write(fresh)
        except OSError as exc:
            for record in fresh:
                del self._keys[record.key]
            raise FallbackOrderError(
                f"The spool in {self.folder} cannot be written ({exc.strerror}); "
                "nothing was accepted. Free space or point the spool at another "
                "folder."
            ) from exc
        self._records.extend(fresh)
        return results

    def _head(self) -> tuple[int, str]:
        return self._records[-1].seq_hash if self._records else (0, GENESIS_HASH)

    def _load(self) -> None:
        if not (self.folder / files.SPOOL_FILE).exists():
            files.create_identity(self.folder)
        reading = read_spool(self.folder)
        if reading.problem is not None:
            raise spool_broken(self.folder, reading.problem)
        if reading.unfinished_tail:
            files.drop_unfinished_tail(self.folder)
        self._spool_id = reading.spool_id
        self._records = list(reading.records)
        self._keys = {record.key: record for record in reading.records}

    def _write(self, fresh: Sequence[SpoolRecord]) -> None:
        position = 0
        while position < len(fresh):
            segment, room = self._open_segment(fresh[position].seq)
            batch = fresh[position : position + room]
            files.append(segment, "".join(record.as_line() for record in batch))
            position += len(batch)
        if fresh:
            files.write_head(self.folder, fresh[-1].seq_hash)

    def _open_segment(self, seq: int) -> tuple[Path, int]:
        # Segment n holds records (n-1)*size+1 .. n*size: a record's file
        # follows from its sequence number alone.
        number = (seq - 1) // self._per_segment + 1
        segment = self.folder / f"{number:06d}.jsonl"
        if number > 1:
            previous = self.folder / f"{number - 1:06d}.jsonl"
            if previous.exists() and previous.stat().st_mode & 0o200:
                previous.chmod(files.SEALED_FILE)  # sealed: full, never written again
        return segment, number * self._per_segment - seq + 1

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        with self._lock:
            descriptor = os.open(
                self.folder / files.LOCK_FILE,
                os.O_RDWR | os.O_CREAT,
                files.PRIVATE_FILE,
            )
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield
            finally:
                os.close(descriptor)  # closing releases the lock


def _check_time(key: str, received_at: datetime) -> None:
    if received_at.tzinfo is None:
        raise FallbackOrderError(f"Order {key}: its time has no time zone; spool UTC.")
