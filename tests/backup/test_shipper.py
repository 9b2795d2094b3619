"""The shipper: segments reach the store, the lag is measured, alarms follow."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from controlroom.backup.alarm import BACKUP_COMPONENT
from controlroom.backup.models import BackupPosition, BackupShipment
from controlroom.backup.s3_store import S3Store
from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore
from controlroom.backup.verify import verify_store
from controlroom.db import utcnow
from controlroom.errors import BackupError
from controlroom.health.models import Component, ComponentState
from controlroom.journal import GENESIS_HASH, journal_head
from tests.backup.tampering import FlakyStore
from tests.journal.tampering import append_numbered


@pytest.fixture
def flaky_store(tmp_path: Path) -> FlakyStore:
    return FlakyStore(tmp_path / "backup", retention_days=30)


def head(engine: Engine) -> tuple[int, str]:
    with Session(engine) as session:
        return journal_head(session)


def backup_component(engine: Engine) -> Component:
    with Session(engine) as session:
        component = session.scalar(
            select(Component).where(Component.key == BACKUP_COMPONENT)
        )
        assert component is not None
        return component


def test_a_round_ships_every_new_event_in_sealed_segments(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    shipper = Shipper(journal_of_ten, local_store, segment_events=4)

    report = shipper.ship_once()

    assert (report.segments, report.events, report.shipped_seq) == (3, 10, 10)
    assert local_store.list("manifests/") == (
        "manifests/000000000001.json",
        "manifests/000000000005.json",
        "manifests/000000000009.json",
    )
    with Session(journal_of_ten) as session:
        shipments = session.scalars(select(BackupShipment.last_seq)).all()
        position = session.scalars(select(BackupPosition)).one()
    assert shipments == [4, 8, 10]
    assert (position.shipped_seq, position.lag_events) == (10, 0)
    assert verify_store(local_store).ok


def test_the_next_round_ships_only_what_is_new(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    shipper = Shipper(journal_of_ten, local_store)
    shipper.ship_once()  # ten events, then the backup component is added
    append_numbered(journal_of_ten, 3, start=11)

    report = shipper.ship_once()

    assert report.shipped_seq == head(journal_of_ten)[0] - report.lag.events
    assert report.events == head(journal_of_ten)[0] - 10 - report.lag.events
    assert report.lag.events == 0
    assert verify_store(local_store, expected_head=head(journal_of_ten)).ok


def test_the_backup_component_is_operational_while_shipping_keeps_up(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    Shipper(journal_of_ten, local_store).ship_once()

    component = backup_component(journal_of_ten)

    assert component.state is ComponentState.OPERATIONAL


def test_a_rejected_write_raises_the_alarm_at_once_and_lag_grows(
    journal_of_ten: Engine, flaky_store: FlakyStore
) -> None:
    shipper = Shipper(journal_of_ten, flaky_store, lag_alarm_seconds=3600)
    shipper.ship_once()
    flaky_store.refusing = True
    append_numbered(journal_of_ten, 2, start=11)

    first = shipper.ship_once()
    append_numbered(journal_of_ten, 2, start=13)
    second = shipper.ship_once()

    assert first.error == "access denied writing segments/000000000011.seg"
    assert first.alarm.startswith("Backup store refused a write: access denied")
    assert second.lag.events > first.lag.events >= 2
    component = backup_component(journal_of_ten)
    assert component.state is ComponentState.MAJOR_OUTAGE
    assert "access denied" in component.note
    with Session(journal_of_ten) as session:
        position = session.scalars(select(BackupPosition)).one()
    assert position.failing_since is not None
    assert position.last_error.startswith("access denied")


def test_the_alarm_clears_when_writes_succeed_again(
    journal_of_ten: Engine, flaky_store: FlakyStore
) -> None:
    shipper = Shipper(journal_of_ten, flaky_store)
    flaky_store.refusing = True
    shipper.ship_once()
    flaky_store.refusing = False

    report = shipper.ship_once()

    assert (report.error, report.alarm) == ("", "")
    assert report.shipped_seq >= 10
    assert backup_component(journal_of_ten).state is ComponentState.OPERATIONAL
    assert verify_store(flaky_store).ok


def test_a_lag_past_the_threshold_is_an_outage(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    later = utcnow() + timedelta(minutes=5)
    shipper = Shipper(
        journal_of_ten,
        local_store,
        segment_events=4,
        segments_per_round=1,
        lag_alarm_seconds=60,
        now=lambda: later,
    )

    report = shipper.ship_once()

    assert (report.shipped_seq, report.lag.events) == (4, 6)
    assert report.lag.seconds > 60
    assert report.alarm == "Backup is more than 60 s behind the journal"
    assert backup_component(journal_of_ten).state is ComponentState.PARTIAL_OUTAGE


def test_the_lag_alarm_clears_when_shipping_catches_up(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    later = utcnow() + timedelta(minutes=5)
    shipper = Shipper(
        journal_of_ten,
        local_store,
        segment_events=4,
        segments_per_round=1,
        lag_alarm_seconds=60,
        now=lambda: later,
    )
    shipper.ship_once()
    shipper.segments_per_round = 100

    report = shipper.ship_once()

    assert report.alarm == ""
    assert backup_component(journal_of_ten).state is ComponentState.OPERATIONAL


def test_a_retention_problem_is_an_alarm(
    journal_of_ten: Engine, flaky_store: FlakyStore
) -> None:
    flaky_store.retention_problem = "the default retention is 7 days"

    report = Shipper(journal_of_ten, flaky_store).ship_once()

    assert "the default retention is 7 days" in report.alarm
    assert backup_component(journal_of_ten).state is ComponentState.MAJOR_OUTAGE
    with Session(journal_of_ten) as session:
        position = session.scalars(select(BackupPosition)).one()
    assert position.retention_ok is False


def test_ship_through_returns_once_the_event_is_in_the_store(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    shipper = Shipper(journal_of_ten, local_store)
    append_numbered(journal_of_ten, 1, start=11)

    report = shipper.ship_through(11)

    assert report.shipped_seq >= 11
    assert local_store.exists("segments/000000000001.seg")


def test_ship_through_raises_when_the_store_refuses(
    journal_of_ten: Engine, flaky_store: FlakyStore
) -> None:
    flaky_store.refusing = True

    with pytest.raises(BackupError, match="Event 10 is not in the backup"):
        Shipper(journal_of_ten, flaky_store).ship_through(10)


def test_a_shipper_refused_by_another_shippers_segment_adopts_it(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    Shipper(journal_of_ten, local_store, segment_events=4).ship_once()
    forget_shipping(journal_of_ten, keep_position_row=True)

    report = Shipper(journal_of_ten, local_store, segment_events=6).ship_once()

    assert report.error == ""
    with Session(journal_of_ten) as session:
        firsts = session.scalars(select(BackupShipment.first_seq)).all()
    assert firsts[:3] == [1, 5, 9]  # the other shipper's cuts, adopted
    assert verify_store(local_store).ok


def test_a_shipper_without_a_record_continues_the_store(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    Shipper(journal_of_ten, local_store, segment_events=4).ship_once()
    forget_shipping(journal_of_ten)
    append_numbered(journal_of_ten, 2, start=11)

    report = Shipper(journal_of_ten, local_store).ship_once()

    assert report.error == ""
    assert report.lag.events == 0
    assert verify_store(local_store, expected_head=head(journal_of_ten)).ok


def test_a_store_holding_another_journal_is_refused(
    journal_of_ten: Engine, local_store: LocalStore
) -> None:
    Shipper(journal_of_ten, local_store).ship_once()
    forget_shipping(journal_of_ten)
    with journal_of_ten.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE journal_events SET hash = 'ff' || substr(hash, 3)"
        )

    with pytest.raises(BackupError, match="holds another journal"):
        Shipper(journal_of_ten, local_store).ship_once()


def forget_shipping(engine: Engine, *, keep_position_row: bool = False) -> None:
    """Lose the database's record of what was shipped (a restored database)."""
    with Session(engine) as session, session.begin():
        session.execute(delete(BackupShipment))
        if keep_position_row:
            session.execute(
                update(BackupPosition).values(
                    shipped_seq=0,
                    shipped_hash=GENESIS_HASH,
                    manifest_digest=GENESIS_HASH,
                )
            )
        else:
            session.execute(delete(BackupPosition))


def test_shipping_and_verifying_work_on_both_databases(
    any_engine: Engine, local_store: LocalStore
) -> None:
    append_numbered(any_engine, 5)
    shipper = Shipper(any_engine, local_store, segment_events=2)

    first = shipper.ship_once()
    second = shipper.ship_once()

    assert (first.segments, first.shipped_seq) == (3, 5)
    assert second.shipped_seq == head(any_engine)[0]
    assert verify_store(local_store, expected_head=head(any_engine)).ok


def test_s3_retention_below_the_configured_days_raises_the_alarm_on_recheck(
    journal_of_ten: Engine, locked_bucket: S3Store
) -> None:
    shipper = Shipper(journal_of_ten, locked_bucket, retention_every_seconds=0)
    assert shipper.ship_once().alarm == ""
    # moto refuses to change the lock settings of a bucket that holds
    # objects, so the configuration moves instead of the bucket.
    locked_bucket.retention_days = 60

    report = shipper.ship_once()

    assert report.alarm == (
        "Backup store retention is not safe: the default retention is "
        "30 days, below the 60 days configured"
    )
    assert backup_component(journal_of_ten).state is ComponentState.MAJOR_OUTAGE
