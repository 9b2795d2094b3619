"""PostgreSQL end to end: WAL archived by the server, a base backup, a restore.

One cluster for the module, archiving through ``controlroom backup
wal-push`` as the postgres user; each test points its archive_command at a
store of its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from controlroom.backup import pg_recovery
from controlroom.backup.alarm import (
    BACKUP_COMPONENT,
    read_archiver,
    set_backup_component,
)
from controlroom.backup.board import backup_board
from controlroom.backup.pg_base import BaseBackupManifest, base_manifest_keys
from controlroom.backup.pg_restore import restore_pgdata
from controlroom.backup.pg_wal import archived_names
from controlroom.backup.service import snapshot_and_ship
from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore
from controlroom.config import Settings
from controlroom.db import create_db_engine, utcnow
from controlroom.errors import RestoreRefused
from controlroom.health.models import Component, ComponentState
from controlroom.schema import upgrade_database
from tests.backup.order_book import order_rows, place_orders
from tests.backup.pg_world import ArchivingCluster, archiving_cluster
from tests.backup.tampering import flip_byte
from tests.conftest import REQUIRE_POSTGRES
from tests.postgres_cluster import find_pg_bin
from tests.test_cli import Invoke

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cluster() -> Iterator[ArchivingCluster]:
    """A PostgreSQL 15 server with archive_mode on, for the module."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (CONTROLROOM_REQUIRE_POSTGRES=1).")
        pytest.skip("PostgreSQL is not installed (no initdb found)")
    with archiving_cluster(pg_bin) as started:
        if started is None:
            if REQUIRE_POSTGRES:
                pytest.fail(
                    "PostgreSQL is required (CONTROLROOM_REQUIRE_POSTGRES=1) but the "
                    "postgres user cannot run controlroom for archive_command: put "
                    "the checkout where that user can read it."
                )
            pytest.skip(
                "the postgres user cannot run controlroom for archive_command "
                "(its Python or this checkout is out of its reach)"
            )
        yield started


@pytest.fixture
def archive(cluster: ArchivingCluster, request: pytest.FixtureRequest) -> LocalStore:
    """A store of this test's own that the server archives its WAL into."""
    store = cluster.new_store(f"store-{request.node.name[:40]}")
    cluster.archive_to(store.location)
    return store


@pytest.fixture
def order_book(cluster: ArchivingCluster) -> Iterator[Engine]:
    """A migrated order database of this test's own on the cluster."""
    # A fresh name each time: an object's hash can repeat once it is freed.
    name = f"orders_{uuid.uuid4().hex[:12]}"
    cluster.sql(f'CREATE DATABASE "{name}"')
    engine = create_db_engine(cluster.url(name))
    upgrade_database(engine)
    yield engine
    engine.dispose()


def test_a_restore_brings_back_every_order_in_the_archived_wal(
    cluster: ArchivingCluster, archive: LocalStore, order_book: Engine
) -> None:
    settings = Settings(data_dir=cluster.folder)
    place_orders(order_book, 3)
    base = snapshot_and_ship(order_book, archive, settings=settings)
    place_orders(order_book, 4, first=10)
    Shipper(order_book, archive).ship_once()
    cluster.switch_wal()
    acknowledged = order_rows(order_book)

    archived_before = archived_names(archive)

    target = cluster.folder / "restored-whole"
    report = restore_pgdata(
        archive, target, settings=settings, start_port=cluster.free_port()
    )

    assert isinstance(base, BaseBackupManifest)
    assert report.base == base
    assert report.head_restored == report.head_shipped
    assert report.parcels == 7
    assert not (target / "recovery.signal").exists()  # promoted
    assert "wal-settings" in report.archiving_note
    port = cluster.free_port()
    cluster.start(target, port)
    restored = create_db_engine(cluster.url(base.database_name, port=port))
    try:
        with restored.connect() as connection:
            recovering = connection.execute(text("SELECT pg_is_in_recovery()"))
            assert recovering.scalar() is False
            mode = connection.execute(text("SHOW archive_mode")).scalar()
            connection.execute(text("SELECT pg_switch_wal()"))
        assert order_rows(restored) == acknowledged
    finally:
        restored.dispose()
        cluster.stop(target)
    # The promoted copy's new timeline (its .history, its segments) never
    # reaches the production store it was restored from.
    assert archived_names(archive) == archived_before
    assert mode == "off"


def test_restore_refuses_a_base_backup_whose_bytes_do_not_match(
    cluster: ArchivingCluster, archive: LocalStore, order_book: Engine
) -> None:
    settings = Settings(data_dir=cluster.folder)
    place_orders(order_book, 1)
    base = snapshot_and_ship(order_book, archive, settings=settings)
    flip_byte(archive, base.object_key, 5_000)
    target = cluster.folder / "restored-refused"

    with pytest.raises(RestoreRefused, match="altered: its SHA-256 does not match"):
        restore_pgdata(archive, target, settings=settings)

    assert base_manifest_keys(archive) == (base.object_key.replace(".tar.gz", ".json"),)
    assert not target.exists()


