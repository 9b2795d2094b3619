"""The backup schedule: snapshots and restore drills when due, and only then."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.backup.models import BackupDrill
from controlroom.backup.schedule import (
    Cadence,
    last_snapshot_at,
    run_due,
    run_schedule,
    schedule_state,
)
from controlroom.backup.service import snapshot_and_ship
from controlroom.backup.snapshots import snapshot_manifest_keys
from controlroom.backup.stores import LocalStore, open_store
from controlroom.config import Settings
from controlroom.db import create_db_engine, utcnow
from controlroom.errors import BackupError
from controlroom.schema import upgrade_database
from tests.backup.order_book import place_orders
from tests.test_cli import Invoke

HOURLY_DAILY = Cadence(timedelta(hours=1), timedelta(days=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data folder is the test's own."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def world(settings: Settings) -> Iterator[tuple[Engine, LocalStore]]:
    """A database with two orders and an empty local store."""
    engine = create_db_engine(settings.resolved_database_url, create_folder=True)
    upgrade_database(engine)
    place_orders(engine, 2)
    store = open_store(settings)
    assert isinstance(store, LocalStore)
    yield engine, store
    engine.dispose()


def _snapshots(store: LocalStore) -> int:
    return len(snapshot_manifest_keys(store))


def _drills(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(BackupDrill)) or 0


def _snapshotter(
    engine: Engine, store: LocalStore, settings: Settings
) -> Callable[[], str]:
    def take() -> str:
        return snapshot_and_ship(engine, store, settings=settings).object_key

    return take


def test_an_empty_store_gets_a_snapshot_then_a_drill_that_restores_from_it(
    world: tuple[Engine, LocalStore], settings: Settings
) -> None:
    engine, store = world

    runs = run_due(
        engine, store, HOURLY_DAILY, take_snapshot=_snapshotter(engine, store, settings)
    )

    assert [(run.what, run.ok) for run in runs] == [("snapshot", True), ("drill", True)]
    assert "0 event(s) lost" in runs[1].detail
    assert (_snapshots(store), _drills(engine)) == (1, 1)
    with Session(engine) as session:
        state = schedule_state(session, store, HOURLY_DAILY, now=utcnow())
    assert not state.snapshot_due and not state.drill_due
    assert state.problems == ()


def test_nothing_runs_again_until_its_interval_has_passed(
    world: tuple[Engine, LocalStore], settings: Settings
) -> None:
    engine, store = world
    take = _snapshotter(engine, store, settings)
    run_due(engine, store, HOURLY_DAILY, take_snapshot=take)
    taken = last_snapshot_at(store)
    assert taken is not None

    soon = run_due(
        engine,
        store,
        HOURLY_DAILY,
        take_snapshot=take,
        now=taken + timedelta(minutes=59),
    )
    later = run_due(
        engine, store, HOURLY_DAILY, take_snapshot=take, now=taken + timedelta(hours=2)
    )

    assert soon == ()
    assert [run.what for run in later] == ["snapshot"]
    assert (_snapshots(store), _drills(engine)) == (2, 1)


def test_a_drill_is_due_a_day_after_the_last_one(
    world: tuple[Engine, LocalStore], settings: Settings
) -> None:
    engine, store = world
    take = _snapshotter(engine, store, settings)
    run_due(engine, store, HOURLY_DAILY, take_snapshot=take)
    with Session(engine) as session:
        drilled = session.scalar(select(BackupDrill.started_at))
        assert drilled is not None
        state = schedule_state(
            session, store, HOURLY_DAILY, now=drilled + timedelta(days=1, seconds=1)
        )
    assert state.drill_due
    assert state.drill_due_at == drilled + timedelta(days=1)


def test_a_failed_snapshot_is_reported_and_the_drill_still_runs(
    world: tuple[Engine, LocalStore],
) -> None:
    engine, store = world

    def refuse() -> str:
        raise BackupError("The store refused the write (lab).")

    runs = run_due(engine, store, HOURLY_DAILY, take_snapshot=refuse)

    assert [(run.what, run.ok) for run in runs] == [
        ("snapshot", False),
        ("drill", False),
    ]
    assert runs[0].detail == "The store refused the write (lab)."
    # With no snapshot the drill fails, and is recorded as failed: it waits a
    # day like a passed one, and the screen says none has passed.
    assert "holds no snapshot" in runs[1].detail
    with Session(engine) as session:
        state = schedule_state(session, store, HOURLY_DAILY, now=utcnow())
    assert state.snapshot_due and not state.drill_due
    assert state.problems == (
        "No snapshot in the store yet.",
        "No restore drill has passed yet.",
    )


def test_a_schedule_two_intervals_behind_is_flagged(
    world: tuple[Engine, LocalStore], settings: Settings
) -> None:
    engine, store = world
    run_due(
        engine, store, HOURLY_DAILY, take_snapshot=_snapshotter(engine, store, settings)
    )
    taken = last_snapshot_at(store)
    assert taken is not None
    with Session(engine) as session:
        just_behind = schedule_state(
            session, store, HOURLY_DAILY, now=taken + timedelta(hours=2)
        )
        drilled = session.scalar(select(BackupDrill.started_at))
        assert drilled is not None
        far_behind = schedule_state(
            session, store, HOURLY_DAILY, now=drilled + timedelta(days=3)
        )

    assert just_behind.problems == ()
    assert far_behind.problems == (
        "The newest snapshot is 3 days old; one is due every 60 min.",
        "The last passed restore drill was 3 days ago; one is due every 24 h.",
    )


def test_the_newest_snapshot_time_comes_from_the_store(
    world: tuple[Engine, LocalStore], settings: Settings
) -> None:
    engine, store = world
    assert last_snapshot_at(store) is None
    before = utcnow()
    snapshot_and_ship(engine, store, settings=settings)

    taken = last_snapshot_at(store)

    assert taken is not None and taken.tzinfo is UTC
    assert before <= taken <= utcnow()


def test_the_loop_raises_its_first_rounds_error(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'none.sqlite3'}")
    store = LocalStore(tmp_path / "store", retention_days=30)

    with pytest.raises(Exception, match=r"no such table: backup_drills"):
        run_schedule(engine, store, HOURLY_DAILY, take_snapshot=lambda: "", rounds=1)
    engine.dispose()


def test_a_cadence_must_be_positive() -> None:
    with pytest.raises(ValueError, match="snapshot interval must be positive"):
        Cadence(timedelta(0), timedelta(days=1))
    assert Cadence.of(snapshot_minutes=30, drill_hours=12) == Cadence(
        timedelta(minutes=30), timedelta(hours=12)
    )


def test_the_snapshot_stamp_is_read_to_the_microsecond(
    world: tuple[Engine, LocalStore], settings: Settings
) -> None:
    engine, store = world
    manifest = snapshot_and_ship(engine, store, settings=settings)

    assert last_snapshot_at(store) == datetime.fromisoformat(manifest.created_at)


def test_the_command_takes_what_is_due_and_says_so(
    world: tuple[Engine, LocalStore], invoke: Invoke
) -> None:
    engine, store = world

    outcome = invoke(
        "backup",
        "schedule",
        "--store",
        store.location,
        "--rounds",
        "1",
        "--database-url",
        str(engine.url),
    )

    assert outcome.code == 0, outcome.err
    assert "Snapshots every 60 min and restore drills every 24 h" in outcome.out
    assert "Scheduled snapshot: snapshots/" in outcome.out
    assert "Scheduled drill: restored in" in outcome.out
    assert (_snapshots(store), _drills(engine)) == (1, 1)
