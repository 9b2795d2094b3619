"""A primary and a streaming standby on 127.0.0.1, for the fail-over drills.

Like ``tests.postgres_cluster``: the servers run as the ``postgres`` user in
a temporary folder that is removed afterwards. The standby is cloned with
``pg_basebackup -R`` and names itself with ``cluster_name``, which is the
``application_name`` the primary's ``synchronous_standby_names`` matches.
Data checksums are on, as pg_rewind needs them (or ``wal_log_hints``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.postgres_cluster import _free_port

USER = "controlroom"


def as_postgres(argv: list[str]) -> list[str]:
    """Run ``argv`` as the postgres user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def run(argv: list[str]) -> str:
    """Run a PostgreSQL tool as the postgres user, failing loudly with its output."""
    done = subprocess.run(as_postgres(argv), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr or done.stdout}")
    return done.stdout


@dataclass
class Member:
    """One PostgreSQL server of the pair: its data folder and port."""

    name: str
    pg_bin: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / self.name

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/postgres"

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.folder} -c cluster_name={self.name} "
            "-c fsync=off -c wal_sender_timeout=5s "
            "-c wal_receiver_status_interval=1s -c wal_retrieve_retry_interval=200ms"
        )
        try:
            run(
                [
                    str(self.pg_bin / "pg_ctl"),
                    *("-D", str(self.data), "-o", options),
                    *("-l", str(self.folder / f"{self.name}.log"), "-w", "start"),
                ]
            )
        except RuntimeError as exc:
            tail = "\n".join(self.log().splitlines()[-12:])
            raise RuntimeError(f"{exc}\n{self.name}.log ends:\n{tail}") from exc

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` cleanly, ``immediate`` like a crash."""
        run([str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"])

    def promote(self) -> None:
        """Promote a standby and wait until it takes writes."""
        run([str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-w", "promote"])

    def settings(self, **values: str) -> None:
        """Set parameters with ALTER SYSTEM and reload them."""
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for name, value in values.items():
                connection.execute(text(f"ALTER SYSTEM SET {name} = '{value}'"))
            connection.execute(text("SELECT pg_reload_conf()"))
        engine.dispose()

    def log(self) -> str:
        return (self.folder / f"{self.name}.log").read_text(errors="replace")


@dataclass
class Pair:
    """A primary and its streaming standby."""

    primary: Member
    standby: Member

    @property
    def multi_host_url(self) -> str:
        """Both servers, old primary first, for whichever takes writes."""
        return (
            f"postgresql+psycopg://{USER}@127.0.0.1:{self.primary.port},"
            f"127.0.0.1:{self.standby.port}/postgres"
            "?target_session_attrs=read-write&connect_timeout=2"
        )


def wait_until_streaming(
    primary: Member, standby_name: str, *, synchronous: bool = False
) -> None:
    """Wait (a few seconds at most) until the standby streams from the primary.

    A synchronous standby counts as such only after its first report of
    what it flushed; until then the primary lists it as ``async``.
    """
    wanted = ("streaming", "sync" if synchronous else "async")
    engine = create_engine(primary.url)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                state = connection.execute(
                    text(
                        "SELECT state, sync_state FROM pg_stat_replication "
                        "WHERE application_name = :name"
                    ),
                    {"name": standby_name},
                ).first()
            if state is not None and tuple(state) == wanted:
                return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise RuntimeError(f"{standby_name} never started streaming:\n{primary.log()}")


def wait_until_caught_up(primary: Member) -> None:
    """Wait until every standby has replayed all WAL the primary has written."""
    engine = create_engine(primary.url)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                behind = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_replication "
                        "WHERE replay_lsn IS NULL "
                        "OR replay_lsn < pg_current_wal_lsn()"
                    )
                ).scalar()
            if behind == 0:
                return
            time.sleep(0.02)
        with engine.connect() as connection:
            state = connection.execute(
                text(
                    "SELECT application_name, state, replay_lsn, "
                    "pg_current_wal_lsn() FROM pg_stat_replication"
                )
            ).all()
    finally:
        engine.dispose()
    raise RuntimeError(f"the standby did not catch up within 10 s: {state}")


@contextlib.contextmanager
def replicated_pair(pg_bin: Path, *, synchronous: bool) -> Iterator[Pair]:
    """Start a primary and a standby; with ``synchronous`` the primary waits for it."""
    folder = Path(tempfile.mkdtemp(prefix="controlroom-ha-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    primary = Member("node_a", pg_bin, folder, _free_port())
    standby = Member("node_b", pg_bin, folder, _free_port())
    try:
        run(
            [
                str(pg_bin / "initdb"),
                *("-D", str(primary.data), "-U", USER),
                *("--auth=trust", "--no-sync", "-E", "UTF8", "--data-checksums"),
            ]
        )
        primary.start()
        # Kept in postgresql.auto.conf (read by pg_rewind's single-user
        # recovery too): the rewind needs WAL back to the fork's checkpoint.
        primary.settings(wal_keep_size="64MB")
        if synchronous:
            primary.settings(
                synchronous_standby_names=f"FIRST 1 ({standby.name})",
                synchronous_commit="on",
            )
        run(
            [
                str(pg_bin / "pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(primary.port), "-U", USER),
                *("-D", str(standby.data), "-R", "-X", "stream", "-c", "fast"),
                "--no-sync",
            ]
        )
        standby.start()
        wait_until_streaming(primary, standby.name, synchronous=synchronous)
        yield Pair(primary, standby)
    finally:
        for member in (primary, standby):
            if member.data.exists():
                subprocess.run(
                    as_postgres(
                        [
                            str(pg_bin / "pg_ctl"),
                            *("-D", str(member.data), "-m", "immediate", "stop"),
                        ]
                    ),
                    capture_output=True,
                    check=False,
                )
        shutil.rmtree(folder, ignore_errors=True)
