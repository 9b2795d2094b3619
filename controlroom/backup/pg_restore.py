"""Restoring a PostgreSQL data folder: a base backup plus the archived WAL.

The steps, each refusing with the reason named:

1. The target folder does not exist or is empty.
2. The journal's segment chain verifies
   (:func:`controlroom.backup.verify.verify_store`).
3. The newest base backup whose bytes match its manifest (and, with
   ``until``, that was taken before that time) is chosen; others are named.
4. Every archived WAL file from its start on, and every timeline history,
   is fetched, checked against its manifest and staged beside the target;
   an altered file or a segment missing between two archived ones refuses
   the restore, since recovery would stop early there and quietly lose
   what came after. The server's ``restore_command`` only copies from the
   staged folder: a WAL file that fails its checksum is named before the
   server starts, never read.
5. The tar is unpacked and checked by ``pg_verifybackup``; ``recovery.signal``
   and the recovery settings are written (promote at the end; optionally a
   ``recovery_target_time``, never later than now; ``archive_mode = off``
   so the copy never archives into the production store).
6. With a port, the server is started, recovery runs to its end and the
   server promotes; then the restored journal head is compared with the
   last shipped journal segment: behind it, or off its chain, refuses.

A refused restore leaves the target folder empty.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
import time
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from controlroom.backup.pg_base import (
    BaseBackupManifest,
    base_manifest_keys,
    check_base_bytes,
    unpack,
)
from controlroom.backup.pg_recovery import (
    ARCHIVING_OFF_NOTE,
    Recovered,
    check_heads,
    recover,
    recovery_settings,
)
from controlroom.backup.pg_tools import find_pg_bin, give_to_server_user, run_tool
from controlroom.backup.pg_wal import (
    WalManifest,
    archived_names,
    check_wal_object,
    first_gap,
    segment_number,
    wal_manifest_key,
    wal_object_key,
    write_file,
)
from controlroom.backup.restore import SegmentChain
from controlroom.backup.stores import BackupStore
from controlroom.backup.verify import verify_store
from controlroom.config import Settings
from controlroom.db import utcnow
from controlroom.errors import BackupBroken, BackupError, RestoreRefused

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PgRestoreReport:
    """What a PostgreSQL restore used, staged and checked."""

    target: str
    location: str
    base: BaseBackupManifest
    passed_over: tuple[str, ...]
    wal_files: int
    wal_staged_in: str
    until: datetime | None
    started: bool
    head_restored: tuple[int, str] | None
    head_shipped: tuple[int, str]
    parcels: int | None
    seconds: float
    steps: tuple[tuple[str, float], ...] = ()
    archiving_note: str = ARCHIVING_OFF_NOTE

    @property
    def ahead(self) -> int:
        """Events the restored database holds beyond the last shipped segment."""
        if self.head_restored is None:
            return 0
        return max(0, self.head_restored[0] - self.head_shipped[0])


def refuse_used_folder(folder: Path) -> None:
    """Refuse a target that is a file or a folder with anything in it."""
    if folder.exists() and not folder.is_dir():
        raise RestoreRefused(f"{folder} is a file, not a folder for a data folder.")
    if folder.is_dir() and any(folder.iterdir()):
        raise RestoreRefused(
            f"{folder} is not empty; a restore never overwrites a data folder. "
            "Move it aside or name a new folder."
        )


def refuse_future_target(until: datetime | None, *, now: datetime) -> None:
    """Refuse a recovery target later than now: recovery could never reach it.

    PostgreSQL ends such a recovery with FATAL "recovery ended before
    configured recovery target was reached" and stops.
    """
    if until is not None and until > now:
        raise RestoreRefused(
            f"--until {until.isoformat()} is later than now ({now:%H:%M:%S} UTC); "
            "recovery can only stop at a time the archived WAL has passed. "
            "Leave --until out to restore everything archived."
        )


def choose_base_backup(
    store: BackupStore, *, until: datetime | None
) -> tuple[BaseBackupManifest, bytes, tuple[str, ...]]:
    """The newest base backup whose bytes hold (taken before ``until``)."""
    passed_over: list[str] = []
    for key in reversed(base_manifest_keys(store)):
        try:
            manifest = BaseBackupManifest.from_bytes(store.get(key))
        except ValueError as exc:
            passed_over.append(f"{key}: the manifest is unreadable, {exc}")
            continue
        if manifest.key != key:
            passed_over.append(f"{key}: moved, it describes {manifest.object_key}")
            continue
        if until is not None and datetime.fromisoformat(manifest.created_at) > until:
            passed_over.append(f"{manifest.object_key}: taken after {until:%H:%M:%S}")
            continue
        try:
            data = store.get(manifest.object_key)
        except BackupError:
            passed_over.append(f"{manifest.object_key}: missing")
            continue
        fault = check_base_bytes(manifest, data)
        if fault is not None:
            passed_over.append(f"{manifest.object_key}: {fault}")
            continue
        return manifest, data, tuple(passed_over)
    if not passed_over:
        raise RestoreRefused(
            f"The backup at {store.location} holds no PostgreSQL base backup; take "
            "one with 'controlroom backup snapshot' on the PostgreSQL database."
        )
    raise RestoreRefused(
        f"No base backup in {store.location} can be restored: "
        + "; ".join(passed_over),
        key=passed_over[0].partition(":")[0],
    )


def stage_wal(store: BackupStore, base: BaseBackupManifest, folder: Path) -> int:
    """Fetch, check and write the WAL recovery may ask for; how many files."""
    start = segment_number(base.start_wal)
    staged = 0
    names: list[str] = []
    for name in archived_names(store):
        if name.endswith((".partial", ".backup")):
            continue  # recovery never asks for these
        if not name.endswith(".history") and segment_number(name) < start:
            continue
        manifest = WalManifest.from_bytes(store.get(wal_manifest_key(name)))
        data, fault = check_wal_object(manifest, store.get(wal_object_key(name)))
        if fault is not None:
            raise BackupBroken(
                f"Restore refused: {wal_object_key(name)} is {fault}.",
                key=wal_object_key(name),
                seq=None,
            )
        write_file(folder / name, data)
        staged += 1
        names.append(name)
    gap = first_gap(names)
    if gap is not None:
        raise BackupBroken(
            f"Restore refused: WAL {gap[0]} is missing from {store.location} "
            "between archived files; recovery would stop before it.",
            key=wal_object_key(gap[0]),
            seq=None,
        )
    return staged


def unpack_base(data: bytes, folder: Path, base: BaseBackupManifest) -> None:
    """Unpack a base backup's tar into ``folder``."""
    try:
        unpack(data, folder)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise RestoreRefused(
            f"The base backup {base.object_key} does not unpack: {exc}",
            key=base.object_key,
        ) from exc


