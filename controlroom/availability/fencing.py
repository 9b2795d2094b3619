"""Fencing an old PostgreSQL primary after a fail-over without Patroni.

Once the standby is promoted, the old primary must never take an order
again, or two servers accept writes and one of them is lost (split brain).
The runbook (deploy/patroni/RUNBOOK.md, "Fail-over without Patroni") fences
the old data folder *before* promoting: a ``standby.signal`` file makes the
server start in recovery, read-only, following the new primary
(PostgreSQL 15 manual, 27.2.2 "Standby Server Operation"). A writer whose
URL says ``target_session_attrs=read-write`` skips it. If its timeline has
diverged it cannot stream until ``pg_rewind`` rejoins it, but it still
cannot be written to.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

import psycopg

from controlroom.errors import AvailabilityError

logger = logging.getLogger(__name__)

SIGNAL = "standby.signal"
AUTO_CONF = "postgresql.auto.conf"


def fence_data_directory(data_dir: Path, *, new_primary_conninfo: str) -> Path:
    """Make a stopped old primary start only as a standby of the new primary.

    Writes ``standby.signal`` and points ``primary_conninfo`` at the new
    primary, keeping the folder's owner. Refuses a folder that is not a
    PostgreSQL data folder or whose server is still running (stop it first:
    fencing files do not stop a live primary). Returns the signal file.
    """
    if not (data_dir / "PG_VERSION").is_file():
        raise AvailabilityError(
            f"{data_dir} is not a PostgreSQL data folder (no PG_VERSION); name "
            "the old primary's data folder."
        )
    running = _running_postmaster(data_dir)
    if running is not None:
        raise AvailabilityError(
            f"The server in {data_dir} is still running (pid {running}). Stop it "
            f"first: pg_ctl -D {data_dir} stop -m immediate."
        )
    if "'" in new_primary_conninfo or "\n" in new_primary_conninfo:
        raise AvailabilityError(
            "The new primary's conninfo may not contain quotes or line breaks; "
            "give it as 'host=... port=... user=...'."
        )

    owner = data_dir.stat()
    signal = data_dir / SIGNAL
    signal.touch(mode=0o600)
    auto_conf = data_dir / AUTO_CONF
    with auto_conf.open("a", encoding="utf-8") as settings:
        # Later lines win in PostgreSQL's configuration files.
        settings.write(f"primary_conninfo = '{new_primary_conninfo}'\n")
        settings.write("recovery_target_timeline = 'latest'\n")
    for path in (signal, auto_conf):
        if os.geteuid() == 0:
            os.chown(path, owner.st_uid, owner.st_gid)

    shown = re.sub(r"password=\S+", "password=***", new_primary_conninfo)
    logger.warning("fenced old primary data_dir=%s follows=%s", data_dir, shown)
    return signal


def rejoin_as_standby(data_dir: Path, *, source_conninfo: str, pg_bin: Path) -> str:
    """Rewind a stopped, fenced old primary onto the new primary's timeline.

    Runs ``pg_rewind -R`` as the folder's owner. pg_rewind first finishes an
    interrupted server's crash recovery in single-user mode, which refuses
    to run with ``standby.signal`` present, so the signal is lifted for the
    rewind only: ``-R`` writes it back with the new primary's conninfo, and
    on failure it is put back, so the folder never loses its fence. Returns
    pg_rewind's report. A CHECKPOINT on the new primary comes first.
    """
    running = _running_postmaster(data_dir)
    if running is not None:
        raise AvailabilityError(
            f"The server in {data_dir} is running (pid {running}); stop it "
            "before rewinding."
        )
    _checkpoint(source_conninfo)

    signal = data_dir / SIGNAL
    owner = data_dir.stat()
    signal.unlink(missing_ok=True)
    argv = [
        str(pg_bin / "pg_rewind"),
        *("--target-pgdata", str(data_dir), "--source-server", source_conninfo),
        "--write-recovery-conf",
    ]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        user=owner.st_uid if os.geteuid() == 0 else None,
        group=owner.st_gid if os.geteuid() == 0 else None,
        extra_groups=[] if os.geteuid() == 0 else None,
        cwd="/",
    )
    if done.returncode != 0 or not signal.exists():
        signal.touch(mode=0o600)
        if os.geteuid() == 0:
            os.chown(signal, owner.st_uid, owner.st_gid)
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise AvailabilityError(
            f"pg_rewind could not rejoin {data_dir} "
            f"({lines[-1] if lines else 'no output'}); it stays fenced. "
            "Rebuild it as a standby with pg_basebackup."
        )
    logger.warning("rewound old primary data_dir=%s", data_dir)
    return done.stderr.strip()


def _checkpoint(conninfo: str) -> None:
    # pg_rewind reads the source's timeline from its control file, which a
    # just-promoted server updates only at its next checkpoint; without one
    # it reports "no rewind required" for a diverged target (PostgreSQL 15
    # manual, pg_rewind "Notes").
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as server:
            server.execute("CHECKPOINT")
    except psycopg.Error as exc:
        raise AvailabilityError(
            f"Cannot run CHECKPOINT on the new primary ({exc}); pg_rewind needs "
            "it right after a promotion. Check the conninfo and its role "
            "(superuser or pg_checkpoint)."
        ) from exc


def _running_postmaster(data_dir: Path) -> int | None:
    # postmaster.pid outlives a server killed with SIGKILL; only a live
    # process with that pid counts as running.
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first)
    except (FileNotFoundError, IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
