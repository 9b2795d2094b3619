"""The S3 backup store: Object Lock in compliance mode, checked every run.

Every object is uploaded with ``IfNoneMatch: *`` (no overwrite), a SHA-256
checksum header (``ChecksumAlgorithm=SHA256``, checked by S3 on arrival) and
its own compliance-mode lock with a retain-until date. In compliance mode no
user, the root account included, can delete a locked version or shorten its
lock before the date (Amazon S3 User Guide, "Object Lock retention modes").

S3-compatible servers do not all enforce every rule, so the store checks
what it relies on itself: that the bucket keeps versions, has Object Lock
on with a compliance-mode default retention no shorter than configured,
that an upload came back locked with our checksum, and that a delete is
refused before its retain-until date without asking the server.

The endpoint is always given explicitly, and credentials are always passed
in: the store never falls back to AWS's default endpoint or to the default
credential chain (which would ask an instance metadata address).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from controlroom.backup.stores import (
    BackupStore,
    RetentionCheck,
    check_key,
    parse_s3_location,
)
from controlroom.db import utcnow
from controlroom.errors import BackupError, StoreRefused

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from controlroom.config import Settings

logger = logging.getLogger(__name__)

COMPLIANCE: Final = "COMPLIANCE"
_NEVER = datetime.min.replace(tzinfo=UTC)
_REFUSALS = {"AccessDenied", "InvalidRequest", "PreconditionFailed", "BadDigest"}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _sha256_header(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def s3_client(
    *,
    endpoint_url: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
) -> S3Client:
    """An S3 client for exactly this endpoint, with these keys and no others."""
    if not endpoint_url.startswith(("http://", "https://")):
        raise BackupError(
            f"The S3 endpoint {endpoint_url!r} must start with https:// (or "
            "http:// for a lab server on 127.0.0.1)."
        )
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    config = Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


class S3Store(BackupStore):
    """A bucket (and prefix) with Object Lock in compliance mode."""

    kind = "s3"

    def __init__(
        self, client: S3Client, *, bucket: str, prefix: str, retention_days: int
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.retention_days = retention_days
        self.location = f"s3://{bucket}/{prefix}"

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _failed(self, action: str, key: str, exc: Exception) -> BackupError:
        if isinstance(exc, ClientError) and _error_code(exc) in _REFUSALS:
            return StoreRefused(
                f"{self.location} refused to {action} {key}: {exc}", key=key
            )
        return BackupError(f"Cannot {action} {key} at {self.location}: {exc}")

    def put(self, key: str, data: bytes) -> None:
        """Upload once, locked and checksummed; check the lock took hold."""
        full = self._full(key)
        if self.exists(key):
            raise StoreRefused(
                f"{key} is already in {self.location}; objects are written once "
                "and never overwritten.",
                key=key,
            )
        expected = _sha256_header(data)
        # S3 keeps whole seconds; round up so the lock is never shorter.
        until = (self.retain_until() + timedelta(seconds=1)).replace(microsecond=0)
        try:
            answer = self.client.put_object(
                Bucket=self.bucket,
                Key=full,
                Body=data,
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=expected,
                ObjectLockMode=COMPLIANCE,
                ObjectLockRetainUntilDate=until,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("write", key, exc) from exc
        if answer.get("ChecksumSHA256") != expected:
            raise StoreRefused(
                f"{self.location} stored {key} without our SHA-256 checksum.",
                key=key,
            )
        lock = self.lock_of(key)
        if lock is None or lock[0] != COMPLIANCE or lock[1] < until:
            raise StoreRefused(
                f"{self.location} did not lock {key} in compliance mode until "
                f"{until:%Y-%m-%d}; the bucket cannot be trusted to keep it.",
                key=key,
            )

    def get(self, key: str) -> bytes:
        """Download an object; S3 checks its stored checksum on the way."""
        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self._full(key), ChecksumMode="ENABLED"
            )
            return answer["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in {"NoSuchKey", "404"}:
                raise BackupError(f"{key} is not in {self.location}.") from None
            raise self._failed("read", key, exc) from exc
        except BotoCoreError as exc:
            raise self._failed("read", key, exc) from exc

    def list(self, prefix: str = "") -> tuple[str, ...]:
        """The current (not deleted) keys under ``prefix``, sorted."""
        keys: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        try:
            for page in pages:
                keys.extend(
                    item["Key"].removeprefix(self.prefix)
                    for item in page.get("Contents", [])
                )
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("list", prefix or "objects", exc) from exc
        return tuple(sorted(keys))

    def exists(self, key: str) -> bool:
        """Whether a current version is stored under ``key``."""
        return self.lock_of(key, missing_ok=True) is not None

    def lock_of(
        self, key: str, *, missing_ok: bool = False
    ) -> tuple[str, datetime, str] | None:
        """The current version's lock mode, retain-until date and version id."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if missing_ok and _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise self._failed("inspect", key, exc) from exc
        except BotoCoreError as exc:
            raise self._failed("inspect", key, exc) from exc
        # Absent headers mean "not locked": the earliest possible date.
        until: datetime = head.get("ObjectLockRetainUntilDate", _NEVER)
        mode = str(head.get("ObjectLockMode", ""))
        version = str(head.get("VersionId", ""))
        return (mode, until.astimezone(UTC), version)

    def delete(self, key: str) -> None:
        """Delete the current version once its lock has run out.

        Our own check comes first: a server that does not enforce Object
        Lock must not be the only thing between a backup and its deletion.
        A delete without a version id would only hide the object behind a
        delete marker, so the version itself is deleted.
        """
        lock = self.lock_of(key)
        assert lock is not None  # lock_of raises for a missing key
        mode, until, version = lock
        if mode and until > utcnow():
            raise StoreRefused(
                f"{key} is locked ({mode.lower()} mode) until "
                f"{until:%Y-%m-%d %H:%M} UTC: it cannot be deleted before then.",
                key=key,
            )
        try:
            self.client.delete_object(
                Bucket=self.bucket, Key=self._full(key), VersionId=version
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("delete", key, exc) from exc

    def check_retention(self) -> RetentionCheck:
        """Versioning on, Object Lock on, compliance default >= configured days."""
        problems: list[str] = []
        try:
            versioning = self.client.get_bucket_versioning(Bucket=self.bucket)
            lock = self._lock_configuration()
        except (ClientError, BotoCoreError) as exc:
            raise BackupError(
                f"Cannot read the retention settings of {self.location}: {exc}"
            ) from exc

        if versioning.get("Status") != "Enabled":
            status = versioning.get("Status", "never enabled")
            problems.append(f"versioning is {str(status).lower()}, not enabled")
        if lock.get("ObjectLockEnabled") != "Enabled":
            problems.append("Object Lock is not enabled on the bucket")
        default = lock.get("Rule", {}).get("DefaultRetention", {})
        mode = default.get("Mode")
        days = int(default.get("Days") or 0) + 365 * int(default.get("Years") or 0)
        if mode != COMPLIANCE:
            problems.append(
                f"the default retention mode is {mode or 'not set'}, not "
                "COMPLIANCE (governance mode can be lifted)"
            )
        if days < self.retention_days:
            problems.append(
                f"the default retention is {days} days, below the "
                f"{self.retention_days} days configured"
            )
        detail = (
            f"versioning {versioning.get('Status', 'off')}, Object Lock "
            f"{lock.get('ObjectLockEnabled', 'off')}, default {mode or 'none'} "
            f"{days} days (configured {self.retention_days})"
        )
        return RetentionCheck(not problems, detail, tuple(problems))

    def _lock_configuration(self) -> dict[str, Any]:
        try:
            answer = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if _error_code(exc) == "ObjectLockConfigurationNotFoundError":
                return {}
            raise
        return dict(answer.get("ObjectLockConfiguration", {}))

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def create_locked_bucket(client: S3Client, *, bucket: str, days: int) -> None:
    """Create a bucket with versioning, Object Lock and a compliance default.

    For lab servers and first set-up; Object Lock can only be switched on
    when a bucket is created.
    """
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    client.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    client.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": COMPLIANCE, "Days": days}},
        },
    )


