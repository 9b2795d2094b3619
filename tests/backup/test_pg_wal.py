"""WAL archived into the write-once store: idempotent push, checked fetch, verify.

No server here: the WAL files are bytes made up for the test, pushed and
fetched as PostgreSQL's archive_command and restore_command would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from controlroom.backup.pg_wal import (
    FETCH_FATAL_EXIT,
    fetch_wal,
    push_wal,
    wal_manifest_key,
    wal_object_key,
)
from controlroom.backup.stores import BackupStore, LocalStore
from controlroom.backup.verify import verify_store
from controlroom.db import utcnow
from controlroom.errors import BackupBroken, BackupError, StoreRefused
from tests.backup.tampering import flip_byte, remove
from tests.test_cli import Invoke, assert_one_line_error

SEGMENTS = [f"0000000100000000000000{n:02X}" for n in (0xFE, 0xFF)] + [
    f"0000000100000001000000{n:02X}" for n in (0x00, 0x01)
]


def wal_file(folder: Path, name: str, *, fill: bytes = b"") -> Path:
    """A made-up WAL file: its name and some filler, 64 KiB."""
    path = folder / name
    body = (name.encode() + (fill or b"record ")) * 4096
    path.write_bytes(body[: 64 * 1024])
    return path


def archive(store: BackupStore, folder: Path, names: list[str]) -> None:
    for name in names:
        assert push_wal(store, wal_file(folder, name), name, at=utcnow())


def test_a_pushed_wal_file_comes_back_byte_for_byte(
    any_store: BackupStore, tmp_path: Path
) -> None:
    path = wal_file(tmp_path, SEGMENTS[0])
    push_wal(any_store, path, SEGMENTS[0], at=utcnow())
    fetched = tmp_path / "RECOVERYXLOG"

    assert fetch_wal(any_store, SEGMENTS[0], fetched)

    assert fetched.read_bytes() == path.read_bytes()
    assert len(any_store.get(wal_object_key(SEGMENTS[0]))) < len(path.read_bytes())


def test_the_same_wal_pushed_again_succeeds_and_stores_nothing_new(
    local_store: LocalStore, tmp_path: Path
) -> None:
    path = wal_file(tmp_path, SEGMENTS[0])
    assert push_wal(local_store, path, SEGMENTS[0], at=utcnow())
    stored = local_store.list()

    assert not push_wal(local_store, path, SEGMENTS[0], at=utcnow())

    assert local_store.list() == stored


def test_other_bytes_under_an_archived_name_are_refused(
    local_store: LocalStore, tmp_path: Path
) -> None:
    push_wal(local_store, wal_file(tmp_path, SEGMENTS[0]), SEGMENTS[0], at=utcnow())
    (tmp_path / "other").mkdir()
    other = wal_file(tmp_path / "other", SEGMENTS[0], fill=b"another server ")

    with pytest.raises(StoreRefused, match=r"already archived .* with other bytes"):
        push_wal(local_store, other, SEGMENTS[0], at=utcnow())


def test_a_push_cut_short_before_its_manifest_is_finished_by_the_retry(
    local_store: LocalStore, tmp_path: Path
) -> None:
    path = wal_file(tmp_path, SEGMENTS[0])
    push_wal(local_store, path, SEGMENTS[0], at=utcnow())
    manifest = local_store.root / wal_manifest_key(SEGMENTS[0])
    manifest.unlink()

    assert push_wal(local_store, path, SEGMENTS[0], at=utcnow())

    assert verify_store(local_store).ok


@pytest.mark.parametrize(
    "name",
    [
        "00000002.history",
        "000000010000000000000003.partial",
        "000000010000000000000003.00000028.backup",
    ],
)
def test_history_partial_and_backup_files_are_archived_too(
    local_store: LocalStore, tmp_path: Path, name: str
) -> None:
    push_wal(local_store, wal_file(tmp_path, name), name, at=utcnow())

    assert local_store.exists(wal_object_key(name))
    assert verify_store(local_store).wal_files == 1


@pytest.mark.parametrize("name", ["../../etc/passwd", "00000001", "RECOVERYXLOG"])
def test_a_name_postgresql_would_not_archive_is_refused(
    local_store: LocalStore, tmp_path: Path, name: str
) -> None:
    with pytest.raises(BackupError, match="is not a WAL file name"):
        push_wal(local_store, tmp_path, name, at=utcnow())

    assert local_store.list() == ()


def test_fetching_a_file_never_archived_says_so_without_writing(
    local_store: LocalStore, tmp_path: Path
) -> None:
    assert not fetch_wal(local_store, SEGMENTS[0], tmp_path / "RECOVERYXLOG")

    assert not (tmp_path / "RECOVERYXLOG").exists()


def test_fetching_an_altered_file_is_refused(
    local_store: LocalStore, tmp_path: Path
) -> None:
    archive(local_store, tmp_path, SEGMENTS[:1])
    flip_byte(local_store, wal_object_key(SEGMENTS[0]), 30)

    with pytest.raises(BackupBroken, match="is altered"):
        fetch_wal(local_store, SEGMENTS[0], tmp_path / "RECOVERYXLOG")

    assert not (tmp_path / "RECOVERYXLOG").exists()


def test_verify_walks_the_archive_across_a_log_boundary(
    any_store: BackupStore, tmp_path: Path
) -> None:
    archive(any_store, tmp_path, SEGMENTS)

    report = verify_store(any_store)

    assert report.ok, report.problem
    assert report.wal_files == 4


def test_verify_names_a_flipped_wal_object(
    any_store: BackupStore, tmp_path: Path
) -> None:
    archive(any_store, tmp_path, SEGMENTS)
    flip_byte(any_store, wal_object_key(SEGMENTS[2]), 20)

    problem = verify_store(any_store).problem

    assert problem is not None
    assert problem.key == wal_object_key(SEGMENTS[2])
    assert problem.problem.startswith("altered: ")


def test_verify_names_a_wal_file_missing_between_two_archived_ones(
    local_store: LocalStore, tmp_path: Path
) -> None:
    archive(local_store, tmp_path, SEGMENTS)
    remove(local_store, wal_object_key(SEGMENTS[1]))
    remove(local_store, wal_manifest_key(SEGMENTS[1]))

    problem = verify_store(local_store).problem

    assert problem is not None
    assert problem.key == wal_object_key(SEGMENTS[1])
    assert problem.problem.startswith(f"missing: WAL {SEGMENTS[1]} is not in")


def test_verify_names_a_wal_object_deleted_under_its_manifest(
    local_store: LocalStore, tmp_path: Path
) -> None:
    archive(local_store, tmp_path, SEGMENTS)
    remove(local_store, wal_object_key(SEGMENTS[3]))

    problem = verify_store(local_store).problem

    assert problem is not None
    assert str(problem) == (
        f"{wal_object_key(SEGMENTS[3])}: missing: the WAL file was deleted"
    )


# -- as PostgreSQL calls them -------------------------------------------------


def test_wal_push_from_the_shell_is_quiet_and_idempotent(
    local_store: LocalStore, tmp_path: Path, invoke: Invoke
) -> None:
    path = wal_file(tmp_path, SEGMENTS[0])
    args = ("backup", "wal-push", "--store", local_store.location)

    first = invoke(*args, str(path), SEGMENTS[0])
    again = invoke(*args, str(path), SEGMENTS[0])

    assert (first.code, first.out, first.err) == (0, "", "")
    assert (again.code, again.err) == (0, "")


def test_wal_push_of_other_bytes_fails_in_one_line(
    local_store: LocalStore, tmp_path: Path, invoke: Invoke
) -> None:
    archive(local_store, tmp_path, SEGMENTS[:1])
    (tmp_path / "other").mkdir()
    other = wal_file(tmp_path / "other", SEGMENTS[0], fill=b"another server ")

    outcome = invoke(
        "backup", "wal-push", "--store", local_store.location,
        str(other), SEGMENTS[0],
    )  # fmt: skip

    assert_one_line_error(outcome, f"{SEGMENTS[0]} is already archived")


def test_wal_fetch_of_a_missing_file_exits_1_quietly(
    local_store: LocalStore, tmp_path: Path, invoke: Invoke
) -> None:
    outcome = invoke(
        "backup", "wal-fetch", "--store", local_store.location,
        SEGMENTS[0], str(tmp_path / "RECOVERYXLOG"),
    )  # fmt: skip

    assert (outcome.code, outcome.out, outcome.err) == (1, "", "")


def test_wal_fetch_of_an_altered_file_aborts_recovery(
    local_store: LocalStore, tmp_path: Path, invoke: Invoke
) -> None:
    archive(local_store, tmp_path, SEGMENTS[:1])
    flip_byte(local_store, wal_object_key(SEGMENTS[0]), 30)

    outcome = invoke(
        "backup", "wal-fetch", "--store", local_store.location,
        SEGMENTS[0], str(tmp_path / "RECOVERYXLOG"),
    )  # fmt: skip

    assert outcome.code == FETCH_FATAL_EXIT > 125
    assert "is altered" in outcome.err


def test_backup_verify_names_a_flipped_wal_object_in_one_line(
    local_store: LocalStore, engine: Engine, tmp_path: Path, invoke: Invoke
) -> None:
    archive(local_store, tmp_path, SEGMENTS)
    flip_byte(local_store, wal_object_key(SEGMENTS[1]), 20)

    outcome = invoke(
        "backup", "verify", "--store", local_store.location,
        "--database-url", str(engine.url),
    )  # fmt: skip

    assert_one_line_error(outcome, f"{wal_object_key(SEGMENTS[1])}: altered: ")


def test_restore_without_a_target_is_one_line(
    local_store: LocalStore, invoke: Invoke
) -> None:
    outcome = invoke("backup", "restore", "--store", local_store.location)

    assert_one_line_error(outcome, "Name one target: --to sqlite:///")


def test_restore_into_a_data_folder_in_use_is_one_line(
    local_store: LocalStore, tmp_path: Path, invoke: Invoke
) -> None:
    used = tmp_path / "pgdata"
    used.mkdir()
    (used / "PG_VERSION").write_text("15\n")

    outcome = invoke(
        "backup", "restore", "--to-pgdata", str(used), "--store", local_store.location
    )

    assert_one_line_error(outcome, "is not empty; a restore never overwrites")
    assert [p.name for p in used.iterdir()] == ["PG_VERSION"]


def test_wal_settings_print_an_archive_command_that_pushes_to_the_store(
    local_store: LocalStore, invoke: Invoke
) -> None:
    outcome = invoke("backup", "wal-settings", "--store", local_store.location)

    assert outcome.code == 0, outcome.err
    assert "archive_mode = on" in outcome.out.splitlines()
    assert f"backup wal-push --store {local_store.location} %p %f'" in outcome.out
