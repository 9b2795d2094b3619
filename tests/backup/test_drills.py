"""Restore drills and the ransomware drill: run, recorded, shown on the board."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.board import backup_board
from controlroom.backup.drills import run_ransomware_drill, run_restore_drill
from controlroom.backup.models import BackupDrill
from controlroom.backup.segments import SegmentManifest
from controlroom.backup.service import snapshot_and_ship
from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore, open_store
from controlroom.config import Settings
from controlroom.db import create_db_engine
from controlroom.errors import RestoreRefused
from controlroom.journal import JournalEvent, journal_head
from controlroom.schema import upgrade_database
from tests.backup.order_book import move, order_rows, place_orders
from tests.backup.tampering import remove
from tests.journal.tampering import verify


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data folder is the test's own."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def demo_url(settings: Settings) -> Iterator[str]:
    """A throw-away SQLite database in the data folder: four orders, backed up.

    A snapshot is stored and the whole journal shipped; a copy of the file
    is kept beside it under its name, as people do before an upgrade.
    """
    url = settings.resolved_database_url
    engine = create_db_engine(url, create_folder=True)
    upgrade_database(engine)
    codes = place_orders(engine, 3)
    move(engine, codes[0], to="delivered")
    store = open_store(settings)
    snapshot_and_ship(engine, store, settings=settings)
    place_orders(engine, 1, first=9)
    shipper = Shipper(engine, store)
    shipper.ship_once()
    shipper.ship_once()
    engine.dispose()
    path = Path(url.removeprefix("sqlite:///"))
    (path.parent / f"{path.name}.bak").write_bytes(path.read_bytes())
    yield url


def test_a_restore_drill_is_recorded_with_nothing_lost(
    demo_url: str, settings: Settings
) -> None:
    engine = create_db_engine(demo_url)
    result = run_restore_drill(engine, open_store(settings), actor="olga")

    assert (result.ok, result.kind, result.lost_events) == (True, "restore", 0)
    assert result.report is not None
    assert result.report.replay.parcels == 1
    with Session(engine) as session:
        drill = session.scalars(select(BackupDrill)).one()
        event = session.scalars(
            select(JournalEvent).where(JournalEvent.kind == "BackupDrillRecorded")
        ).one()
    assert drill.head_restored_seq == drill.head_shipped_seq == drill.head_primary_seq
    assert drill.events_reapplied == 3  # two parties and the order after it
    assert drill.snapshot_key == result.report.snapshot.object_key
    assert event.subject == f"backup-drill:{drill.id}"
    assert '"lost_events":0' in event.payload
    engine.dispose()


def test_a_restore_drill_counts_the_shipped_events_the_store_lost(
    demo_url: str, settings: Settings
) -> None:
    store = open_store(settings)
    *_, newest = store.list("manifests/")
    gone = SegmentManifest.from_bytes(store.get(newest))
    remove(store, gone.segment_key)
    remove(store, newest)
    engine = create_db_engine(demo_url)

    result = run_restore_drill(engine, store, actor="olga")

    assert result.ok
    assert result.lost_events == gone.count >= 1
    engine.dispose()


def test_a_restore_drill_that_fails_is_recorded_as_failed(
    demo_url: str, settings: Settings, tmp_path: Path
) -> None:
    engine = create_db_engine(demo_url)
    empty = LocalStore(tmp_path / "empty-store", retention_days=30)

    result = run_restore_drill(engine, empty, actor="olga")

    assert (result.ok, result.outcome) == (False, "failed")
    assert "holds no snapshot" in result.problem
    with Session(engine) as session:
        drill = session.scalars(select(BackupDrill)).one()
    assert (drill.head_restored_seq, drill.lost_events) == (0, 0)
    engine.dispose()


def test_the_board_shows_the_newest_drills_first(
    demo_url: str, settings: Settings, tmp_path: Path
) -> None:
    engine = create_db_engine(demo_url)
    run_restore_drill(engine, open_store(settings), actor="olga")
    empty = LocalStore(tmp_path / "empty-store", retention_days=30)
    run_restore_drill(engine, empty, actor="olga")

    board = backup_board(engine, settings)

    assert [(d.kind, d.outcome) for d in board.drills] == [
        ("restore", "failed"),
        ("restore", "restored"),
    ]
    assert board.drills[1].lost_events == 0
    engine.dispose()


def test_the_ransomware_drill_restores_the_primary_from_the_store(
    demo_url: str, settings: Settings
) -> None:
    engine = create_db_engine(demo_url)
    before = order_rows(engine)
    engine.dispose()
    path = Path(demo_url.removeprefix("sqlite:///"))
    originals = {p.name: p.read_bytes() for p in path.parent.glob(f"{path.name}*")}

    result = run_ransomware_drill(
        settings,
        open_store(settings),
        database_url=demo_url,
        actor="olga",
        i_mean_it=True,
    )

    assert (result.ok, result.kind, result.lost_events) == (True, "ransomware", 0)
    quarantined = sorted(Path(result.quarantine).iterdir())
    assert [p.name for p in quarantined] == [
        "controlroom.sqlite3.bak.encrypted",
        "controlroom.sqlite3.encrypted",
    ]
    for junk in quarantined:
        assert junk.read_bytes() != originals[junk.name.removesuffix(".encrypted")]
    engine = create_db_engine(demo_url)
    assert order_rows(engine) == before
    verify(engine)
    with Session(engine) as session:
        drill = session.scalars(select(BackupDrill)).one()
    assert (drill.kind, drill.outcome, drill.target) == (
        "ransomware",
        "restored",
        str(path),
    )
    assert drill.head_restored_seq == drill.head_shipped_seq
    engine.dispose()


def test_the_ransomware_drill_needs_i_mean_it(
    demo_url: str, settings: Settings
) -> None:
    path = Path(demo_url.removeprefix("sqlite:///"))
    data = path.read_bytes()

    with pytest.raises(RestoreRefused, match="pass --i-mean-it"):
        run_ransomware_drill(
            settings,
            open_store(settings),
            database_url=demo_url,
            actor="olga",
            i_mean_it=False,
        )

    assert path.read_bytes() == data


def test_the_ransomware_drill_refuses_a_database_outside_the_data_folder(
    engine: Engine, settings: Settings
) -> None:
    with pytest.raises(RestoreRefused, match="only runs on one inside the data"):
        run_ransomware_drill(
            settings,
            open_store(settings),
            database_url=str(engine.url),
            actor="olga",
            i_mean_it=True,
        )


def test_the_ransomware_drill_says_what_the_primary_held_unshipped(
    demo_url: str, settings: Settings
) -> None:
    engine = create_db_engine(demo_url)
    with Session(engine) as session:
        shipped_up_to = journal_head(session)[0]
    place_orders(engine, 1, first=20)  # not shipped: no shipper runs
    with Session(engine) as session:
        unshipped = journal_head(session)[0] - shipped_up_to
    engine.dispose()

    result = run_ransomware_drill(
        settings, open_store(settings), database_url=demo_url, actor="olga",
        i_mean_it=True,
    )  # fmt: skip

    assert result.ok
    assert unshipped >= 1
    assert result.unshipped_events == unshipped
    copy = Path(result.copy_before)
    assert copy.name == "primary-before-drill.sqlite3"
    assert copy.stat().st_mode & 0o777 == 0o600
