"""A PostgreSQL 15 cluster that archives its WAL through ``controlroom``.

As in ``tests.postgres_cluster``, the server runs as the ``postgres`` user
in a temporary folder that user owns, removed afterwards. Its
``archive_command`` is ``controlroom backup wal-push``, run by the server
as the postgres user, into a store folder inside that folder.

That user must be able to run the control room. When the virtual
environment's interpreter is out of its reach (on this machine it lives
under /root, which only root may enter), the command runs the same code
with the system's Python of the same version and this environment's
packages on its path; the tests are skipped when that cannot run either
(no such Python, or a checkout the postgres user cannot read).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from controlroom.backup.pg_tools import as_server_user, give_to_server_user
from controlroom.backup.stores import LocalStore
from tests.postgres_cluster import _free_port

USER = "controlroom"
REPOSITORY = Path(__file__).resolve().parents[2]


def run(argv: list[str]) -> str:
    """Run a tool as the postgres user; fail loudly with its output."""
    done = subprocess.run(as_server_user(argv), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr or done.stdout}")
    return done.stdout


def controlroom_for_server(folder: Path) -> list[str] | None:
    """A command the postgres user can run for ``controlroom``; None if none."""
    script = Path(sys.executable).parent / "controlroom"
    probe = subprocess.run(
        as_server_user([str(script), "--help"]), capture_output=True, check=False
    )
    if probe.returncode == 0:
        return [str(script)]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin") / version
    if not system.exists():
        return None
    wrapper = folder / "controlroom-for-postgres"
    path = os.pathsep.join([sysconfig.get_paths()["purelib"], str(REPOSITORY)])
    wrapper.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(path)} exec {system} "
        "-c 'from controlroom.cli import run; run()' \"$@\"\n"
    )
    wrapper.chmod(0o755)
    probe = subprocess.run(
        as_server_user([str(wrapper), "--help"]), capture_output=True, check=False
    )
    return [str(wrapper)] if probe.returncode == 0 else None


@dataclass
class ArchivingCluster:
    """The running server, its folder and the command it archives with."""

    pg_bin: Path
    folder: Path
    port: int
    command: list[str]

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres", *, port: int | None = None) -> str:
        port = port or self.port
        return f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{database}"

    def new_store(self, name: str) -> LocalStore:
        """A store folder the server's archive_command may write to."""
        store = LocalStore(self.folder / name, retention_days=30)
        give_to_server_user(store.root)
        return store

    def archive_to(self, location: str) -> None:
        """Point archive_command at ``location`` and reload."""
        words = [*self.command, "backup", "wal-push", "--store", location]
        command = " ".join(shlex.quote(w) for w in words) + " %p %f"
        self.sql(f"ALTER SYSTEM SET archive_command = '{command}'")
        self.sql("SELECT pg_reload_conf()")

    def sql(self, statement: str) -> object:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                result = connection.execute(text(statement))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()

    def switch_wal(self, *, timeout: float = 20.0) -> str:
        """Close the current WAL segment and wait until it is archived."""
        name = str(self.sql("SELECT pg_walfile_name(pg_switch_wal())"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.sql("SELECT last_archived_wal FROM pg_stat_archiver")
            if seen is not None and str(seen) >= name:
                return name
            time.sleep(0.1)
        raise AssertionError(f"{name} was not archived within {timeout} s")

    def switch_wal_refused(self, *, timeout: float = 20.0) -> str:
        """Close the current WAL segment; wait for the archiver's next failure."""
        before = int(str(self.sql("SELECT failed_count FROM pg_stat_archiver")))
        self.sql("SELECT pg_switch_wal()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            failed = int(str(self.sql("SELECT failed_count FROM pg_stat_archiver")))
            if failed > before:
                return str(self.sql("SELECT last_failed_wal FROM pg_stat_archiver"))
            time.sleep(0.1)
        raise AssertionError(f"the archiver did not fail within {timeout} s")

    def free_port(self) -> int:
        return _free_port()

    def start(self, data: Path, port: int) -> None:
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder}"
        )
        log = self.folder / f"{data.name}.log"
        pg_ctl = str(self.pg_bin / "pg_ctl")
        run([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"])

    def stop(self, data: Path) -> None:
        subprocess.run(
            as_server_user(
                [
                    str(self.pg_bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-m",
                    "immediate",
                    "stop",
                ]
            ),
            capture_output=True,
            check=False,
        )


@contextlib.contextmanager
def archiving_cluster(pg_bin: Path) -> Iterator[ArchivingCluster | None]:
    """Start a cluster with archive_mode on; None if it cannot run controlroom."""
    folder = Path(tempfile.mkdtemp(prefix="controlroom-pgwal-"))
    folder.chmod(0o755)
    command = controlroom_for_server(folder)
    give_to_server_user(folder)
    if command is None:
        shutil.rmtree(folder, ignore_errors=True)
        yield None
        return
    cluster = ArchivingCluster(pg_bin, folder, _free_port(), command)
    started: list[Path] = []
    try:
        initdb = str(pg_bin / "initdb")
        data = str(cluster.data)
        run([initdb, "-D", data, "-U", USER, "--auth=trust", "--no-sync", "-E", "UTF8"])
        with open(cluster.data / "postgresql.conf", "a") as conf:
            conf.write(
                "wal_level = replica\narchive_mode = on\n"
                "archive_command = '/bin/false'\nfsync = off\n"
                "synchronous_commit = off\nmax_wal_senders = 4\n"
            )
        cluster.start(cluster.data, cluster.port)
        started.append(cluster.data)
        yield cluster
    finally:
        for data in (*started, *cluster.folder.glob("restored*")):
            cluster.stop(data)
        time.sleep(0.05)
        shutil.rmtree(folder, ignore_errors=True)