def test_a_store_that_refuses_wal_fails_the_archiver_and_raises_the_alarm(
    cluster: ArchivingCluster, order_book: Engine, local_store: LocalStore
) -> None:
    blocked = cluster.folder / "not-a-folder"
    blocked.write_text("a file where the store should be")
    cluster.archive_to(str(blocked / "store"))
    place_orders(order_book, 1)
    refused = cluster.switch_wal_refused()

    Shipper(order_book, local_store).ship_once()
    board = backup_board(order_book, Settings(data_dir=local_store.root))

    assert board.wal_archive is not None
    assert board.wal_archive.failing
    assert board.wal_archive.last_failed_wal == refused
    assert board.component_state is ComponentState.MAJOR_OUTAGE
    assert board.alarm.startswith(f"WAL archiving is failing: {refused} was refused")


def test_snapshot_and_restore_from_the_shell(
    cluster: ArchivingCluster,
    archive: LocalStore,
    order_book: Engine,
    invoke: Invoke,
) -> None:
    place_orders(order_book, 2)
    url = order_book.url.render_as_string(hide_password=False)
    snapshot = invoke("backup", "snapshot", "--store", archive.location,
                      "--database-url", url)  # fmt: skip
    assert snapshot.code == 0, snapshot.err
    place_orders(order_book, 1, first=5)
    Shipper(order_book, archive).ship_once()
    cluster.switch_wal()
    target = cluster.folder / "restored-from-the-shell"

    outcome = invoke(
        "backup", "restore", "--to-pgdata", str(target),
        "--start-port", str(cluster.free_port()), "--store", archive.location,
    )  # fmt: skip

    assert "Snapshot stored as pg-base/" in snapshot.out
    assert "checked by pg_verifybackup" in snapshot.out
    assert outcome.code == 0, outcome.err
    assert f"Restored {target} from pg-base/" in outcome.out
    assert "Recovered and promoted: 3 parcel(s)" in outcome.out
    assert "(same)" in outcome.out


def test_a_restore_until_a_time_stops_before_later_orders(
    cluster: ArchivingCluster, archive: LocalStore, order_book: Engine
) -> None:
    settings = Settings(data_dir=cluster.folder)
    place_orders(order_book, 2)
    snapshot_and_ship(order_book, archive, settings=settings)
    place_orders(order_book, 1, first=5)
    until = utcnow()
    time.sleep(0.05)
    place_orders(order_book, 2, first=10)
    Shipper(order_book, archive).ship_once()
    cluster.switch_wal()

    report = restore_pgdata(
        archive,
        cluster.folder / "restored-until",
        settings=settings,
        until=until,
        start_port=cluster.free_port(),
    )

    assert report.parcels == 3
    assert report.head_restored is not None
    assert report.head_restored[0] < report.head_shipped[0]


def test_a_restore_until_a_time_the_wal_never_reaches_refuses_and_stops(
    cluster: ArchivingCluster,
    archive: LocalStore,
    order_book: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg_recovery, "RECOVERY_SECONDS", 60.0)
    settings = Settings(data_dir=cluster.folder)
    place_orders(order_book, 1)
    snapshot_and_ship(order_book, archive, settings=settings)
    Shipper(order_book, archive).ship_once()
    cluster.switch_wal()
    until = utcnow()  # no commit in the archived WAL is this late
    target = cluster.folder / "restored-short-of-target"

    # pg_ctl or the wait loop sees the server go, whichever is first.
    with pytest.raises(RestoreRefused, match="recovery ended before configured"):
        restore_pgdata(
            archive,
            target,
            settings=settings,
            until=until,
            start_port=cluster.free_port(),
        )

    assert not target.exists()


def test_an_archiver_that_cannot_run_its_command_raises_the_stuck_alarm(
    cluster: ArchivingCluster, order_book: Engine
) -> None:
    cluster.sql("ALTER SYSTEM SET archive_command = '/no/such/archiver %p'")
    cluster.sql("SELECT pg_reload_conf()")
    try:
        failed_before = cluster.sql("SELECT failed_count FROM pg_stat_archiver")
        place_orders(order_book, 1)
        switched = str(cluster.sql("SELECT pg_walfile_name(pg_switch_wal())"))
        place_orders(order_book, 1, first=5)
        time.sleep(0.3)

        with Session(order_book) as session, session.begin():
            status = read_archiver(session, lag_alarm_seconds=0.1)
            set_backup_component(
                session,
                state=ComponentState.OPERATIONAL,
                note="",
                at=utcnow(),
                lag_alarm_seconds=0.1,
            )
        with Session(order_book) as session:
            component = session.scalars(
                select(Component).where(Component.key == BACKUP_COMPONENT)
            ).one()

        assert status is not None
        assert status.failed_count == failed_before  # exit 127 is not counted
        assert status.stuck_wal <= switched
        assert component.state is ComponentState.MAJOR_OUTAGE
        assert component.note.startswith(
            f"WAL archiving is stuck: {status.stuck_wal} is complete"
        )
    finally:
        cluster.sql("ALTER SYSTEM RESET archive_command")
        cluster.sql("SELECT pg_reload_conf()")
