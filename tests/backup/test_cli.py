"""``controlroom backup ship`` and ``verify``: one readable line, right exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.models import BackupVerification
from controlroom.backup.s3_store import S3Store
from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore
from controlroom.db import create_db_engine
from controlroom.schema import upgrade_database
from tests.backup.tampering import flip_byte, remove
from tests.journal.tampering import append_numbered
from tests.test_cli import Invoke, assert_one_line_error


@pytest.fixture
def shipped_folder(
    journal_of_ten: Engine, local_store: LocalStore, invoke: Invoke
) -> LocalStore:
    """The ten-event journal shipped by the command to a local folder."""
    outcome = invoke(
        "backup",
        "ship",
        "--store",
        local_store.location,
        "--rounds",
        "1",
        "--database-url",
        str(journal_of_ten.url),
    )
    assert outcome.code == 0, outcome.err
    assert "Shipped 10 event(s) in 1 segment(s)" in outcome.out
    return local_store


def test_verify_says_intact_and_records_it(
    shipped_folder: LocalStore, journal_of_ten: Engine, invoke: Invoke
) -> None:
    outcome = invoke(
        "backup",
        "verify",
        "--store",
        shipped_folder.location,
        "--database-url",
        str(journal_of_ten.url),
    )

    assert outcome.code == 0, outcome.err
    assert "Backup intact" in outcome.out
    assert "events 1..10" in outcome.out
    with Session(journal_of_ten) as session:
        recorded = session.scalars(select(BackupVerification)).one()
    assert (recorded.ok, recorded.events) == (True, 10)


def test_verify_names_a_flipped_byte_and_fails(
    shipped_folder: LocalStore, journal_of_ten: Engine, invoke: Invoke
) -> None:
    flip_byte(shipped_folder, "segments/000000000001.seg", 40)

    outcome = invoke(
        "backup",
        "verify",
        "--store",
        shipped_folder.location,
        "--database-url",
        str(journal_of_ten.url),
    )

    assert_one_line_error(
        outcome,
        "segments/000000000001.seg (event 1): altered: the event does not match "
        "its hash",
    )
    with Session(journal_of_ten) as session:
        recorded = session.scalars(select(BackupVerification)).one()
    assert (recorded.ok, recorded.problem_seq) == (False, 1)


def test_verify_without_a_database_still_checks_the_store(
    shipped_folder: LocalStore, invoke: Invoke
) -> None:
    remove(shipped_folder, "segments/000000000001.seg")

    outcome = invoke(
        "backup",
        "verify",
        "--store",
        shipped_folder.location,
        "--database-url",
        "sqlite:////nonexistent/controlroom.sqlite3",
    )

    assert outcome.code == 1
    assert "No database" in outcome.err
    assert "missing: the segment was deleted" in outcome.err


def test_verify_on_s3_names_a_deleted_segment(
    journal_of_ten: Engine,
    locked_bucket: S3Store,
    moto_endpoint: str,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTROLROOM_BACKUP_S3_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("CONTROLROOM_BACKUP_S3_ACCESS_KEY_ID", "lab-key")
    monkeypatch.setenv("CONTROLROOM_BACKUP_S3_SECRET_ACCESS_KEY", "lab-secret")
    where = f"s3://{locked_bucket.bucket}/journal"
    url = str(journal_of_ten.url)
    shipped = invoke("backup", "ship", "--store", where, "--rounds", "1",
                     "--database-url", url)  # fmt: skip
    assert shipped.code == 0, shipped.err
    remove(locked_bucket, "segments/000000000001.seg")  # a delete marker

    outcome = invoke("backup", "verify", "--store", where, "--database-url", url)

    assert_one_line_error(
        outcome, "segments/000000000001.seg (event 1): missing: the segment was deleted"
    )


def test_s3_without_an_endpoint_is_refused_before_any_connection(
    journal_of_ten: Engine, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROLROOM_BACKUP_S3_ENDPOINT", raising=False)

    outcome = invoke(
        "backup",
        "ship",
        "--store",
        "s3://bucket/journal",
        "--database-url",
        str(journal_of_ten.url),
    )

    assert_one_line_error(outcome, "Set CONTROLROOM_BACKUP_S3_ENDPOINT")


def test_ship_to_a_store_of_another_journal_is_one_line(
    journal_of_ten: Engine, local_store: LocalStore, invoke: Invoke, tmp_path: Path
) -> None:
    other = create_db_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    upgrade_database(other)
    append_numbered(other, 3, start=50)
    Shipper(other, local_store).ship_once()

    outcome = invoke(
        "backup",
        "ship",
        "--store",
        local_store.location,
        "--rounds",
        "1",
        "--database-url",
        str(journal_of_ten.url),
    )

    assert_one_line_error(outcome, "holds another journal")


def test_verify_of_an_empty_store_fails_while_the_journal_has_events(
    journal_of_ten: Engine, tmp_path: Path, invoke: Invoke
) -> None:
    # An unmounted store (its mount point is there, empty) must not pass as
    # an intact backup; a mistyped one is refused before (test_copied_store).
    (tmp_path / "unmounted").mkdir()
    outcome = invoke(
        "backup",
        "verify",
        "--store",
        str(tmp_path / "unmounted"),
        "--database-url",
        str(journal_of_ten.url),
    )

    assert outcome.code == 1
    assert "holds no backup at all, while the journal is at event 10" in outcome.err
    with Session(journal_of_ten) as session:
        recorded = session.scalars(select(BackupVerification)).one()
    assert recorded.ok is False
