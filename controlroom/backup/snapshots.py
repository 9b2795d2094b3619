"""Snapshots of the order database, stored write-once beside the segments.

A snapshot is a whole copy of the SQLite file taken with SQLite's online
backup API (consistent while the control room keeps writing), checked with
``PRAGMA integrity_check`` before it is stored. Its manifest records the
journal head the copy contains, the rows per table, the SHA-256 and size
of the bytes, and when it was taken. Both live under ``snapshots/``, apart
from ``segments/`` and ``manifests/``, so the segment chain's verification
is unchanged. The object is written before its manifest: an interrupted
snapshot leaves an object nothing describes, never a manifest of nothing.

A restore starts from a snapshot and replays the journal after its head
from the segments (:mod:`controlroom.backup.restore`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from controlroom.backup.segments import checksum, manifest_fields
from controlroom.backup.stores import BackupStore
from controlroom.db import _sqlite_path, describe_url
from controlroom.errors import BackupError

logger = logging.getLogger(__name__)

SNAPSHOT_FOLDER = "snapshots"
SNAPSHOT_FORMAT = 1
_OBJECT_SUFFIX = ".sqlite3"
_MANIFEST_SUFFIX = ".json"


@dataclass(frozen=True)
class SnapshotManifest:
    """What one stored snapshot holds, and how to check its bytes."""

    object_key: str
    head_seq: int
    head_hash: str
    row_counts: dict[str, int]
    sha256: str
    size: int
    created_at: str
    database: str = "sqlite"
    schema_revision: str = ""
    format: int = SNAPSHOT_FORMAT

    @property
    def key(self) -> str:
        """Where this manifest is stored."""
        return self.object_key.removesuffix(_OBJECT_SUFFIX) + _MANIFEST_SUFFIX

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces, a final newline."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return (text + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> SnapshotManifest:
        """Read a manifest; ValueError names what is wrong with it."""
        fields = manifest_fields(data)
        try:
            manifest = cls(**fields)
        except TypeError as exc:
            raise ValueError(f"unexpected fields ({exc})") from None
        if manifest.format != SNAPSHOT_FORMAT:
            raise ValueError(f"format {manifest.format!r} is not {SNAPSHOT_FORMAT}")
        if not isinstance(manifest.row_counts, dict):
            raise ValueError("its row counts are not a table of numbers")
        numbers = (manifest.head_seq, manifest.size, *manifest.row_counts.values())
        if not all(type(n) is int and n >= 0 for n in numbers):
            raise ValueError("its sequence number, size or counts are not sensible")
        return manifest


def snapshot_object_key(head_seq: int, created_at: datetime) -> str:
    """The key of a snapshot taken at ``created_at`` holding events to ``head_seq``.

    Sorting the keys sorts the snapshots by head, then by time.
    """
    stamp = created_at.strftime("%Y%m%dT%H%M%S%fZ")
    return f"{SNAPSHOT_FOLDER}/{head_seq:012d}-{stamp}{_OBJECT_SUFFIX}"


def snapshot_manifest_keys(store: BackupStore) -> tuple[str, ...]:
    """The snapshot manifests in the store, oldest head first."""
    keys = store.list(SNAPSHOT_FOLDER + "/")
    return tuple(key for key in keys if key.endswith(_MANIFEST_SUFFIX))


def snapshot_object_keys(store: BackupStore) -> tuple[str, ...]:
    """The snapshot objects in the store, oldest head first."""
    keys = store.list(SNAPSHOT_FOLDER + "/")
    return tuple(key for key in keys if key.endswith(_OBJECT_SUFFIX))


def check_stored_bytes(data: bytes, *, size: int, sha256: str) -> str | None:
    """What is wrong with a stored object's bytes against its manifest, or None."""
    if len(data) != size:
        return (
            f"truncated or altered: {len(data):,} bytes where its manifest "
            f"says {size:,}"
        )
    if checksum(data) != sha256:
        return "altered: its SHA-256 does not match its manifest (changed bytes)"
    return None


def check_snapshot_bytes(manifest: SnapshotManifest, data: bytes) -> str | None:
    """What is wrong with a snapshot's bytes against its manifest, or None."""
    return check_stored_bytes(data, size=manifest.size, sha256=manifest.sha256)


# -- taking a snapshot ------------------------------------------------------


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite file with the online backup API and check the copy.

    The copy is switched to a rollback journal so it is one self-contained
    file. Raises BackupError when the copy fails its integrity check.
    """
    live, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        live.backup(copy)
    finally:
        live.close()
        copy.close()
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        copy.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    finally:
        copy.close()
    if problems != ["ok"]:
        raise BackupError(
            f"The copy of {source} fails its integrity check ({problems[0]}); "
            "nothing was stored. Run 'controlroom db check' on the database."
        )


def describe_copy(path: Path) -> tuple[tuple[int, str], dict[str, int], str]:
    """A SQLite copy's journal head, rows per table and schema revision."""
    copy = sqlite3.connect(path)
    try:
        head = copy.execute(
            "SELECT seq, hash FROM journal_head WHERE id = 1"
        ).fetchone()
        tables = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {
            table: int(copy.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
            for table in tables
        }
        revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"The copy at {path} is not a control-room database ({exc})."
        ) from exc
    finally:
        copy.close()
    journal = (int(head[0]), str(head[1])) if head else (0, "0" * 64)
    return journal, counts, str(revision[0]) if revision else ""


def take_snapshot(
    engine: Engine, store: BackupStore, *, created_at: datetime
) -> SnapshotManifest:
    """Copy the database, check the copy, and store it with its manifest."""
    source = _sqlite_path(str(engine.url))
    if engine.dialect.name != "sqlite" or source is None:
        # PostgreSQL is copied by its own pg_basebackup instead
        # (controlroom.backup.pg_base, chosen by service.snapshot_and_ship).
        raise BackupError(
            f"Snapshots of {describe_url(str(engine.url))} are not supported yet: "
            "only a SQLite file can be copied this way. For PostgreSQL, "
            "'controlroom backup snapshot' takes a base backup with pg_basebackup."
        )
    if not source.is_file():
        raise BackupError(f"The database file {source} does not exist.")

    with tempfile.TemporaryDirectory(dir=source.parent) as folder:
        copy = Path(folder) / "snapshot.sqlite3"
        copy_sqlite(source, copy)
        head, counts, revision = describe_copy(copy)
        data = copy.read_bytes()

    key = snapshot_object_key(head[0], created_at)
    manifest = SnapshotManifest(
        object_key=key,
        head_seq=head[0],
        head_hash=head[1],
        row_counts=counts,
        sha256=checksum(data),
        size=len(data),
        created_at=created_at.isoformat(),
        schema_revision=revision,
    )
    store.put(key, data)
    store.put(manifest.key, manifest.to_bytes())
    logger.info(
        "snapshot stored location=%s key=%s head=%s bytes=%s",
        store.location,
        key,
        head[0],
        len(data),
    )
    return manifest
