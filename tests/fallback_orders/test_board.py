"""The fallback board: waiting and merged orders per channel, chain, last merge."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from controlroom.fallback_orders.board import ChannelLine, fallback_board
from controlroom.fallback_orders.merge import merge_spool
from controlroom.fallback_orders.models import MergeOutcome
from controlroom.fallback_orders.spool import Spool
from tests.fallback_orders.world import primary_with_depot, spooled_order


def test_an_empty_folder_shows_no_spool_and_no_merge(
    engine: Engine, tmp_path: Path
) -> None:
    board = fallback_board(engine, tmp_path / "nothing-yet")

    assert board.channels == ()
    assert (board.chain.exists, board.chain.records, board.chain.intact) == (
        False,
        0,
        True,
    )
    assert board.last_merge is None


def test_orders_count_as_waiting_until_merged_per_channel(
    engine: Engine, tmp_path: Path
) -> None:
    primary_with_depot(engine)
    folder = tmp_path / "spool"
    spool = Spool(folder)
    spool.accept_many([spooled_order(n) for n in range(3)])
    spool.accept_many([spooled_order(n, channel="static_page") for n in range(3, 5)])

    before = fallback_board(engine, folder)
    merge_spool(engine, folder, actor="ops")
    spool.accept(**vars(spooled_order(5)))
    after = fallback_board(engine, folder)

    assert before.channels == (
        ChannelLine("sms", waiting=3, merged=0),
        ChannelLine("static_page", waiting=2, merged=0),
    )
    assert before.waiting == 5
    assert after.channels == (
        ChannelLine("sms", waiting=1, merged=3),
        ChannelLine("static_page", waiting=0, merged=2),
    )
    assert after.last_merge is not None
    assert (after.last_merge.outcome, after.last_merge.merged) == (
        MergeOutcome.COMPLETE,
        5,
    )
    assert after.last_merge.spool_id == spool.spool_id
    assert (after.chain.records, after.chain.head_seq) == (6, 6)
    assert after.chain.head_hash == spool.head[1]


def test_a_broken_chain_is_shown_with_its_first_bad_record(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "spool"
    Spool(folder).accept_many([spooled_order(n) for n in range(4)])
    segment = folder / "000001.jsonl"
    lines = segment.read_text().splitlines(keepends=True)
    segment.write_text("".join(lines[:2] + lines[3:]))

    board = fallback_board(engine, folder)

    assert not board.chain.intact
    assert board.chain.problem == "record 3: missing: records 3..3 were deleted"
    assert board.chain.records == 2
    assert board.channels == (ChannelLine("sms", waiting=2, merged=0),)
