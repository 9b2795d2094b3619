"""Verification of a backup store: every segment, manifest and link.

The walk goes through the manifests in key order (their names are the first
sequence number, zero-padded) and checks, for each: that it is readable and
describes the events its name says; that no events are missing before it
(a deleted segment leaves a gap); that it links to the manifest before it;
that its segment exists, has the size and SHA-256 the manifest records, and
that every event in it re-hashes, follows its predecessor by number and
links to its hash. It stops at the first problem and names it, with the
object and the sequence number where it is.

A chain without a secret shows tampering only against an anchor kept
elsewhere: ``expected_head`` is the ``(seq, hash)`` the database recorded
as shipped, which notices the newest segments deleted together with their
manifests.

Snapshots (``snapshots/``) are checked after the chain: each manifest must
read, its object must exist with the size and SHA-256 it records, and no
snapshot object may lack a manifest. PostgreSQL base backups (``pg-base/``)
are checked the same way, and the archived WAL (``pg-wal/``) file by file,
with no segment missing between two archived ones of a timeline
(:mod:`controlroom.backup.pg_wal`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from controlroom.backup.pg_base import check_base_backups
from controlroom.backup.pg_wal import check_wal_archive
from controlroom.backup.segments import (
    MANIFEST_FOLDER,
    SEGMENT_FOLDER,
    SegmentManifest,
    checksum,
    first_seq_of,
    walk_segment,
)
from controlroom.backup.snapshots import (
    SnapshotManifest,
    check_snapshot_bytes,
    snapshot_manifest_keys,
    snapshot_object_keys,
)
from controlroom.backup.stores import BackupStore
from controlroom.errors import BackupBroken
from controlroom.journal.chain import GENESIS_HASH

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupProblem:
    """The first place the backup does not hold, and what is wrong there."""

    key: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.key} (event {self.seq})" if self.seq else self.key
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    """What verification read, and the first problem it found, if any."""

    location: str
    segments: int
    events: int
    head: tuple[int, str]
    manifest_digest: str
    problem: BackupProblem | None
    snapshots: int = 0
    wal_files: int = 0
    base_backups: int = 0

    @property
    def ok(self) -> bool:
        """Whether the backup held from its first event to its last."""
        return self.problem is None


def check_segment(
    key: str, data: bytes, manifest: SegmentManifest
) -> BackupProblem | None:
    """Check one segment's bytes against its manifest and its own chain."""
    walk = walk_segment(
        data, first_seq=manifest.first_seq, prev_hash=manifest.first_prev_hash
    )
    bad = walk.bad_seq
    short = len(data) < manifest.size
    if bad is not None and walk.fault == "sequence" and bad == manifest.first_seq:
        return BackupProblem(
            key,
            bad,
            f"reordered: it holds event {walk.found_seq} where its manifest "
            f"says the segment starts at {manifest.first_seq} (segments were "
            "swapped or moved)",
        )
    if bad is not None and not (short and walk.fault == "unreadable"):
        return BackupProblem(key, bad, _fault_words(walk.fault, walk.found_seq))
    if short or walk.last_seq < manifest.last_seq:
        return BackupProblem(
            key,
            walk.last_seq + 1,
            f"truncated: {len(data):,} of {manifest.size:,} bytes are left; it "
            f"ends after event {walk.last_seq} but should end at "
            f"{manifest.last_seq}",
        )
    if len(data) > manifest.size or checksum(data) != manifest.sha256:
        return BackupProblem(
            key,
            None,
            f"altered: its SHA-256 does not match the manifest ({len(data):,} "
            f"bytes, manifest says {manifest.size:,})",
        )
    if walk.last_hash != manifest.head_hash:
        return BackupProblem(
            key, walk.last_seq, "altered: its last event is not the manifest's head"
        )
    return None


def _fault_words(fault: str, found: int | None) -> str:
    return {
        "unreadable": "altered: this line is not a readable journal event",
        "altered": "altered: the event does not match its hash (changed bytes)",
        "sequence": f"out of sequence: event {found} stands here",
        "link": "altered: the event does not link to the one before it",
    }[fault]


class _Walk:
    """The running position of a verification."""

    def __init__(self) -> None:
        self.seq = 0
        self.hash = GENESIS_HASH
        self.manifest = GENESIS_HASH
        self.segments = 0
        self.boundaries: dict[int, str] = {}


