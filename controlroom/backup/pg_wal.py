"""PostgreSQL's WAL, archived into the write-once store and fetched back.

``controlroom backup wal-push %p %f`` is the server's ``archive_command``
and ``controlroom backup wal-fetch %f %p`` a ``restore_command``
(PostgreSQL 15 manual, "Continuous Archiving and Point-in-Time Recovery",
25.3). Each file is stored gzip-compressed under ``pg-wal/NAME.gz`` with a
manifest ``pg-wal/NAME.json`` that records the SHA-256 and size of the WAL
bytes and of the stored object, written after the object, so a manifest
always describes a whole object.

The archive command must never overwrite a file and must fail, so that the
server keeps the file and retries, unless the file is safely stored
(manual 25.3.1): the same bytes pushed again succeed, other bytes under an
archived name fail. Besides WAL segments the server archives timeline
``.history`` files, ``.partial`` segments (the last one of a timeline left
at a promotion) and ``.backup`` history files; all are kept alike.

WAL lives in its own top-level folder, apart from the journal's segments
and the base backups: the archive command runs as the postgres user, the
rest as the control room's, and a local store's folders belong to whoever
made them first.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from controlroom.backup.segments import checksum, manifest_fields
from controlroom.backup.stores import BackupStore
from controlroom.errors import BackupBroken, BackupError, StoreRefused

WAL_FOLDER = "pg-wal"
# What wal-fetch exits with when the archive cannot be trusted or read. The
# server takes any exit status above 125 as the shell failing and aborts
# recovery (manual 25.3.4, restore_command), where any other non-zero status
# would mean "not archived" and end recovery early with a quietly short
# database.
FETCH_FATAL_EXIT = 126
WAL_FORMAT = 1
# The default 16 MiB segment: 256 segments per "log" number in the name.
SEGMENTS_PER_LOG = 0x100
_SEGMENT = re.compile(r"[0-9A-F]{24}")
_NAME = re.compile(
    r"[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history"
)


def check_wal_name(name: str) -> str:
    """Return ``name`` if the server could archive a file by it; else raise."""
    if not _NAME.fullmatch(name):
        raise BackupError(
            f"{name!r} is not a WAL file name (24 hex digits, optionally "
            ".partial or .NNNNNNNN.backup, or a timeline's NNNNNNNN.history)."
        )
    return name


def wal_object_key(name: str) -> str:
    """Where the compressed WAL file ``name`` is stored."""
    return f"{WAL_FOLDER}/{name}.gz"


def wal_manifest_key(name: str) -> str:
    """Where the manifest of the WAL file ``name`` is stored."""
    return f"{WAL_FOLDER}/{name}.json"


@dataclass(frozen=True)
class WalManifest:
    """One archived WAL file: its bytes' and its stored object's checksums."""

    name: str
    sha256: str
    size: int
    stored_sha256: str
    stored_size: int
    archived_at: str
    format: int = WAL_FORMAT

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces, a final newline."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return (text + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> WalManifest:
        """Read a manifest; ValueError names what is wrong with it."""
        try:
            manifest = cls(**manifest_fields(data))
        except TypeError as exc:
            raise ValueError(f"unexpected fields ({exc})") from None
        if manifest.format != WAL_FORMAT:
            raise ValueError(f"format {manifest.format!r} is not {WAL_FORMAT}")
        if not all(type(n) is int for n in (manifest.size, manifest.stored_size)):
            raise ValueError("its sizes are not numbers")
        return manifest


def compress(data: bytes) -> bytes:
    """The stored form: gzip, fastest level, no timestamp (same in, same out)."""
    return gzip.compress(data, compresslevel=1, mtime=0)


def check_wal_object(manifest: WalManifest, stored: bytes) -> tuple[bytes, str | None]:
    """The WAL bytes of a stored object, and what is wrong with it (or None)."""
    stored_digest = checksum(stored)
    if len(stored) != manifest.stored_size or stored_digest != manifest.stored_sha256:
        return b"", (
            f"altered: {len(stored):,} stored bytes do not match the SHA-256 "
            f"and size ({manifest.stored_size:,}) in its manifest"
        )
    try:
        data = gzip.decompress(stored)
    except (OSError, EOFError, zlib.error) as exc:
        return b"", f"unreadable: the stored object does not decompress ({exc})"
    if len(data) != manifest.size or checksum(data) != manifest.sha256:
        return b"", "altered: the WAL bytes do not match the SHA-256 in its manifest"
    return data, None


def _read_manifest(store: BackupStore, name: str) -> WalManifest | None:
    key = wal_manifest_key(name)
    if not store.exists(key):
        return None
    try:
        return WalManifest.from_bytes(store.get(key))
    except ValueError as exc:
        raise BackupBroken(
            f"The WAL manifest {key} in {store.location} is unreadable ({exc}); "
            "run 'controlroom backup verify'.",
            key=key,
            seq=None,
        ) from None


def push_wal(store: BackupStore, path: Path, name: str, *, at: datetime) -> bool:
    """Archive the WAL file at ``path`` as ``name``; False if already there.

    Raises StoreRefused when other bytes are archived under ``name``: the
    server must keep its file and go on failing until someone looks.
    """
    check_wal_name(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BackupError(f"Cannot read the WAL file {path}: {exc.strerror}.") from exc
    digest = checksum(data)

    archived = _read_manifest(store, name)
    if archived is not None:
        if archived.sha256 == digest and archived.size == len(data):
            return False
        raise StoreRefused(
            f"{name} is already archived in {store.location} with other bytes "
            f"(SHA-256 {archived.sha256[:12]}…, here {digest[:12]}…); two servers "
            "may be archiving to one store. Nothing was overwritten.",
            key=wal_manifest_key(name),
        )

    key = wal_object_key(name)
    if store.exists(key):
        # An earlier push stopped between the object and its manifest.
        stored = store.get(key)
        try:
            same = gzip.decompress(stored) == data
        except (OSError, EOFError, zlib.error):
            same = False
        if not same:
            raise StoreRefused(
                f"{key} is in {store.location} without a manifest and holds other "
                "bytes; run 'controlroom backup verify'.",
                key=key,
            )
    else:
        stored = compress(data)
        store.put(key, stored)
    manifest = WalManifest(
        name=name,
        sha256=digest,
        size=len(data),
        stored_sha256=checksum(stored),
        stored_size=len(stored),
        archived_at=at.isoformat(),
    )
    store.put(wal_manifest_key(name), manifest.to_bytes())
    return True


def fetch_wal(store: BackupStore, name: str, target: Path) -> bool:
    """Write the archived WAL file ``name`` to ``target``; False if not archived.

    Raises BackupBroken when the archived file fails its checksums: a
    restore must stop there rather than end recovery early.
    """
    check_wal_name(name)
    manifest = _read_manifest(store, name)
    if manifest is None:
        return False
    key = wal_object_key(name)
    try:
        stored = store.get(key)
    except BackupError:
        raise BackupBroken(
            f"{key} is missing from {store.location} though its manifest is there.",
            key=key,
            seq=None,
        ) from None
    data, fault = check_wal_object(manifest, stored)
    if fault is not None:
        raise BackupBroken(f"{key} in {store.location} is {fault}.", key=key, seq=None)
    write_file(target, data)
    return True


def write_file(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` whole or not at all."""
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise BackupError(f"Cannot write {target}: {exc.strerror}.") from exc


