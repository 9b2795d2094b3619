"""The spool: durable, deduplicated, hash-chained records in a folder of its own."""

from __future__ import annotations

import json
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controlroom.errors import FallbackOrderError, SpoolBroken
from controlroom.fallback_orders.spool import (
    Spool,
    SpoolEntry,
    read_spool,
)
from controlroom.fallback_orders.spool_files import HEAD_FILE

RECEIVED = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def entry(number: int) -> SpoolEntry:
    return SpoolEntry(
        key=f"sms-order-{number:04d}",
        channel="sms",
        received_at=RECEIVED + timedelta(minutes=number),
        order={"pickup": {"postcode": "0155"}, "size": "M", "n": number},
    )


def filled(folder: Path, count: int, *, per_segment: int = 500) -> Spool:
    spool = Spool(folder, records_per_segment=per_segment)
    spool.accept_many([entry(n) for n in range(1, count + 1)])
    return spool


def segment_lines(folder: Path, name: str = "000001.jsonl") -> list[str]:
    return (folder / name).read_text().splitlines(keepends=True)


def rewrite(folder: Path, lines: list[str], name: str = "000001.jsonl") -> None:
    path = folder / name
    path.chmod(0o600)
    path.write_text("".join(lines))


def test_an_accepted_order_is_on_disk_and_read_back_intact(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = Spool(folder)

    accepted = spool.accept(**vars(entry(1)))

    reading = read_spool(folder)
    assert accepted.new
    assert [r.key for r in reading.records] == ["sms-order-0001"]
    assert reading.records[0] == accepted.record
    assert reading.problem is None
    assert reading.head == (1, accepted.record.hash)


def test_the_folder_and_its_files_are_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 4, per_segment=3)

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert modes.pop("000001.jsonl") == 0o400  # sealed
    assert set(modes.values()) == {0o600}


def test_one_order_delivered_three_times_is_one_record(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")

    answers = [spool.accept(**vars(entry(7))) for _ in range(3)]

    assert [a.new for a in answers] == [True, False, False]
    assert {a.record.seq for a in answers} == {1}
    assert len(read_spool(tmp_path / "spool").records) == 1


def test_a_reopened_spool_still_knows_its_keys(tmp_path: Path) -> None:
    filled(tmp_path / "spool", 3)

    again = Spool(tmp_path / "spool").accept(**vars(entry(2)))

    assert not again.new
    assert again.record.seq == 2


def test_full_segments_are_sealed_and_the_chain_runs_across_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "spool"
    spool = filled(folder, 7, per_segment=3)

    names = sorted(p.name for p in folder.glob("*.jsonl"))

    assert names == ["000001.jsonl", "000002.jsonl", "000003.jsonl"]
    assert [len(segment_lines(folder, n)) for n in names] == [3, 3, 1]
    assert read_spool(folder).problem is None
    assert spool.head[0] == 7


def test_an_edited_record_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 5)
    lines = segment_lines(folder)
    lines[2] = lines[2].replace('"size":"M"', '"size":"L"')
    rewrite(folder, lines)

    problem = read_spool(folder).problem

    assert problem is not None
    assert (problem.seq, problem.problem.split(":")[0]) == (3, "edited")


def test_a_deleted_record_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 5)
    lines = segment_lines(folder)
    del lines[1]
    rewrite(folder, lines)

    reading = read_spool(folder)

    assert str(reading.problem) == "record 2: missing: records 2..2 were deleted"
    assert [r.seq for r in reading.records] == [1]


def test_reordered_records_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 5)
    lines = segment_lines(folder)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(folder, lines)

    problem = read_spool(folder).problem

    assert str(problem) == "record 2: reordered: it is stored after record 3"


