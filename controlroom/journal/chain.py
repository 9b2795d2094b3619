"""Hash-chain rules of the journal, with no I/O.

Each event's hash is SHA-256 over its canonical form, which includes its
sequence number, both timestamps, kind, subject, actor, payload and the hash
of the event before it. Editing any field changes that event's hash; removing
or moving an event breaks the sequence or the link to its predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

GENESIS_HASH = "0" * 64


class ChainedEvent(Protocol):
    """What verification needs to see of a stored event."""

    @property
    def seq(self) -> int: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def payload(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


@dataclass(frozen=True)
class ChainProblem:
    """The first place the chain does not hold, and what is wrong there."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"event {self.seq}: {self.problem}"


@dataclass(frozen=True)
class EventDraft:
    """An event to append: past-tense kind, subject like ``parcel:42``."""

    kind: str
    subject: str
    actor: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot journal a value of type {type(value).__name__}")


# One encoder for every event: ``json.dumps`` with options builds a new one
# on each call, which costs as much as the encoding.
_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    default=_json_default,
)


def canonical_payload(payload: Mapping[str, Any]) -> str:
    """Return the payload as canonical JSON: sorted keys, no spaces."""
    return _ENCODER.encode(payload)


def event_hash(
    *,
    seq: int,
    recorded_at: datetime,
    occurred_at: datetime,
    kind: str,
    subject: str,
    actor: str,
    payload: str,
    prev_hash: str,
) -> str:
    """Return the SHA-256 hex digest that seals one event onto the chain."""
    fields = [
        str(seq),
        recorded_at.isoformat(),
        occurred_at.isoformat(),
        kind,
        subject,
        actor,
        payload,
        prev_hash,
    ]
    # A unit separator cannot occur in any field unescaped (JSON escapes it).
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def seal_events(
    drafts: Sequence[EventDraft],
    *,
    after: tuple[int, str],
    recorded_at: datetime,
) -> list[dict[str, Any]]:
    """Number and hash drafts onto the chain after ``after`` = ``(seq, hash)``.

    Returns one row per draft with every column of the journal table.
    """
    seq, prev_hash = after
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        seq += 1
        occurred_at = (draft.occurred_at or recorded_at).astimezone(UTC)
        payload = canonical_payload(draft.payload)
        digest = event_hash(
            seq=seq,
            recorded_at=recorded_at,
            occurred_at=occurred_at,
            kind=draft.kind,
            subject=draft.subject,
            actor=draft.actor,
            payload=payload,
            prev_hash=prev_hash,
        )
        rows.append(
            {
                "seq": seq,
                "recorded_at": recorded_at,
                "occurred_at": occurred_at,
                "kind": draft.kind,
                "subject": draft.subject,
                "actor": draft.actor,
                "payload": payload,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    return rows


def find_first_problem(
    events: Iterable[ChainedEvent],
    *,
    expected_head: tuple[int, str] | None = None,
    checkpoint: tuple[int, str] | None = None,
) -> ChainProblem | None:
    """Walk the events in stored order and return the first broken link.

    ``expected_head`` is the ``(seq, hash)`` the journal must end with (the
    head row); without it a cut-off tail of the journal cannot be noticed.
    ``checkpoint`` is a ``(seq, hash)`` kept outside the database (a backup
    manifest, a printed receipt, an earlier verify): that event must still be
    on the chain, which notices a tail cut off together with its head row.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    last: tuple[int, str] = (0, GENESIS_HASH)
    # Sequence 0 is the genesis, never stored, so "no checkpoint" is (0, ...).
    checkpoint_seq, checkpoint_hash = checkpoint or (0, GENESIS_HASH)

    for event in events:
        if event.seq > expected_seq:
            return ChainProblem(
                expected_seq,
                f"missing: events {expected_seq}..{event.seq - 1} were deleted",
            )
        if event.seq < expected_seq:
            return ChainProblem(event.seq, "out of order: sequence number repeats")
        recomputed = event_hash(
            seq=event.seq,
            recorded_at=event.recorded_at,
            occurred_at=event.occurred_at,
            kind=event.kind,
            subject=event.subject,
            actor=event.actor,
            payload=event.payload,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainProblem(
                event.seq, "edited or moved: its content does not match its hash"
            )
        if event.prev_hash != prev_hash:
            return ChainProblem(
                event.seq,
                "reordered or replaced: it does not follow the event before it",
            )
        if event.seq == checkpoint_seq and event.hash != checkpoint_hash:
            return ChainProblem(
                event.seq,
                f"replaced: expected {checkpoint_hash[:12]}… here, "
                f"found {event.hash[:12]}…",
            )
        prev_hash = event.hash
        last = (event.seq, event.hash)
        expected_seq += 1

    if checkpoint_seq > last[0]:
        return ChainProblem(
            last[0] + 1,
            f"truncated: the journal ends at {last[0]} but event "
            f"{checkpoint_seq} was expected",
        )
    if expected_head is not None and last != expected_head:
        head_seq, head_hash = expected_head
        if head_seq > last[0]:
            return ChainProblem(
                last[0] + 1,
                f"truncated: the journal ends at {last[0]} but its head is {head_seq}",
            )
        return ChainProblem(
            head_seq,
            f"head mismatch: expected {head_hash[:12]}… at {head_seq}, "
            f"found the journal ending at {last[0]} ({last[1][:12]}…)",
        )
    return None
