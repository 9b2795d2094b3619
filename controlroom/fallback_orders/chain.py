"""The spool's hash chain, with no I/O: sealing records and checking them.

Each record is one JSON line. Its hash is SHA-256 over the canonical JSON
(sorted keys, no spaces) of every field but the hash itself, which includes
its sequence number and the hash of the record before it. Editing a field
changes the record's hash; deleting, moving or cutting off records breaks
the sequence, the link to the predecessor, or the head kept beside them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from controlroom.journal.chain import canonical_payload

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class SpoolRecord:
    """One accepted order as the spool keeps it."""

    seq: int
    key: str
    channel: str
    received_at: datetime
    order: Mapping[str, Any]
    prev_hash: str
    hash: str

    @property
    def seq_hash(self) -> tuple[int, str]:
        """The record's place on the chain: ``(seq, hash)``."""
        return self.seq, self.hash

    def as_line(self) -> str:
        """Return the record as its JSON line, newline included."""
        return canonical_payload({**_sealed_fields(self), "hash": self.hash}) + "\n"


@dataclass(frozen=True)
class SpoolProblem:
    """The first record where the chain does not hold, and what is wrong."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.problem}"


def _sealed_fields(record: SpoolRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "key": record.key,
        "channel": record.channel,
        "received_at": record.received_at.astimezone(UTC).isoformat(),
        "order": record.order,
        "prev": record.prev_hash,
    }


def record_hash(record: SpoolRecord) -> str:
    """Return the SHA-256 hex digest that seals ``record`` onto the chain."""
    canonical = canonical_payload(_sealed_fields(record))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal_record(
    *,
    after: tuple[int, str],
    key: str,
    channel: str,
    received_at: datetime,
    order: Mapping[str, Any],
) -> SpoolRecord:
    """Number and hash one record onto the chain after ``after`` = (seq, hash)."""
    seq, prev_hash = after
    # Round-trip the order through JSON so the record holds exactly what a
    # reader will later parse (tuples become lists, datetimes strings).
    stored = json.loads(canonical_payload(order))
    draft = SpoolRecord(
        seq + 1, key, channel, received_at.astimezone(UTC), stored, prev_hash, ""
    )
    return replace(draft, hash=record_hash(draft))


def parse_line(line: str) -> SpoolRecord:
    """Read one JSON line as a record; raise ``ValueError`` if it is not one."""
    raw = json.loads(line)
    if not isinstance(raw, dict) or not isinstance(raw.get("order"), dict):
        raise ValueError("not a spool record")
    received_at = datetime.fromisoformat(str(raw["received_at"]))
    if received_at.tzinfo is None:
        raise ValueError("a record's time has no time zone")
    return SpoolRecord(
        seq=int(raw["seq"]),
        key=str(raw["key"]),
        channel=str(raw["channel"]),
        received_at=received_at,
        order=raw["order"],
        prev_hash=str(raw["prev"]),
        hash=str(raw["hash"]),
    )


def first_problem(
    records: Iterable[SpoolRecord], *, head: tuple[int, str] | None = None
) -> SpoolProblem | None:
    """Walk records in stored order; return the first broken link, if any.

    ``head`` is the (seq, hash) the spool last acknowledged (its head file):
    that record must still be on the chain, which notices records cut off
    the end. Records after the head are allowed: the head is written just
    after the record it names, so a crash between the two leaves it behind.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    keys: set[str] = set()
    head_seq, head_hash = head or (0, GENESIS_HASH)

    stored = list(records)
    for position, record in enumerate(stored):
        if record.seq > expected_seq:
            if any(later.seq == expected_seq for later in stored[position:]):
                return SpoolProblem(
                    expected_seq,
                    f"reordered: it is stored after record {record.seq}",
                )
            return SpoolProblem(
                expected_seq,
                f"missing: records {expected_seq}..{record.seq - 1} were deleted",
            )
        if record.seq < expected_seq:
            return SpoolProblem(record.seq, "out of order: sequence number repeats")
        if record_hash(record) != record.hash:
            return SpoolProblem(
                record.seq, "edited: its content does not match its hash"
            )
        if record.prev_hash != prev_hash:
            return SpoolProblem(
                record.seq,
                "reordered or replaced: it does not follow the record before it",
            )
        if record.key in keys:
            return SpoolProblem(record.seq, "duplicate: its key was spooled before")
        if record.seq == head_seq and record.hash != head_hash:
            return SpoolProblem(
                record.seq, "replaced: it is not the record the head names"
            )
        keys.add(record.key)
        prev_hash = record.hash
        expected_seq += 1

    last = expected_seq - 1
    if head_seq > last:
        return SpoolProblem(
            last + 1,
            f"truncated: the spool ends at record {last} but its head is "
            f"record {head_seq}",
        )
    return None


def checkpoint_problem(
    records: Sequence[SpoolRecord], checkpoint: tuple[int, str]
) -> SpoolProblem | None:
    """Return a problem if record ``checkpoint`` = (seq, hash) is not on the chain.

    A checkpoint is kept outside the spool -- the last merge run's position
    in the primary, a printed receipt -- and notices records cut off the
    end together with the head file.
    """
    seq, digest = checkpoint
    if seq == 0:
        return None
    if seq > len(records):
        return SpoolProblem(
            len(records) + 1,
            f"truncated: the spool ends at record {len(records)} but record "
            f"{seq} was seen before",
        )
    found = records[seq - 1].hash
    if found != digest:
        return SpoolProblem(
            seq, f"replaced: expected {digest[:12]}… here, found {found[:12]}…"
        )
    return None
