"""Restoring from the write-once store: a snapshot, then the journal after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.backup.restore import restore_database
from controlroom.backup.s3_store import S3Store
from controlroom.backup.shipper import Shipper
from controlroom.backup.snapshots import SnapshotManifest, take_snapshot
from controlroom.backup.stores import BackupStore, LocalStore
from controlroom.backup.verify import verify_store
from controlroom.db import create_db_engine, utcnow
from controlroom.errors import BackupBroken, BackupError, RestoreRefused
from controlroom.journal import journal_head
from controlroom.schema import check_database
from tests.backup.order_book import (
    journal_rows,
    move,
    note_component,
    order_rows,
    place_orders,
)
from tests.backup.tampering import flip_byte, remove
from tests.journal.tampering import append_numbered


def ship_all(engine: Engine, store: BackupStore) -> None:
    """Ship the whole journal, with the events the first round itself adds."""
    shipper = Shipper(engine, store, segment_events=8)
    shipper.ship_once()
    shipper.ship_once()  # the backup component's first report, journalled


def snapshot(
    engine: Engine, store: BackupStore, *, minutes: int = 0
) -> SnapshotManifest:
    """Take a snapshot and ship the whole journal."""
    manifest = take_snapshot(
        engine, store, created_at=utcnow() + timedelta(minutes=minutes)
    )
    ship_all(engine, store)
    return manifest


@pytest.fixture
def primary(engine: Engine) -> Engine:
    """A primary with three orders: one delivered, one cancelled, one open."""
    codes = place_orders(engine, 3)
    move(engine, codes[0], to="delivered")
    move(engine, codes[1], to="cancelled")
    return engine


@pytest.fixture
def restored_url(tmp_path: Path) -> str:
    """A URL for a restore target that does not exist yet."""
    return f"sqlite:///{tmp_path / 'restored' / 'controlroom.sqlite3'}"


@pytest.fixture
def restored(restored_url: str) -> Iterator[Engine]:
    """An engine on the restore target, for reading it afterwards."""
    engine = create_db_engine(restored_url)
    yield engine
    engine.dispose()


def test_a_restore_gives_the_primarys_orders_and_journal_head(
    primary: Engine, local_store: LocalStore, restored_url: str, restored: Engine
) -> None:
    taken = snapshot(primary, local_store)

    report = restore_database(local_store, restored_url)

    check_database(restored)
    assert order_rows(restored) == order_rows(primary)
    assert journal_rows(restored) == journal_rows(primary)
    with Session(restored) as session:
        head = journal_head(session)
    assert head == report.head_restored == report.head_shipped
    assert report.snapshot == taken
    assert report.appended == 1
    assert report.journal_only == {"ComponentAdded": 1}
    assert all(count.ok for count in report.counts)


def test_a_restore_from_s3_with_object_lock_gives_the_same_orders(
    primary: Engine, locked_bucket: S3Store, restored_url: str, restored: Engine
) -> None:
    snapshot(primary, locked_bucket)
    place_orders(primary, 1, first=50)
    ship_all(primary, locked_bucket)

    report = restore_database(locked_bucket, restored_url)

    assert report.replay.parcels == 1
    assert order_rows(restored) == order_rows(primary)
    assert report.head_restored == report.head_shipped


def test_orders_placed_after_the_snapshot_are_re_applied(
    primary: Engine, local_store: LocalStore, restored_url: str, restored: Engine
) -> None:
    codes = place_orders(primary, 2, first=4)
    taken = snapshot(primary, local_store)
    later = place_orders(primary, 2, first=10)
    move(primary, codes[0], to="delivered")
    move(primary, later[0], to="picked_up")
    move(primary, codes[1], to="cancelled")
    note_component(primary, "sms-gateway")
    ship_all(primary, local_store)

    report = restore_database(local_store, restored_url)

    assert report.snapshot == taken
    assert order_rows(restored) == order_rows(primary)
    assert journal_rows(restored) == journal_rows(primary)
    assert dict(report.replay.applied) == {
        "PartyRegistered": 4,
        "ParcelOrdered": 2,
        "ParcelPickedUp": 2,
        "ParcelDelivered": 1,
        "ParcelCancelled": 1,
    }
    assert report.journal_only == {"ComponentAdded": 1, "ComponentReported": 1}
    counts = {count.table: count for count in report.counts}
    assert (counts["parcels"].in_snapshot, counts["parcels"].found) == (5, 7)
    assert counts["journal_events"].added == report.appended == 12


def test_a_flipped_snapshot_is_passed_over_for_the_one_before(
    primary: Engine, local_store: LocalStore, restored_url: str, restored: Engine
) -> None:
    older = snapshot(primary, local_store)
    place_orders(primary, 1, first=20)
    newer = snapshot(primary, local_store, minutes=1)
    flip_byte(local_store, newer.object_key, 5000)

    report = restore_database(local_store, restored_url)

    assert report.snapshot == older
    assert report.passed_over == (
        f"{newer.object_key}: altered: its SHA-256 does not match its manifest "
        "(changed bytes)",
    )
    assert order_rows(restored) == order_rows(primary)


def test_a_restore_with_no_good_snapshot_left_is_refused_naming_it(
    primary: Engine, local_store: LocalStore, restored_url: str
) -> None:
    only = snapshot(primary, local_store)
    flip_byte(local_store, only.object_key, 5000)

    with pytest.raises(RestoreRefused, match=r"No snapshot .* can be restored") as info:
        restore_database(local_store, restored_url)

    assert only.object_key in str(info.value)
    assert info.value.key == only.object_key
    assert not Path(restored_url.removeprefix("sqlite:///")).exists()


def test_verify_names_a_flipped_snapshot(
    primary: Engine, local_store: LocalStore
) -> None:
    taken = snapshot(primary, local_store)
    flip_byte(local_store, taken.object_key, 100)

    report = verify_store(local_store)

    assert report.problem is not None
    assert report.problem.key == taken.object_key
    assert report.problem.problem.startswith("altered: its SHA-256")


def test_verify_counts_snapshots_that_hold(
    primary: Engine, local_store: LocalStore
) -> None:
    snapshot(primary, local_store)

    report = verify_store(local_store)

    assert (report.ok, report.snapshots, report.events) == (True, 1, 13)


def test_a_snapshot_not_yet_shipped_is_passed_over(
    primary: Engine, local_store: LocalStore, restored_url: str
) -> None:
    older = snapshot(primary, local_store)
    place_orders(primary, 1, first=40)
    unshipped = take_snapshot(
        primary, local_store, created_at=utcnow() + timedelta(minutes=1)
    )

    report = restore_database(local_store, restored_url)

    assert report.snapshot == older
    assert report.passed_over == (
        f"{unshipped.object_key}: its journal head, event {unshipped.head_seq}, is "
        f"not in the shipped segments (they end at {older.head_seq + 1}); ship first",
    )


def test_a_gap_after_the_snapshot_refuses_the_restore_naming_it(
    primary: Engine, local_store: LocalStore, restored_url: str
) -> None:
    snapshot(primary, local_store)
    place_orders(primary, 6, first=30)
    ship_all(primary, local_store)
    *_, lost, last = local_store.list("manifests/")
    remove(
        local_store, lost.replace("manifests/", "segments/").replace(".json", ".seg")
    )
    remove(local_store, lost)
    gap = f"gap: events {int(lost[10:22])}..{int(last[10:22]) - 1} are missing"

    with pytest.raises(BackupBroken, match=gap):
        restore_database(local_store, restored_url)

    assert not Path(restored_url.removeprefix("sqlite:///")).exists()


def test_a_pickup_of_a_parcel_nobody_ordered_refuses_the_restore(
    primary: Engine, local_store: LocalStore, restored_url: str
) -> None:
    snapshot(primary, local_store)
    append_numbered(primary, 1, start=404)  # ParcelPickedUp of parcel:404
    ship_all(primary, local_store)

    with pytest.raises(RestoreRefused, match="one is about parcel 404, which is"):
        restore_database(local_store, restored_url)

    assert not Path(restored_url.removeprefix("sqlite:///")).exists()


def test_a_target_that_is_not_empty_is_refused(
    primary: Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    snapshot(primary, local_store)
    target = tmp_path / "in-use.sqlite3"
    target.write_bytes(b"orders of another day")

    with pytest.raises(RestoreRefused, match="exists and is not empty"):
        restore_database(local_store, f"sqlite:///{target}")

    assert target.read_bytes() == b"orders of another day"


def test_a_postgresql_target_is_refused_as_not_supported(
    local_store: LocalStore,
) -> None:
    with pytest.raises(RestoreRefused, match="must be a SQLite file URL"):
        restore_database(local_store, "postgresql+psycopg://u@127.0.0.1:1/x")


def test_a_postgresql_snapshot_is_refused_as_not_supported(
    local_store: LocalStore,
) -> None:
    remote = create_db_engine("postgresql+psycopg://u@127.0.0.1:1/controlroom")

    with pytest.raises(BackupError, match="not supported yet"):
        take_snapshot(remote, local_store, created_at=utcnow())

    assert local_store.list() == ()