def archived_names(store: BackupStore) -> list[str]:
    """The names of the archived WAL files that have a manifest, sorted."""
    return [
        key.removeprefix(WAL_FOLDER + "/").removesuffix(".json")
        for key in store.list(WAL_FOLDER + "/")
        if key.endswith(".json")
    ]


def segment_number(name: str) -> tuple[int, int]:
    """A segment name's timeline and its position on that timeline."""
    timeline, log, seg = int(name[:8], 16), int(name[8:16], 16), int(name[16:24], 16)
    return timeline, log * SEGMENTS_PER_LOG + seg


def segment_name(timeline: int, number: int) -> str:
    """The name of segment ``number`` on ``timeline``."""
    log, seg = divmod(number, SEGMENTS_PER_LOG)
    return f"{timeline:08X}{log:08X}{seg:08X}"


def first_gap(names: list[str]) -> tuple[str, str] | None:
    """The first run of segments missing between archived ones on a timeline."""
    numbers = sorted(segment_number(n) for n in names if _SEGMENT.fullmatch(n))
    for (timeline, number), (next_timeline, following) in pairwise(numbers):
        if timeline == next_timeline and following > number + 1:
            return segment_name(timeline, number + 1), segment_name(
                timeline, following - 1
            )
    return None


def check_wal_archive(store: BackupStore) -> tuple[int, tuple[str, str] | None]:
    """How many archived WAL files hold, and the first that does not (key, why).

    Every manifest must read and its object match it; no object may lack a
    manifest; and the segments of each timeline must follow one another,
    since recovery stops at the first one missing.
    """
    keys = store.list(WAL_FOLDER + "/")
    objects = {key for key in keys if key.endswith(".gz")}
    names: list[str] = []
    for key in keys:
        if not key.endswith(".json"):
            continue
        name = key.removeprefix(WAL_FOLDER + "/").removesuffix(".json")
        try:
            manifest = WalManifest.from_bytes(store.get(key))
        except ValueError as exc:
            return len(names), (key, f"altered: the WAL manifest is unreadable, {exc}")
        if manifest.name != name:
            return len(names), (key, f"moved: the manifest describes {manifest.name}")
        key = wal_object_key(name)
        if key not in objects:
            return len(names), (key, "missing: the WAL file was deleted")
        _, fault = check_wal_object(manifest, store.get(key))
        if fault is not None:
            return len(names), (key, fault)
        names.append(name)
    orphans = sorted(objects - {wal_object_key(name) for name in names})
    if orphans:
        return len(names), (orphans[0], "has no manifest")
    gap = first_gap(names)
    if gap is not None:
        first, last = gap
        span = first if first == last else f"{first}..{last}"
        return len(names), (
            wal_object_key(first),
            f"missing: WAL {span} is not in the archive (recovery would stop "
            "before it)",
        )
    return len(names), None
