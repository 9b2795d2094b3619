"""Sealed segments: deterministic bytes, manifests, and the re-hashing walk."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from controlroom.backup.segments import (
    SegmentManifest,
    encode_event,
    encode_events,
    first_seq_of,
    manifest_key,
    seal_segment,
    segment_key,
    walk_segment,
)
from controlroom.journal.chain import GENESIS_HASH, EventDraft, event_hash, seal_events

AT = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


class StoredEvent:
    """A journal row as the database hands it back."""

    def __init__(self, row: dict[str, object]) -> None:
        self.__dict__.update(row)


def chain(count: int, *, subject: str = "parcel:{n}") -> list[StoredEvent]:
    drafts = [
        EventDraft(
            "ParcelPickedUp",
            subject.format(n=n),
            "driver:D01",
            {"number": n, "note": "æøå \x1f\n"},
            AT + timedelta(seconds=n),
        )
        for n in range(1, count + 1)
    ]
    rows = seal_events(drafts, after=(0, GENESIS_HASH), recorded_at=AT)
    return [StoredEvent(row) for row in rows]


def test_the_same_events_give_the_same_bytes() -> None:
    first = seal_segment(chain(5), created_at=AT)
    again = seal_segment(chain(5), created_at=AT + timedelta(hours=1))

    assert first.data == again.data
    assert first.manifest.sha256 == again.manifest.sha256


def test_a_line_is_the_hash_preimage_followed_by_the_hash() -> None:
    event = chain(1)[0]

    line = encode_event(event)
    preimage, _, digest = line.rpartition("\x1f")

    assert digest == event.hash
    assert preimage.split("\x1f")[0] == "1"
    assert (
        event_hash(  # the journal's own rule gives the same hash
            seq=1,
            recorded_at=event.recorded_at,
            occurred_at=event.occurred_at,
            kind=event.kind,
            subject=event.subject,
            actor=event.actor,
            payload=event.payload,
            prev_hash=GENESIS_HASH,
        )
        == digest
    )


def test_the_manifest_describes_the_segment() -> None:
    events = chain(3)
    segment = seal_segment(events, prev_manifest="ab" * 32, created_at=AT)
    manifest = segment.manifest

    assert (manifest.first_seq, manifest.last_seq, manifest.count) == (1, 3, 3)
    assert manifest.first_prev_hash == GENESIS_HASH
    assert manifest.head_hash == events[-1].hash
    assert manifest.prev_manifest == "ab" * 32
    assert manifest.size == len(segment.data)
    assert manifest.created_at == AT.isoformat()
    assert SegmentManifest.from_bytes(manifest.to_bytes()) == manifest


def test_keys_sort_in_sequence_order_and_name_their_first_event() -> None:
    assert segment_key(7) == "segments/000000000007.seg"
    assert manifest_key(10) > manifest_key(9)
    assert first_seq_of(manifest_key(1234)) == 1234
    assert first_seq_of("manifests/notes.json") is None


def test_an_unusual_subject_is_written_as_json_and_still_walks() -> None:
    events = chain(3, subject="parcel:\x1f{n}\n")
    data = encode_events(events)

    walk = walk_segment(data, first_seq=1, prev_hash=GENESIS_HASH)

    assert data.startswith(b"[")
    assert (walk.bad_seq, walk.last_seq) == (None, 3)


def test_the_walk_stops_at_the_first_altered_event() -> None:
    data = bytearray(encode_events(chain(4)))
    third = data.index(b"parcel:3")
    data[third + 7] ^= 0x01

    walk = walk_segment(bytes(data), first_seq=1, prev_hash=GENESIS_HASH)

    assert (walk.bad_seq, walk.fault, walk.last_seq) == (3, "altered", 2)


def test_the_walk_notices_a_cut_off_last_line() -> None:
    data = encode_events(chain(4))

    walk = walk_segment(data[:-10], first_seq=1, prev_hash=GENESIS_HASH)

    assert (walk.bad_seq, walk.fault) == (4, "unreadable")


def test_the_walk_notices_a_segment_that_starts_elsewhere() -> None:
    data = encode_events(chain(4)[2:])

    walk = walk_segment(data, first_seq=1, prev_hash=GENESIS_HASH)

    assert (walk.bad_seq, walk.fault, walk.found_seq) == (1, "sequence", 3)


def test_events_with_a_hole_are_refused() -> None:
    events = chain(4)
    with pytest.raises(ValueError, match="not consecutive"):
        seal_segment([events[0], events[2]], created_at=AT)


def test_an_edited_manifest_is_refused_when_read() -> None:
    manifest = seal_segment(chain(2), created_at=AT).manifest
    broken = manifest.to_bytes().replace(b'"format":1', b'"format":9')

    with pytest.raises(ValueError, match="format 9"):
        SegmentManifest.from_bytes(broken)
    with pytest.raises(ValueError, match="not JSON"):
        SegmentManifest.from_bytes(b"{")
    assert replace(manifest, last_seq=5).count == 5