def _check_manifest(
    store: BackupStore, key: str, walk: _Walk, segment_keys: set[str]
) -> BackupProblem | None:
    named = first_seq_of(key)
    if named is None:
        return BackupProblem(key, None, "not a manifest name: an object was added")
    raw = store.get(key)
    try:
        manifest = SegmentManifest.from_bytes(raw)
    except ValueError as exc:
        return BackupProblem(key, named, f"altered: the manifest is unreadable, {exc}")
    if named > walk.seq + 1:
        return BackupProblem(
            key,
            walk.seq + 1,
            f"gap: events {walk.seq + 1}..{named - 1} are missing (a segment "
            "and its manifest were deleted)",
        )
    if manifest.first_seq != named:
        return BackupProblem(
            key,
            named,
            f"reordered: the manifest named for event {named} describes events "
            f"{manifest.first_seq}..{manifest.last_seq}",
        )
    if named <= walk.seq:
        return BackupProblem(
            key, named, f"overlap: events up to {walk.seq} are already covered"
        )
    if manifest.prev_manifest != walk.manifest:
        return BackupProblem(
            key,
            named,
            "altered: the manifest does not link to the manifest before it",
        )
    if manifest.first_prev_hash != walk.hash:
        return BackupProblem(
            key,
            named,
            "altered: the segment does not link to the previous segment's head",
        )
    if manifest.segment_key not in segment_keys:
        return BackupProblem(
            manifest.segment_key, named, "missing: the segment was deleted"
        )
    problem = check_segment(
        manifest.segment_key, store.get(manifest.segment_key), manifest
    )
    if problem is not None:
        return problem

    walk.seq, walk.hash = manifest.last_seq, manifest.head_hash
    walk.manifest = checksum(raw)
    walk.segments += 1
    walk.boundaries[walk.seq] = walk.hash
    return None


def _check_anchor(
    walk: _Walk, expected_head: tuple[int, str], location: str
) -> BackupProblem | None:
    seq, digest = expected_head
    if seq > walk.seq:
        return BackupProblem(
            location,
            walk.seq + 1,
            f"truncated: the store ends at event {walk.seq} but events up to "
            f"{seq} were shipped (the newest segments were deleted)",
        )
    if seq in walk.boundaries and walk.boundaries[seq] != digest:
        return BackupProblem(
            location,
            seq,
            f"replaced: event {seq} should hash to {digest[:12]}…, the store "
            f"has {walk.boundaries[seq][:12]}…",
        )
    return None


def verify_store(
    store: BackupStore,
    *,
    expected_head: tuple[int, str] | None = None,
    snapshots: bool = True,
    wal: bool = True,
) -> VerifyReport:
    """Re-read every segment and manifest; report the first problem found.

    ``snapshots=False`` leaves the snapshots and base backups out: a restore
    checks each one itself and passes over a bad one for an older one.
    ``wal=False`` leaves the archived WAL out: a PostgreSQL restore checks
    the files it replays as it fetches them.
    """
    manifests = store.list(MANIFEST_FOLDER + "/")
    segment_keys = set(store.list(SEGMENT_FOLDER + "/"))
    walk = _Walk()
    problem: BackupProblem | None = None

    for key in manifests:
        problem = _check_manifest(store, key, walk, segment_keys)
        if problem is not None:
            break
    if problem is None:
        described = {f"{SEGMENT_FOLDER}/{seq:012d}.seg" for seq in _firsts(manifests)}
        orphans = sorted(segment_keys - described)
        if orphans:
            problem = BackupProblem(
                orphans[0], first_seq_of(orphans[0]), "has no manifest"
            )
    if problem is None and expected_head is not None:
        problem = _check_anchor(walk, expected_head, store.location)
    held = bases = 0
    if snapshots:
        held, snapshot_problem = _check_snapshots(store)
        problem = problem or snapshot_problem
        bases, base_problem = check_base_backups(store)
        problem = problem or _named(base_problem)
    wal_files = 0
    if wal:
        wal_files, wal_problem = check_wal_archive(store)
        problem = problem or _named(wal_problem)

    if problem is not None:
        logger.info("backup broken location=%s problem=%s", store.location, problem)
    return VerifyReport(
        store.location,
        walk.segments,
        walk.seq,
        (walk.seq, walk.hash),
        walk.manifest,
        problem,
        held,
        wal_files,
        bases,
    )


def _named(found: tuple[str, str] | None) -> BackupProblem | None:
    return BackupProblem(found[0], None, found[1]) if found else None


def _check_snapshots(store: BackupStore) -> tuple[int, BackupProblem | None]:
    """Count the snapshots whose bytes match their manifests; name the first bad."""
    manifests = snapshot_manifest_keys(store)
    described: set[str] = set()
    good = 0
    for key in manifests:
        try:
            manifest = SnapshotManifest.from_bytes(store.get(key))
        except ValueError as exc:
            return good, BackupProblem(
                key, None, f"altered: the snapshot manifest is unreadable, {exc}"
            )
        if manifest.key != key:
            return good, BackupProblem(
                key, None, f"moved: the manifest describes {manifest.object_key}"
            )
        described.add(manifest.object_key)
        if not store.exists(manifest.object_key):
            return good, BackupProblem(
                manifest.object_key, None, "missing: the snapshot was deleted"
            )
        fault = check_snapshot_bytes(manifest, store.get(manifest.object_key))
        if fault is not None:
            return good, BackupProblem(manifest.object_key, None, fault)
        good += 1
    orphans = sorted(set(snapshot_object_keys(store)) - described)
    if orphans:
        return good, BackupProblem(orphans[0], None, "has no manifest")
    return good, None


def _firsts(manifest_keys: tuple[str, ...]) -> list[int]:
    return [seq for key in manifest_keys if (seq := first_seq_of(key)) is not None]


def require_intact(report: VerifyReport) -> VerifyReport:
    """Return the report, or raise ``BackupBroken`` naming its first problem."""
    problem = report.problem
    if problem is None:
        return report
    raise BackupBroken(
        f"The backup at {report.location} is broken at {problem}.",
        key=problem.key,
        seq=problem.seq,
    )