def read_credentials(settings: Settings) -> tuple[str, str]:
    """The access key id and secret, from the environment or an owner-only file."""
    key_id = settings.backup_s3_access_key_id
    secret = settings.backup_s3_secret_access_key
    if key_id is not None and secret is not None:
        return key_id.get_secret_value(), secret.get_secret_value()
    path = settings.backup_s3_credentials_file
    if path is None:
        raise BackupError(
            "The S3 backup store needs its keys: set "
            "CONTROLROOM_BACKUP_S3_ACCESS_KEY_ID and "
            "CONTROLROOM_BACKUP_S3_SECRET_ACCESS_KEY, or "
            "CONTROLROOM_BACKUP_S3_CREDENTIALS_FILE to a file only you can read."
        )
    return _read_credentials_file(path)


def _read_credentials_file(path: Path) -> tuple[str, str]:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackupError(
            f"Cannot read the S3 credentials file {path}: {exc.strerror}."
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BackupError(
            f"{path} can be read by other users; run 'chmod 600 {path}' first."
        )
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip().lower()] = value.strip()
    key_id = values.get("access_key_id")
    secret = values.get("secret_access_key")
    if not key_id or not secret:
        # Never echo the content: it holds a secret.
        raise BackupError(
            f"{path} must hold two lines, access_key_id=... and secret_access_key=..."
        )
    return key_id, secret


def s3_store_from_settings(settings: Settings, location: str) -> S3Store:
    """Open the S3 store at ``location`` (s3://bucket/prefix) as configured."""
    if not settings.backup_s3_endpoint:
        raise BackupError(
            "Set CONTROLROOM_BACKUP_S3_ENDPOINT to the S3 endpoint (for example "
            "https://s3.eu-north-1.amazonaws.com); no default address is used."
        )
    bucket, prefix = parse_s3_location(location)
    key_id, secret = read_credentials(settings)
    client = s3_client(
        endpoint_url=settings.backup_s3_endpoint,
        region=settings.backup_s3_region,
        access_key_id=key_id,
        secret_access_key=secret,
    )
    return S3Store(
        client,
        bucket=bucket,
        prefix=prefix,
        retention_days=settings.backup_retention_days,
    )
