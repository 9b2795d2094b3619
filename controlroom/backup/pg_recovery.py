"""Running a restored PostgreSQL data folder through recovery, and checking it.

The restored folder gets ``recovery.signal`` and recovery settings whose
``restore_command`` copies from a folder of WAL already checked
(:mod:`controlroom.backup.pg_restore`); with ``recovery_target_action =
'promote'`` the server leaves recovery at the end of the archive (or at
``recovery_target_time``) and takes writes. It is started on a port of
127.0.0.1 with its socket in a temporary folder, read once recovery has
ended, and stopped again.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from controlroom.backup.pg_tools import as_server_user, give_to_server_user, run_tool
from controlroom.db import create_db_engine
from controlroom.errors import BackupError, RestoreRefused

RECOVERY_SECONDS = 900.0


def recovery_settings(staging: Path, *, until: datetime | None) -> str:
    """The lines appended to postgresql.auto.conf for this recovery."""
    lines = [
        "# controlroom backup restore: recover from the staged WAL, then promote",
        f'restore_command = \'cp "{staging}/%f" "%p"\'',
        "recovery_target_timeline = 'latest'",
        "recovery_target_action = 'promote'",
    ]
    if until is not None:
        lines.append(f"recovery_target_time = '{until.isoformat()}'")
    # The copy keeps the primary's archive_command: once promoted it would
    # archive its new timeline into the production store, and the next
    # restore with recovery_target_timeline = 'latest' would follow the
    # copy. Last in postgresql.auto.conf, so it wins over earlier lines.
    lines.append("archive_mode = off")
    return "\n".join(lines) + "\n"


ARCHIVING_OFF_NOTE = (
    "WAL archiving is off on the restored server (archive_mode = off in "
    "postgresql.auto.conf), so it cannot write into the production archive. "
    "If this copy becomes the new primary, turn it back on with the lines "
    "from 'controlroom backup wal-settings'."
)


@dataclass(frozen=True)
class Recovered:
    head: tuple[int, str]
    hash_at_shipped: str | None
    parcels: int


def recover(
    folder: Path,
    *,
    pg_bin: Path,
    port: int,
    url: str,
    shipped_seq: int,
) -> Recovered:
    """Start the restored server, wait for recovery to end, read, stop it."""
    sockets = Path(tempfile.mkdtemp(prefix="controlroom-restore-"))
    give_to_server_user(sockets)
    log = sockets / "server.log"
    options = (
        f"-c port={port} -c listen_addresses=127.0.0.1 "
        f"-c unix_socket_directories={sockets}"
    )
    pg_ctl = str(pg_bin / "pg_ctl")
    try:
        try:
            run_tool(
                as_server_user(
                    [
                        *(pg_ctl, "-D", str(folder), "-o", options, "-l", str(log)),
                        *("-w", "-t", str(int(RECOVERY_SECONDS)), "start"),
                    ]
                ),
                what="start the restored server",
            )
        except BackupError as exc:
            raise RestoreRefused(f"{exc}; {_log_tail(log)}") from exc
        try:
            engine = create_db_engine(url)
            try:
                return read_after_recovery(
                    engine, folder, shipped_seq, log, seconds=RECOVERY_SECONDS
                )
            finally:
                engine.dispose()
        finally:
            run_tool(
                as_server_user([pg_ctl, "-D", str(folder), "-m", "fast", "-w", "stop"]),
                what="stop the restored server",
            )
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def read_after_recovery(
    engine: Engine, folder: Path, shipped_seq: int, log: Path, *, seconds: float
) -> Recovered:
    """Wait for the server in ``folder`` to promote, then read its journal head.

    Refuses when the server stops on its own (recovery ended before its
    target: PostgreSQL exits with FATAL) or ``seconds`` pass first.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            with engine.connect() as connection:
                recovering = connection.execute(
                    text("SELECT pg_is_in_recovery()")
                ).scalar_one()
                if not recovering:
                    row = connection.execute(
                        text("SELECT seq, hash FROM journal_head WHERE id = 1")
                    ).one_or_none()
                    at_shipped = connection.execute(
                        text("SELECT hash FROM journal_events WHERE seq = :seq"),
                        {"seq": shipped_seq},
                    ).scalar_one_or_none()
                    parcels = connection.execute(
                        text("SELECT count(*) FROM parcels")
                    ).scalar_one()
                    head = (int(row.seq), str(row.hash)) if row else (0, "")
                    return Recovered(head, at_shipped, int(parcels))
        except DBAPIError as exc:
            if not (folder / "postmaster.pid").exists():
                raise RestoreRefused(
                    f"The restored server stopped before recovery ended; "
                    f"{_log_tail(log)}"
                ) from exc
            if time.monotonic() > deadline:
                raise RestoreRefused(
                    f"The restored server cannot be read: {exc.orig}; {_log_tail(log)}"
                ) from exc
        if time.monotonic() > deadline:
            raise RestoreRefused(
                f"Recovery did not end within {seconds:g} s; {_log_tail(log)}"
            )
        time.sleep(0.2)


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "the server wrote no log"
    # The FATAL that ended recovery is followed by the shutdown lines.
    fatal = [line for line in lines[:-3] if "FATAL" in line or "PANIC" in line]
    return "the server log ends: " + " / ".join([*fatal[-2:], *lines[-3:]])


def check_heads(
    recovered: Recovered,
    shipped: tuple[int, str],
    *,
    until: datetime | None,
    hash_on_chain: str | None,
) -> None:
    """Refuse a restored journal that is behind the shipped one or off its chain.

    ``hash_on_chain`` is the shipped chain's hash of the restored head's
    event, for a restore stopped earlier on purpose (``until``).
    """
    seq, digest = recovered.head
    if seq < shipped[0] and until is None:
        raise RestoreRefused(
            f"The restored journal ends at event {seq}, the last shipped segment "
            f"at {shipped[0]}: events {seq + 1}..{shipped[0]} are in the journal "
            "segments but not in the archived WAL. Check the WAL archive "
            "(pg_stat_archiver) and restore again once it has caught up."
        )
    if seq < shipped[0] and hash_on_chain != digest:
        raise RestoreRefused(
            f"The restored journal's event {seq} is not the one in the shipped "
            "segments: the base backup or WAL is of another journal."
        )
    if seq >= shipped[0] and recovered.hash_at_shipped != shipped[1]:
        raise RestoreRefused(
            f"The restored journal's event {shipped[0]} is not the one in the "
            "shipped segments: the base backup or WAL is of another journal."
        )