def test_a_record_renumbered_into_place_is_named_as_reordered(tmp_path: Path) -> None:
    # An attacker who swaps two records and fixes their numbers and hashes
    # still cannot fix the links to their predecessors without the rest.
    folder = tmp_path / "spool"
    filled(folder, 3)
    lines = [json.loads(line) for line in segment_lines(folder)]
    lines[1]["prev"] = lines[2]["hash"]
    rewrite(folder, [json.dumps(line) + "\n" for line in lines])

    problem = read_spool(folder).problem

    assert problem is not None
    assert problem.seq == 2


def test_records_cut_off_the_end_are_named_by_the_head(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 5)
    rewrite(folder, segment_lines(folder)[:3])

    problem = read_spool(folder).problem

    assert str(problem) == (
        "record 4: truncated: the spool ends at record 3 but its head is record 5"
    )


def test_a_record_cut_mid_line_before_the_head_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 5)
    lines = segment_lines(folder)
    rewrite(folder, [*lines[:4], lines[4][:40]])

    problem = read_spool(folder).problem

    assert problem is not None
    assert (problem.seq, problem.problem.split(":")[0]) == (5, "truncated or damaged")


def test_a_deleted_segment_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 7, per_segment=3)
    (folder / "000002.jsonl").unlink()

    problem = read_spool(folder).problem

    assert str(problem) == "record 4: missing: records 4..6 were deleted"


def test_a_broken_spool_is_not_opened_for_new_orders(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 3)
    lines = segment_lines(folder)
    rewrite(folder, [lines[0], lines[2]])

    with pytest.raises(SpoolBroken, match="broken at record 2") as caught:
        Spool(folder)
    assert caught.value.seq == 2


def test_a_crash_mid_write_before_acknowledging_loses_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "spool"
    filled(folder, 2)
    unfinished = entry(3)
    with (folder / "000001.jsonl").open("a") as segment:
        segment.write('{"seq":3,"key":"sms-order-0003","chan')

    reading = read_spool(folder)
    reopened = Spool(folder)
    accepted = reopened.accept(**vars(unfinished))

    assert (reading.problem, reading.unfinished_tail) == (None, True)
    assert accepted.new and accepted.record.seq == 3
    assert read_spool(folder).problem is None


def test_a_damaged_head_file_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    filled(folder, 1)
    (folder / HEAD_FILE).write_text("{not json")

    with pytest.raises(FallbackOrderError, match=r"head file .* cannot be read"):
        read_spool(folder)


def test_a_folder_that_is_no_spool_is_refused_for_reading(tmp_path: Path) -> None:
    with pytest.raises(FallbackOrderError, match="is not a fallback spool"):
        read_spool(tmp_path)


def test_a_spool_with_segments_but_no_identity_is_not_taken_over(
    tmp_path: Path,
) -> None:
    (tmp_path / "000001.jsonl").write_text("{}\n")

    with pytest.raises(FallbackOrderError, match="holds spool segments but no"):
        Spool(tmp_path)


def test_a_time_without_zone_is_refused(tmp_path: Path) -> None:
    naive = SpoolEntry("sms-order-0001", "sms", datetime(2026, 12, 5), {})

    with pytest.raises(FallbackOrderError, match="no time zone"):
        Spool(tmp_path / "spool").accept_many([naive])


def test_two_writers_on_one_folder_keep_one_chain(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    # Two Spool objects stand for two processes: each sees the other's
    # records through the head file and the lock before it appends.
    first, second = Spool(folder), Spool(folder)

    for number in range(1, 11):
        (first if number % 2 else second).accept(**vars(entry(number)))
    repeat = first.accept(**vars(entry(2)))

    reading = read_spool(folder)
    assert reading.problem is None
    assert [r.seq for r in reading.records] == list(range(1, 11))
    assert not repeat.new


def test_threads_accepting_at_once_keep_one_chain_and_dedupe(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", records_per_segment=16)

    def deliver(offset: int) -> None:
        for number in range(1, 41):
            spool.accept(**vars(entry((number + offset) % 40 + 1)))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reading = read_spool(tmp_path / "spool")
    assert reading.problem is None
    assert len(reading.records) == 40
    assert len({r.key for r in reading.records}) == 40
