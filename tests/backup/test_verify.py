"""Verification names the first problem: flipped, deleted, reordered, cut off."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import BackupStore
from controlroom.backup.verify import require_intact, verify_store
from controlroom.errors import BackupBroken
from tests.backup.tampering import flip_byte, remove, replace, swap

SEGMENT_1 = "segments/000000000001.seg"
SEGMENT_4 = "segments/000000000004.seg"
SEGMENT_7 = "segments/000000000007.seg"
SEGMENT_10 = "segments/000000000010.seg"
MANIFEST_4 = "manifests/000000000004.json"
MANIFEST_7 = "manifests/000000000007.json"
MANIFEST_10 = "manifests/000000000010.json"


@pytest.fixture
def shipped(journal_of_ten: Engine, any_store: BackupStore) -> BackupStore:
    """Ten events shipped in segments of three: 1-3, 4-6, 7-9 and 10."""
    report = Shipper(journal_of_ten, any_store, segment_events=3).ship_once()
    assert report.shipped_seq == 10
    return any_store


def problem_of(store: BackupStore, **options: object) -> str:
    problem = verify_store(store, **options).problem  # type: ignore[arg-type]
    assert problem is not None
    return str(problem)


def test_an_untouched_backup_verifies(shipped: BackupStore) -> None:
    report = verify_store(shipped)

    assert report.ok
    assert (report.segments, report.events, report.head[0]) == (4, 10, 10)


def test_a_flipped_byte_names_the_altered_event(shipped: BackupStore) -> None:
    data = shipped.get(SEGMENT_4)
    fifth = data.index(b"\n") + 1 + data.split(b"\n")[1].index(b"parcel:5")

    flip_byte(shipped, SEGMENT_4, fifth + 7)

    assert problem_of(shipped) == (
        f"{SEGMENT_4} (event 5): altered: the event does not match its hash "
        "(changed bytes)"
    )


def test_a_deleted_segment_and_manifest_leave_a_named_gap(
    shipped: BackupStore,
) -> None:
    remove(shipped, SEGMENT_4)
    remove(shipped, MANIFEST_4)

    assert problem_of(shipped) == (
        f"{MANIFEST_7} (event 4): gap: events 4..6 are missing (a segment and "
        "its manifest were deleted)"
    )


def test_a_deleted_segment_is_named(shipped: BackupStore) -> None:
    remove(shipped, SEGMENT_7)

    assert (
        problem_of(shipped)
        == f"{SEGMENT_7} (event 7): missing: the segment was deleted"
    )


def test_reordered_segments_are_named(shipped: BackupStore) -> None:
    swap(shipped, SEGMENT_4, SEGMENT_7)

    assert problem_of(shipped) == (
        f"{SEGMENT_4} (event 4): reordered: it holds event 7 where its manifest "
        "says the segment starts at 4 (segments were swapped or moved)"
    )


def test_reordered_manifests_are_named(shipped: BackupStore) -> None:
    swap(shipped, MANIFEST_4, MANIFEST_7)

    assert problem_of(shipped) == (
        f"{MANIFEST_4} (event 4): reordered: the manifest named for event 4 "
        "describes events 7..9"
    )


def test_a_truncated_segment_is_named(shipped: BackupStore) -> None:
    data = shipped.get(SEGMENT_4)

    replace(shipped, SEGMENT_4, data[: len(data) // 2])

    assert problem_of(shipped).startswith(
        f"{SEGMENT_4} (event 5): truncated: {len(data) // 2:,} of {len(data):,} "
        "bytes are left; it ends after event 4 but should end at 6"
    )


def test_a_segment_cut_at_a_line_end_is_truncated(shipped: BackupStore) -> None:
    data = shipped.get(SEGMENT_4)
    two_lines = data[: data.index(b"\n", data.index(b"\n") + 1) + 1]

    replace(shipped, SEGMENT_4, two_lines)

    assert "(event 6): truncated" in problem_of(shipped)


def test_a_rewritten_manifest_is_caught_by_the_next_link(
    shipped: BackupStore,
) -> None:
    manifest = shipped.get(MANIFEST_4)
    replace(
        shipped, MANIFEST_4, manifest.replace(b'"created_at":"2', b'"created_at":"1')
    )

    assert problem_of(shipped) == (
        f"{MANIFEST_7} (event 7): altered: the manifest does not link to the "
        "manifest before it"
    )


def test_the_newest_segments_deleted_are_caught_by_the_shipped_head(
    shipped: BackupStore, journal_of_ten: Engine
) -> None:
    intact = verify_store(shipped)
    remove(shipped, SEGMENT_10)
    remove(shipped, MANIFEST_10)

    assert verify_store(shipped).ok  # nothing to compare with: looks whole
    assert problem_of(shipped, expected_head=intact.head) == (
        f"{shipped.location} (event 10): truncated: the store ends at event 9 "
        "but events up to 10 were shipped (the newest segments were deleted)"
    )


def test_require_intact_raises_with_the_first_problem(shipped: BackupStore) -> None:
    remove(shipped, SEGMENT_7)

    with pytest.raises(BackupBroken, match=r"event 7.*missing") as caught:
        require_intact(verify_store(shipped))
    assert (caught.value.key, caught.value.seq) == (SEGMENT_7, 7)
