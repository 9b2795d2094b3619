"""Sealed segments of the journal and their manifests, with no I/O.

A segment is a run of consecutive journal events in a line format whose
bytes follow from the events alone: the same events always give the same
bytes, so the same segment shipped twice is the same object. Each line is
the event's hash preimage (the fields :func:`controlroom.journal.chain.
event_hash` joins with a unit separator) followed by the separator and the
hash itself, which lets verification re-hash a line without parsing it into
a datetime first. An event with a separator or a newline in one of its
fields (never seen: payloads are canonical JSON, which escapes control
characters) is written as a JSON array instead; a plain line starts with a
digit, a JSON one with ``[``.

A manifest describes one segment: first and last sequence, the hash the
first event links to, the head hash at its end, the SHA-256 of the segment
bytes and their size, the hash of the manifest before it (so manifests form
a chain of their own), and when it was made.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from controlroom.journal.chain import GENESIS_HASH, ChainedEvent

FORMAT = 1
SEPARATOR = "\x1f"
SEGMENT_FOLDER = "segments"
MANIFEST_FOLDER = "manifests"
_SEPARATOR_BYTE = SEPARATOR.encode()


def segment_key(first_seq: int) -> str:
    """The store key of the segment that starts at ``first_seq``."""
    return f"{SEGMENT_FOLDER}/{first_seq:012d}.seg"


def manifest_key(first_seq: int) -> str:
    """The store key of the manifest of the segment starting at ``first_seq``."""
    return f"{MANIFEST_FOLDER}/{first_seq:012d}.json"


def first_seq_of(key: str) -> int | None:
    """The first sequence a segment or manifest key names; None if malformed."""
    name = key.rpartition("/")[2].partition(".")[0]
    return int(name) if len(name) == 12 and name.isdigit() else None


def _fields(event: ChainedEvent) -> list[str]:
    return [
        str(event.seq),
        event.recorded_at.isoformat(),
        event.occurred_at.isoformat(),
        event.kind,
        event.subject,
        event.actor,
        event.payload,
        event.prev_hash,
    ]


def _plain(text: str) -> bool:
    return SEPARATOR not in text and "\n" not in text


def encode_event(event: ChainedEvent) -> str:
    """One event as its segment line, without the newline."""
    fields = _fields(event)
    if all(_plain(text) for text in fields):
        return SEPARATOR.join([*fields, event.hash])
    # A rare name with a separator in it: JSON keeps the line unambiguous.
    return json.dumps([*fields, event.hash], ensure_ascii=False)


def encode_events(events: Sequence[ChainedEvent]) -> bytes:
    """The segment bytes of ``events``: one line each, newline-terminated."""
    return "".join(encode_event(event) + "\n" for event in events).encode("utf-8")


@dataclass(frozen=True)
class SegmentWalk:
    """How far a segment's lines hold: re-hashed, numbered and linked.

    ``bad_seq`` is the position of the first line that fails and ``fault``
    what failed there: ``unreadable`` (not a segment line, or cut off),
    ``altered`` (its content does not match its hash), ``sequence`` (it
    holds another event than the one due here) or ``link`` (it does not
    link to the event before it).
    """

    first_seq: int
    last_seq: int
    last_hash: str
    bad_seq: int | None = None
    fault: str = ""
    found_seq: int | None = None


def _json_line(line: bytes) -> list[bytes]:
    fields = json.loads(line)
    if len(fields) != 9 or not all(isinstance(f, str) for f in fields):
        raise ValueError("not nine text fields")
    return [f.encode("utf-8") for f in fields]


def walk_segment(data: bytes, *, first_seq: int, prev_hash: str) -> SegmentWalk:
    """Re-hash each line and follow the links; stop at the first that fails.

    This is verification's inner loop, kept free of per-line objects: a
    plain line's hash preimage is the line without its last field.
    """
    sha256 = hashlib.sha256
    separator = _SEPARATOR_BYTE
    expected = first_seq
    prev = prev_hash.encode("ascii")
    lines = data.split(b"\n")
    tail = lines.pop()

    def stop(fault: str, found: int | None = None) -> SegmentWalk:
        return SegmentWalk(
            first_seq, expected - 1, prev.decode(), expected, fault, found
        )

    for line in lines:
        try:
            if line.startswith(b"["):
                fields = _json_line(line)
                preimage = separator.join(fields[:8])
            else:
                fields = line.split(separator)
                preimage = line[: len(line) - len(fields[-1]) - 1]
            if len(fields) != 9:
                return stop("unreadable")
            seq = int(fields[0])
        except (ValueError, UnicodeDecodeError):
            return stop("unreadable")
        digest = fields[8]
        if sha256(preimage).hexdigest().encode("ascii") != digest:
            return stop("altered", seq)
        if seq != expected:
            return stop("sequence", seq)
        if fields[7] != prev:
            return stop("link", seq)
        prev = digest
        expected += 1
    if tail:
        return stop("unreadable")
    return SegmentWalk(first_seq, expected - 1, prev.decode())


_COLUMNS = (
    "seq",
    "recorded_at",
    "occurred_at",
    "kind",
    "subject",
    "actor",
    "payload",
    "prev_hash",
    "hash",
)


def decode_events(data: bytes) -> list[dict[str, Any]]:
    """The journal rows a segment holds, as column dicts, in order.

    Call it on a segment verification has walked: a line that does not
    decode raises ValueError.
    """
    rows: list[dict[str, Any]] = []
    # split("\n"), not splitlines(): a payload may hold U+2028 or U+0085.
    for line in data.decode("utf-8").split("\n")[:-1]:
        fields = json.loads(line) if line.startswith("[") else line.split(SEPARATOR)
        if len(fields) != len(_COLUMNS):
            raise ValueError(f"a segment line has {len(fields)} fields, not 9")
        row: dict[str, Any] = dict(zip(_COLUMNS, fields, strict=True))
        row["seq"] = int(row["seq"])
        row["recorded_at"] = datetime.fromisoformat(row["recorded_at"])
        row["occurred_at"] = datetime.fromisoformat(row["occurred_at"])
        rows.append(row)
    return rows


def checksum(data: bytes) -> str:
    """The SHA-256 hex digest of some bytes."""
    return hashlib.sha256(data).hexdigest()


def manifest_fields(data: bytes) -> dict[str, Any]:
    """Read a manifest's JSON object; ValueError says why it is not one."""
    try:
        fields = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    return fields


