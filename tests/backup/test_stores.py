"""Write-once stores: no overwrite, no delete before retention, checked S3."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from controlroom.backup.s3_store import (
    S3Store,
    read_credentials,
    s3_store_from_settings,
)
from controlroom.backup.stores import BackupStore, LocalStore, open_store
from controlroom.config import Settings
from controlroom.db import utcnow
from controlroom.errors import BackupError, StoreRefused


def test_a_store_gives_back_what_was_put(any_store: BackupStore) -> None:
    any_store.put("segments/000000000001.seg", b"one\n")
    any_store.put("manifests/000000000001.json", b"{}")

    assert any_store.get("segments/000000000001.seg") == b"one\n"
    assert any_store.list("segments/") == ("segments/000000000001.seg",)
    assert any_store.exists("manifests/000000000001.json")
    assert not any_store.exists("manifests/000000000002.json")


def test_a_store_refuses_to_overwrite(any_store: BackupStore) -> None:
    any_store.put("segments/000000000001.seg", b"one\n")

    with pytest.raises(StoreRefused, match="written once and never overwritten"):
        any_store.put("segments/000000000001.seg", b"evil\n")
    assert any_store.get("segments/000000000001.seg") == b"one\n"


def test_a_store_refuses_to_delete_a_locked_object(any_store: BackupStore) -> None:
    any_store.put("segments/000000000001.seg", b"one\n")

    with pytest.raises(StoreRefused, match=r"locked .*until"):
        any_store.delete("segments/000000000001.seg")
    assert any_store.get("segments/000000000001.seg") == b"one\n"


def test_a_missing_object_is_a_readable_error(any_store: BackupStore) -> None:
    with pytest.raises(BackupError, match="is not in"):
        any_store.get("segments/000000000009.seg")


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "a//b", ".hidden"])
def test_a_store_refuses_names_outside_itself(
    local_store: LocalStore, key: str
) -> None:
    with pytest.raises(BackupError, match="not a valid backup object name"):
        local_store.put(key, b"x")


def test_local_objects_are_read_only_with_a_retention_record(
    local_store: LocalStore,
) -> None:
    local_store.put("segments/000000000001.seg", b"one\n")

    mode = (local_store.root / "segments/000000000001.seg").stat().st_mode
    until = local_store.locked_until("segments/000000000001.seg")

    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert until is not None
    assert until > utcnow() + timedelta(days=29)


def test_local_delete_is_allowed_once_retention_runs_out(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "backup", retention_days=0)
    store.put("segments/000000000001.seg", b"one\n")

    store.delete("segments/000000000001.seg")

    assert store.list() == ()


def test_moto_itself_refuses_to_delete_a_locked_version(
    locked_bucket: S3Store,
) -> None:
    locked_bucket.put("segments/000000000001.seg", b"one\n")
    lock = locked_bucket.lock_of("segments/000000000001.seg")
    assert lock is not None
    version = lock[2]

    with pytest.raises(ClientError, match="AccessDenied"):
        locked_bucket.client.delete_object(
            Bucket=locked_bucket.bucket,
            Key="journal/segments/000000000001.seg",
            VersionId=version,
        )


def test_an_s3_upload_is_locked_in_compliance_mode_with_a_checksum(
    locked_bucket: S3Store,
) -> None:
    locked_bucket.put("segments/000000000001.seg", b"one\n")

    head = locked_bucket.client.head_object(
        Bucket=locked_bucket.bucket,
        Key="journal/segments/000000000001.seg",
        ChecksumMode="ENABLED",
    )

    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= locked_bucket.retain_until()
    # base64 of SHA-256("one\n"), as S3 sends it in x-amz-checksum-sha256
    assert head["ChecksumSHA256"] == "LIsI2lzmA5jh8Zrw5dzMdE3ydLgmq+WF6rpoxSVDSAY="


def test_a_healthy_bucket_passes_the_retention_check(locked_bucket: S3Store) -> None:
    check = locked_bucket.check_retention()

    assert check.ok, check.problems
    assert "COMPLIANCE 30 days" in check.detail


def test_a_shrunk_default_retention_is_a_problem(locked_bucket: S3Store) -> None:
    locked_bucket.client.put_object_lock_configuration(
        Bucket=locked_bucket.bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 7}},
        },
    )

    check = locked_bucket.check_retention()

    assert not check.ok
    assert check.problems == (
        "the default retention is 7 days, below the 30 days configured",
    )


def test_governance_mode_and_suspended_versioning_are_problems(
    locked_bucket: S3Store,
) -> None:
    client = locked_bucket.client
    client.put_object_lock_configuration(
        Bucket=locked_bucket.bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
        },
    )
    client.put_bucket_versioning(
        Bucket=locked_bucket.bucket, VersioningConfiguration={"Status": "Suspended"}
    )

    problems = locked_bucket.check_retention().problems

    assert any("versioning is suspended" in p for p in problems)
    assert any("GOVERNANCE, not COMPLIANCE" in p for p in problems)


def test_a_bucket_without_object_lock_is_a_problem(locked_bucket: S3Store) -> None:
    locked_bucket.client.create_bucket(Bucket="controlroom-plain")
    plain = S3Store(
        locked_bucket.client, bucket="controlroom-plain", prefix="", retention_days=30
    )

    problems = plain.check_retention().problems

    assert "Object Lock is not enabled on the bucket" in problems
    assert any("versioning is never enabled" in p for p in problems)


def test_s3_needs_an_explicit_endpoint(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        backup_s3_access_key_id="k",
        backup_s3_secret_access_key="s",
    )

    with pytest.raises(BackupError, match="CONTROLROOM_BACKUP_S3_ENDPOINT"):
        s3_store_from_settings(settings, "s3://bucket/prefix")


def test_s3_credentials_come_only_from_an_owner_only_file(tmp_path: Path) -> None:
    secrets = tmp_path / "s3.env"
    secrets.write_text("access_key_id=lab-key\nsecret_access_key=lab-secret\n")
    secrets.chmod(0o644)
    settings = Settings(data_dir=tmp_path, backup_s3_credentials_file=secrets)

    with pytest.raises(BackupError, match="chmod 600"):
        read_credentials(settings)
    secrets.chmod(0o600)
    assert read_credentials(settings) == ("lab-key", "lab-secret")


def test_missing_s3_credentials_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="CONTROLROOM_BACKUP_S3_ACCESS_KEY_ID"):
        read_credentials(Settings(data_dir=tmp_path))


def test_the_default_store_is_the_backup_folder_in_the_data_folder(
    tmp_path: Path,
) -> None:
    store = open_store(Settings(data_dir=tmp_path))

    assert store.kind == "local"
    assert store.location == str((tmp_path / "backup").resolve())
    with pytest.raises(BackupError, match="neither a folder nor"):
        open_store(Settings(data_dir=tmp_path), "ftp://host/x")


def test_our_own_check_refuses_a_locked_delete_without_asking_s3(
    locked_bucket: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked_bucket.put("segments/000000000001.seg", b"one\n")
    asked: list[object] = []
    monkeypatch.setattr(
        locked_bucket.client, "delete_object", lambda **kw: asked.append(kw)
    )

    with pytest.raises(StoreRefused, match="compliance mode"):
        locked_bucket.delete("segments/000000000001.seg")
    assert asked == []


def test_an_upload_the_server_does_not_lock_is_refused(
    locked_bucket: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = locked_bucket.client
    unlocked = client.put_object

    def put_without_lock(**upload: object) -> object:
        upload.pop("ObjectLockMode")
        upload.pop("ObjectLockRetainUntilDate")
        return unlocked(**upload)

    client.create_bucket(Bucket="controlroom-unlocked")
    client.put_bucket_versioning(
        Bucket="controlroom-unlocked", VersioningConfiguration={"Status": "Enabled"}
    )
    monkeypatch.setattr(client, "put_object", put_without_lock)
    store = S3Store(client, bucket="controlroom-unlocked", prefix="", retention_days=30)

    with pytest.raises(StoreRefused, match=r"did not lock .* in compliance mode"):
        store.put("segments/000000000001.seg", b"one\n")
