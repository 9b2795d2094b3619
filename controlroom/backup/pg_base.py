"""PostgreSQL base backups, taken with pg_basebackup and stored write-once.

A base backup is the data folder as ``pg_basebackup`` copies it from the
running server (plain format, with the WAL it needs streamed alongside,
``-X stream``, and its ``backup_manifest``), checked by ``pg_verifybackup``
against that manifest, then packed into one gzip-compressed tar under
``pg-base/``. Our own manifest beside it records the SHA-256 and size of
the tar, where in the WAL the backup starts (recovery replays the archived
WAL from there: :mod:`controlroom.backup.pg_wal`), when it was taken, and
the journal head read just before it started, which the backup holds at
least. The tar is written before its manifest, as for SQLite snapshots.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import re
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from controlroom.backup.pg_tools import find_pg_bin, libpq_connection, run_tool
from controlroom.backup.segments import checksum, manifest_fields
from controlroom.backup.snapshots import check_stored_bytes
from controlroom.backup.stores import BackupStore
from controlroom.config import Settings
from controlroom.errors import BackupError
from controlroom.journal import journal_head

logger = logging.getLogger(__name__)

BASE_FOLDER = "pg-base"
BASE_FORMAT = 1
_OBJECT_SUFFIX = ".tar.gz"
_MANIFEST_SUFFIX = ".json"
_CHUNK = 32 * 1024 * 1024
_START = re.compile(r"START WAL LOCATION: (\S+) \(file ([0-9A-F]{24})\)")
_TIMELINE = re.compile(r"START TIMELINE: (\d+)")


@dataclass(frozen=True)
class BaseBackupManifest:
    """What one stored base backup holds, where its WAL starts, its checksum."""

    object_key: str
    sha256: str
    size: int
    start_lsn: str
    start_wal: str
    timeline: int
    head_seq: int
    head_hash: str
    database_user: str
    database_name: str
    server_version: str
    created_at: str
    database: str = "postgresql"
    format: int = BASE_FORMAT

    @property
    def key(self) -> str:
        """Where this manifest is stored."""
        return self.object_key.removesuffix(_OBJECT_SUFFIX) + _MANIFEST_SUFFIX

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces, a final newline."""
        body = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return (body + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> BaseBackupManifest:
        """Read a manifest; ValueError names what is wrong with it."""
        try:
            manifest = cls(**manifest_fields(data))
        except TypeError as exc:
            raise ValueError(f"unexpected fields ({exc})") from None
        if manifest.format != BASE_FORMAT:
            raise ValueError(f"format {manifest.format!r} is not {BASE_FORMAT}")
        numbers = (manifest.size, manifest.head_seq, manifest.timeline)
        if not all(type(n) is int and n >= 0 for n in numbers):
            raise ValueError("its size, journal head or timeline are not sensible")
        return manifest


def base_manifest_keys(store: BackupStore) -> tuple[str, ...]:
    """The base backup manifests in the store, oldest first."""
    keys = store.list(BASE_FOLDER + "/")
    return tuple(key for key in keys if key.endswith(_MANIFEST_SUFFIX))


def check_base_bytes(manifest: BaseBackupManifest, data: bytes) -> str | None:
    """What is wrong with a base backup's bytes against its manifest, or None."""
    return check_stored_bytes(data, size=manifest.size, sha256=manifest.sha256)


def read_backup_label(folder: Path) -> tuple[str, str, int]:
    """The start LSN, start WAL file and timeline from a base backup's label."""
    try:
        label = (folder / "backup_label").read_text(encoding="utf-8")
    except OSError as exc:
        raise BackupError(
            f"The base backup in {folder} has no readable backup_label "
            f"({exc.strerror})."
        ) from exc
    start = _START.search(label)
    timeline = _TIMELINE.search(label)
    if start is None or timeline is None:
        raise BackupError(f"The backup_label in {folder} names no start WAL.")
    return start.group(1), start.group(2), int(timeline.group(1))


def pack(folder: Path) -> bytes:
    """A data folder as one gzip-compressed tar, fastest level."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for child in sorted(folder.iterdir()):
            tar.add(child, arcname=child.name)
    return compress_in_parallel(buffer.getbuffer())


def compress_in_parallel(data: memoryview | bytes) -> bytes:
    """gzip ``data`` in chunks on every core, as one multi-member gzip file.

    A gzip file is a series of members, each decompressing to the next
    part of the data (RFC 1952, 2.2), so chunks compressed on their own
    and joined are one valid file; zlib lets go of the interpreter lock
    while it works, which is what makes the threads run side by side.
    """
    chunks = [data[at : at + _CHUNK] for at in range(0, len(data), _CHUNK)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        members = pool.map(lambda c: gzip.compress(c, compresslevel=1, mtime=0), chunks)
        return b"".join(members)


def unpack(data: bytes, folder: Path) -> None:
    """Unpack a base backup's compressed tar into ``folder``.

    Streamed through tarfile's own gzip reader with its small default
    copies, which measured faster here than decompressing whole first.
    """
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")


def take_base_backup(
    engine: Engine, store: BackupStore, *, settings: Settings, created_at: datetime
) -> BaseBackupManifest:
    """Run pg_basebackup, check it with pg_verifybackup, store it and its manifest."""
    url = engine.url.render_as_string(hide_password=False)
    conninfo, password = libpq_connection(url)
    pg_bin = find_pg_bin(settings)
    with Session(engine) as session:
        head = journal_head(session)
        version = str(session.execute(text("SHOW server_version")).scalar_one())
    stamp = created_at.strftime("%Y%m%dT%H%M%S%fZ")

    with tempfile.TemporaryDirectory(prefix="controlroom-base-") as folder:
        data = Path(folder) / "data"
        run_tool(
            [
                str(pg_bin / "pg_basebackup"),
                *("--dbname", conninfo, "--pgdata", str(data)),
                *("--format", "plain", "--wal-method", "stream"),
                *("--checkpoint", "fast", "--label", f"controlroom {stamp}"),
                "--no-password",
                "--no-sync",
            ],
            env=password,
            what="take a base backup",
        )
        run_tool(
            [str(pg_bin / "pg_verifybackup"), "--quiet", str(data)],
            what="check the base backup against its backup_manifest",
        )
        start_lsn, start_wal, timeline = read_backup_label(data)
        tar = pack(data)

    key = f"{BASE_FOLDER}/{stamp}-{start_wal}{_OBJECT_SUFFIX}"
    manifest = BaseBackupManifest(
        object_key=key,
        sha256=checksum(tar),
        size=len(tar),
        start_lsn=start_lsn,
        start_wal=start_wal,
        timeline=timeline,
        head_seq=head[0],
        head_hash=head[1],
        database_user=engine.url.username or "",
        database_name=engine.url.database or "",
        server_version=version,
        created_at=created_at.isoformat(),
    )
    store.put(key, tar)
    store.put(manifest.key, manifest.to_bytes())
    logger.info(
        "base backup stored location=%s key=%s start_wal=%s bytes=%s",
        store.location,
        key,
        start_wal,
        len(tar),
    )
    return manifest


def check_base_backups(store: BackupStore) -> tuple[int, tuple[str, str] | None]:
    """How many base backups match their manifests, and the first that does not."""
    keys = store.list(BASE_FOLDER + "/")
    described: set[str] = set()
    good = 0
    for key in base_manifest_keys(store):
        try:
            manifest = BaseBackupManifest.from_bytes(store.get(key))
        except ValueError as exc:
            why = f"altered: the base backup manifest is unreadable, {exc}"
            return good, (key, why)
        if manifest.key != key:
            return good, (key, f"moved: the manifest describes {manifest.object_key}")
        described.add(manifest.object_key)
        if manifest.object_key not in keys:
            return good, (manifest.object_key, "missing: the base backup was deleted")
        fault = check_base_bytes(manifest, store.get(manifest.object_key))
        if fault is not None:
            return good, (manifest.object_key, fault)
        good += 1
    orphans = sorted(
        k for k in keys if k.endswith(_OBJECT_SUFFIX) and k not in described
    )
    if orphans:
        return good, (orphans[0], "has no manifest")
    return good, None
