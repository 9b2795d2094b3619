"""Write-once backup stores: the interface, the local folder, and the factory.

Every store refuses to overwrite an object and refuses to delete one whose
retention has not run out. The local store is the embedded default: it keeps
that promise for anything that goes through it, and it makes its files
read-only, but someone with the folder's file permissions can still remove
them. That is why production ships to S3 with Object Lock in compliance mode
(:mod:`controlroom.backup.s3_store`), which not even the bucket's owner can
shorten or delete.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from controlroom.db import utcnow
from controlroom.errors import BackupError, StoreRefused

if TYPE_CHECKING:
    from controlroom.config import Settings

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
RETENTION_FOLDER = ".retention"
INCOMING_FOLDER = ".incoming"


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative name, else raise BackupError."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise BackupError(f"{key!r} is not a valid backup object name.")
    return key


@dataclass(frozen=True)
class RetentionCheck:
    """Whether the store still guards what it holds as configured."""

    ok: bool
    detail: str
    problems: tuple[str, ...] = ()


class BackupStore(ABC):
    """A write-once object store that backups are shipped to."""

    kind: str
    location: str
    retention_days: int

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store a new object, locked for the retention; refuse an overwrite."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return an object's bytes; BackupError if it is missing."""

    @abstractmethod
    def list(self, prefix: str = "") -> tuple[str, ...]:
        """Return the keys under ``prefix``, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete an object whose retention is over; refuse a locked one."""

    @abstractmethod
    def check_retention(self) -> RetentionCheck:
        """Check that the store still keeps objects write-once as configured."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        return key in self.list(key)

    def retain_until(self) -> datetime:
        """When an object written now may first be deleted."""
        return utcnow() + timedelta(days=self.retention_days)

    def close(self) -> None:  # noqa: B027 - most stores hold nothing open
        """Release any connection the store holds."""


class LocalStore(BackupStore):
    """A folder of read-only objects, each with a retention record."""

    kind = "local"

    def __init__(self, root: Path, *, retention_days: int) -> None:
        self.root = root.resolve()
        self.location = str(self.root)
        self.retention_days = retention_days
        try:
            for folder in (self.root, self._incoming, self._records):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(
                f"Cannot use {self.root} as a backup folder ({exc.strerror}). "
                "Set CONTROLROOM_BACKUP_STORE to a folder you can write to."
            ) from exc

    @property
    def _incoming(self) -> Path:
        return self.root / INCOMING_FOLDER

    @property
    def _records(self) -> Path:
        return self.root / RETENTION_FOLDER

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _record(self, key: str) -> Path:
        return self._records / (check_key(key) + ".json")

    def _write_once(self, path: Path, data: bytes, key: str) -> None:
        # Written aside, flushed, made read-only, then linked into place:
        # link() refuses an existing name, so two writers cannot both win
        # and a reader never sees half an object.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self._incoming)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp, stat.S_IRUSR | stat.S_IRGRP)
            os.link(temp, path)
            _sync_folder(path.parent)  # the new name survives a power cut
        except FileExistsError:
            raise StoreRefused(
                f"{key} is already in the backup store at {self.location}; "
                "objects are written once and never overwritten.",
                key=key,
            ) from None
        except OSError as exc:
            raise StoreRefused(
                f"The backup store at {self.location} refused {key}: {exc.strerror}.",
                key=key,
            ) from exc
        finally:
            os.unlink(temp)

    def put(self, key: str, data: bytes) -> None:
        """Write the object, then its retention record; refuse an overwrite."""
        path = self._path(key)
        self._write_once(path, data, key)
        record = {"retain_until": self.retain_until().isoformat()}
        record_path = self._record(key)
        if not record_path.exists():  # left by an interrupted earlier put
            self._write_once(record_path, json.dumps(record).encode(), key)

    def get(self, key: str) -> bytes:
        """Return the object's bytes."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BackupError(
                f"{key} is not in the backup store at {self.location}."
            ) from None
        except OSError as exc:
            raise BackupError(
                f"Cannot read {key} from {self.location}: {exc.strerror}."
            ) from exc

    def list(self, prefix: str = "") -> tuple[str, ...]:
        """Return the keys under ``prefix``, sorted; hidden folders skipped."""
        keys = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if key.startswith(".") or not path.is_file():
                continue
            if key.startswith(prefix):
                keys.append(key)
        return tuple(sorted(keys))

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        return self._path(key).is_file()

    def locked_until(self, key: str) -> datetime | None:
        """The retain-until date of an object; None when it has no record."""
        try:
            record = json.loads(self._record(key).read_bytes())
            return datetime.fromisoformat(record["retain_until"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(
                f"The retention record of {key} in {self.location} is damaged."
            ) from exc

    def delete(self, key: str) -> None:
        """Delete an object whose retention is over; refuse a locked one."""
        path = self._path(key)
        if not path.is_file():
            raise BackupError(f"{key} is not in the backup store at {self.location}.")
        until = self.locked_until(key)
        if until is None or until > utcnow():
            when = f"until {until:%Y-%m-%d %H:%M} UTC" if until else "(no record)"
            raise StoreRefused(
                f"{key} is locked {when}: a backup object cannot be deleted "
                "before its retention runs out.",
                key=key,
            )
        path.unlink()
        self._record(key).unlink()

    def check_retention(self) -> RetentionCheck:
        """A folder cannot lock itself; say so plainly."""
        return RetentionCheck(
            ok=True,
            detail=(
                f"local folder, {self.retention_days} days' retention kept by the "
                "control room; write-once through the store only, not against "
                "someone with file access"
            ),
        )


def _sync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def parse_s3_location(location: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into bucket and prefix (``''`` or ending /)."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    if not bucket:
        raise BackupError(f"{location!r} names no bucket: use s3://bucket/prefix.")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def store_location(settings: Settings, location: str | None = None) -> str:
    """The location a store opened with these arguments reports; opens nothing."""
    where = location or settings.backup_store
    if where is None:
        return str((settings.data_dir / "backup").resolve())
    if where.startswith("s3://"):
        bucket, prefix = parse_s3_location(where)
        return f"s3://{bucket}/{prefix}"
    return str(Path(where).resolve())


def open_store(
    settings: Settings, location: str | None = None, *, must_exist: bool = False
) -> BackupStore:
    """Open the configured store, or the one at ``location`` (folder or s3://).

    ``must_exist``: for reading a backup (verify, restore), a local folder
    that does not exist is refused rather than made, so a mistyped path is
    named instead of found empty.
    """
    where = location or settings.backup_store
    folder = (
        settings.data_dir / "backup"
        if where is None
        else None
        if "://" in where
        else Path(where)
    )
    if must_exist and folder is not None and not folder.is_dir():
        raise BackupError(
            f"There is no backup folder at {folder}. Check the path (--store or "
            "CONTROLROOM_BACKUP_STORE); nothing was created."
        )
    if where is None:
        return LocalStore(
            settings.data_dir / "backup", retention_days=settings.backup_retention_days
        )
    if where.startswith("s3://"):
        from controlroom.backup.s3_store import s3_store_from_settings

        return s3_store_from_settings(settings, where)
    if "://" in where:
        raise BackupError(
            f"{where!r} is neither a folder nor an s3://bucket/prefix location."
        )
    return LocalStore(Path(where), retention_days=settings.backup_retention_days)