def shipped_chain(store: BackupStore) -> SegmentChain:
    """The verified journal chain to check the restore against; else refuse."""
    verified = verify_store(store, snapshots=False, wal=False)
    if verified.problem is not None:
        problem = verified.problem
        raise BackupBroken(
            f"Restore refused: the backup at {store.location} is broken at {problem}.",
            key=problem.key,
            seq=problem.seq,
        )
    chain = SegmentChain(store)
    if chain.head[0] == 0:
        raise RestoreRefused(
            f"The backup at {store.location} holds no shipped journal to check the "
            "restore against; run 'controlroom backup ship' beside the database."
        )
    return chain


class _Steps:
    """How long each step of a restore took, for the report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._at = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = now - self._at
        self._at = now


def restore_pgdata(
    store: BackupStore,
    folder: Path,
    *,
    settings: Settings,
    until: datetime | None = None,
    start_port: int | None = None,
    check_url: str | None = None,
) -> PgRestoreReport:
    """Rebuild a PostgreSQL data folder from the store; refuse on any fault."""
    began = time.perf_counter()
    folder = folder.resolve()
    refuse_used_folder(folder)
    refuse_future_target(until, now=utcnow())
    pg_bin = find_pg_bin(settings)
    steps = _Steps()

    # The journal chain is verified on one core while the base backup is
    # checked and unpacked on the other (hashing and zlib let go of the
    # interpreter lock); nothing starts before both have held.
    with ThreadPoolExecutor(max_workers=1) as pool:
        verifying: Future[SegmentChain] = pool.submit(shipped_chain, store)
        created = not folder.exists()
        staging = Path(
            tempfile.mkdtemp(prefix=f".{folder.name}.wal-", dir=folder.parent)
        )
        try:
            base, data, passed_over = choose_base_backup(store, until=until)
            steps.done("choose and check the base backup")
            wal_files = stage_wal(store, base, staging)
            steps.done("fetch and check the WAL")
            folder.mkdir(mode=0o700, exist_ok=True)
            unpack_base(data, folder, base)
            del data
            steps.done("unpack")
            run_tool(
                [str(pg_bin / "pg_verifybackup"), "--quiet", str(folder)],
                what="check the unpacked base backup",
            )
            steps.done("pg_verifybackup")
            chain = verifying.result()
            steps.done("verify the journal chain (rest)")
            recovered = _prepare_and_recover(
                folder,
                staging,
                base,
                chain,
                pg_bin=pg_bin,
                until=until,
                start_port=start_port,
                check_url=check_url,
            )
            steps.done("start, recover, promote, compare, stop")
        except BaseException:
            verifying.cancel()
            shutil.rmtree(staging, ignore_errors=True)
            _empty(folder, remove=created)
            raise

    seconds = time.perf_counter() - began
    logger.info(
        "restored pgdata=%s base=%s wal=%s seconds=%.2f",
        folder,
        base.object_key,
        wal_files,
        seconds,
    )
    return PgRestoreReport(
        target=str(folder),
        location=store.location,
        base=base,
        passed_over=passed_over,
        wal_files=wal_files,
        wal_staged_in="" if recovered else str(staging),
        until=until,
        started=recovered is not None,
        head_restored=recovered.head if recovered else None,
        head_shipped=chain.head,
        parcels=recovered.parcels if recovered else None,
        seconds=seconds,
        steps=tuple(steps.seconds.items()),
    )


def _prepare_and_recover(
    folder: Path,
    staging: Path,
    base: BaseBackupManifest,
    chain: SegmentChain,
    *,
    pg_bin: Path,
    until: datetime | None,
    start_port: int | None,
    check_url: str | None,
) -> Recovered | None:
    (folder / "recovery.signal").touch()
    with open(folder / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
        conf.write(recovery_settings(staging, until=until))
    folder.chmod(0o700)
    give_to_server_user(folder)
    give_to_server_user(staging)
    if start_port is None:
        return None

    user, name = base.database_user or "postgres", base.database_name
    url = check_url or f"postgresql+psycopg://{user}@127.0.0.1:{start_port}/{name}"
    recovered = recover(
        folder, pg_bin=pg_bin, port=start_port, url=url, shipped_seq=chain.head[0]
    )
    check_heads(
        recovered,
        chain.head,
        until=until,
        hash_on_chain=chain.hash_of(recovered.head[0]),
    )
    shutil.rmtree(staging, ignore_errors=True)
    return recovered


def _empty(folder: Path, *, remove: bool) -> None:
    if not folder.is_dir():
        return
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