@dataclass(frozen=True)
class SegmentManifest:
    """What a sealed segment holds and how it links to the one before."""

    first_seq: int
    last_seq: int
    first_prev_hash: str
    head_hash: str
    prev_manifest: str
    sha256: str
    size: int
    created_at: str
    format: int = FORMAT

    @property
    def count(self) -> int:
        """How many events the segment holds."""
        return self.last_seq - self.first_seq + 1

    @property
    def segment_key(self) -> str:
        """Where the segment is stored."""
        return segment_key(self.first_seq)

    @property
    def key(self) -> str:
        """Where this manifest is stored."""
        return manifest_key(self.first_seq)

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces, a final newline."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return (text + "\n").encode("utf-8")

    @property
    def digest(self) -> str:
        """The hash the next manifest links to."""
        return checksum(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> SegmentManifest:
        """Read a manifest; ValueError names what is wrong with it."""
        fields = manifest_fields(data)
        try:
            manifest = cls(**fields)
        except TypeError as exc:
            raise ValueError(f"unexpected fields ({exc})") from None
        if manifest.format != FORMAT:
            raise ValueError(f"format {manifest.format!r} is not {FORMAT}")
        numbers = (manifest.first_seq, manifest.last_seq, manifest.size)
        if not all(type(n) is int for n in numbers) or manifest.count < 1:
            raise ValueError("its sequence numbers or size are not sensible")
        return manifest


@dataclass(frozen=True)
class Segment:
    """A sealed segment: its bytes and the manifest that describes them."""

    data: bytes
    manifest: SegmentManifest


def seal_segment(
    events: Sequence[ChainedEvent],
    *,
    prev_manifest: str = GENESIS_HASH,
    created_at: datetime,
) -> Segment:
    """Cut ``events`` (consecutive, in order) into one sealed segment."""
    if not events:
        raise ValueError("a segment needs at least one event")
    first, last = events[0], events[-1]
    if last.seq - first.seq + 1 != len(events):
        raise ValueError(
            f"events {first.seq}..{last.seq} are not consecutive ({len(events)} given)"
        )
    data = encode_events(events)
    manifest = SegmentManifest(
        first_seq=first.seq,
        last_seq=last.seq,
        first_prev_hash=first.prev_hash,
        head_hash=last.hash,
        prev_manifest=prev_manifest,
        sha256=checksum(data),
        size=len(data),
        created_at=created_at.isoformat(),
    )
    return Segment(data, manifest)
