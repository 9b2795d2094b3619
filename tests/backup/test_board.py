"""The backup board reads position, lag, retention, verification and alarm."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from controlroom.backup.alarm import ArchiverStatus, archive_alarm
from controlroom.backup.board import archiver_summary, backup_board
from controlroom.backup.service import verify_and_record
from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import open_store
from controlroom.config import Settings
from controlroom.db import utcnow
from controlroom.health.models import ComponentState
from tests.backup.tampering import FlakyStore, remove
from tests.journal.tampering import append_numbered


def test_an_empty_board_before_any_shipping(
    journal_of_ten: Engine, tmp_path: Path
) -> None:
    board = backup_board(journal_of_ten, Settings(data_dir=tmp_path))

    assert not board.shipping_started
    assert (board.shipped_seq, board.head_seq, board.lag.events) == (0, 10, 10)
    assert board.store_kind == "local"
    assert board.location == str((tmp_path / "backup").resolve())
    assert board.last_verification is None
    assert board.component_state is None


def test_the_board_after_shipping_and_a_failed_verification(
    journal_of_ten: Engine, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, backup_lag_alarm_seconds=30)
    store = open_store(settings)
    Shipper(journal_of_ten, store, segment_events=4).ship_once()
    remove(store, "segments/000000000005.seg")
    verify_and_record(journal_of_ten, store)
    append_numbered(journal_of_ten, 2, start=11)

    board = backup_board(journal_of_ten, settings, at=utcnow() + timedelta(seconds=45))

    assert board.shipped_seq == 10
    assert board.lag.events == board.head_seq - 10 >= 3
    assert board.lag.seconds >= 45
    assert board.lag_alarm_seconds == 30
    assert [s.first_seq for s in board.recent_shipments] == [9, 5, 1]
    assert board.retention.ok is True
    assert board.retention.configured_days == 30
    verification = board.last_verification
    assert verification is not None
    assert (verification.ok, verification.problem_seq) == (False, 5)
    assert verification.problem == "missing: the segment was deleted"
    assert board.component_state is ComponentState.OPERATIONAL
    assert board.alarm == ""


def test_the_board_carries_the_alarm_of_a_refused_write(
    journal_of_ten: Engine, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    store = FlakyStore(tmp_path / "backup", retention_days=30)
    store.refusing = True
    Shipper(journal_of_ten, store).ship_once()

    board = backup_board(journal_of_ten, settings)

    assert board.component_state is ComponentState.MAJOR_OUTAGE
    assert board.alarm.startswith("Backup store refused a write: access denied")
    assert board.failing_since is not None
    assert board.last_error == "access denied writing segments/000000000001.seg"


def _archiver(**changes: object) -> ArchiverStatus:
    at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    status = ArchiverStatus(
        archive_mode="on",
        archived_count=41,
        last_archived_wal="000000010000000000000029",
        last_archived_at=at,
        failed_count=0,
        last_failed_wal="",
        last_failed_at=None,
    )
    return replace(status, **changes)  # type: ignore[arg-type]


def test_the_wal_archive_line_says_the_last_file_in_local_time() -> None:
    level, words = archiver_summary(_archiver(), "Europe/Oslo")

    assert level == "ok"
    assert words == (
        "WAL archive: last file 000000010000000000000029 at 04 Dec 10:00; "
        "41 archived, 0 failed."
    )


def test_a_failure_newer_than_the_last_archived_file_is_an_error() -> None:
    archived = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    failing = _archiver(
        failed_count=3,
        last_failed_wal="00000001000000000000002A",
        last_failed_at=archived + timedelta(minutes=1),
    )
    recovered = replace(failing, last_archived_at=archived + timedelta(minutes=2))

    level, words = archiver_summary(failing, "Europe/Oslo")

    assert level == "error"
    assert "00000001000000000000002A could not be stored at 04 Dec 10:01" in words
    assert archiver_summary(recovered, "Europe/Oslo")[0] == "ok"


def test_archiving_off_or_not_started_is_a_warning() -> None:
    off = archiver_summary(_archiver(archive_mode="off"), "UTC")
    fresh = archiver_summary(
        _archiver(archived_count=0, last_archived_wal="", last_archived_at=None), "UTC"
    )

    assert off[0] == fresh[0] == "warning"
    assert "controlroom backup wal-settings" in off[1]
    assert "no WAL file has been archived yet" in fresh[1]


def test_a_completed_segment_waiting_past_the_threshold_is_stuck() -> None:
    archived = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    waiting = _archiver(
        current_wal="00000001000000000000002B",
        read_at=archived + timedelta(seconds=61),
        archive_timeout_seconds=30.0,
        lag_alarm_seconds=10.0,
    )

    level, words = archiver_summary(waiting, "UTC")

    assert waiting.stuck_after_seconds == 60.0
    assert waiting.stuck_wal == "00000001000000000000002A"
    assert level == "error"
    assert "00000001000000000000002A is complete but has not been archived" in words
    assert archive_alarm(waiting).startswith(
        "WAL archiving is stuck: 00000001000000000000002A"
    )


def test_the_segment_being_written_or_a_short_wait_is_not_stuck() -> None:
    archived = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    writing = _archiver(
        current_wal="00000001000000000000002A",
        read_at=archived + timedelta(hours=1),
    )
    short = replace(
        writing,
        current_wal="00000001000000000000002C",
        read_at=archived + timedelta(seconds=59),
        archive_timeout_seconds=30.0,
    )
    in_recovery = replace(short, current_wal="", read_at=archived + timedelta(days=1))

    assert writing.stuck_wal == short.stuck_wal == in_recovery.stuck_wal == ""
    assert archiver_summary(writing, "UTC")[0] == "ok"
    assert archive_alarm(short) == ""


def test_nothing_ever_archived_counts_from_the_server_start() -> None:
    started = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    never = _archiver(
        archived_count=0,
        last_archived_wal="",
        last_archived_at=None,
        current_wal="000000010000000000000003",
        started_at=started,
        read_at=started + timedelta(seconds=11),
    )

    assert never.stuck_wal == "000000010000000000000001"
    assert archiver_summary(never, "UTC")[0] == "error"
    assert replace(never, read_at=started + timedelta(seconds=9)).stuck_wal == ""
