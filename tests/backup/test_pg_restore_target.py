"""Restore targets a PostgreSQL recovery can never reach, refused up front."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest

from controlroom.backup.pg_recovery import read_after_recovery
from controlroom.backup.pg_restore import restore_pgdata
from controlroom.backup.stores import LocalStore
from controlroom.config import Settings
from controlroom.db import create_db_engine, utcnow
from controlroom.errors import RestoreRefused


def test_a_restore_until_a_time_still_to_come_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", retention_days=30)
    target = tmp_path / "restored"
    target.mkdir()

    with pytest.raises(RestoreRefused, match=r"--until .* is later than now"):
        restore_pgdata(
            store,
            target,
            settings=Settings(data_dir=tmp_path),
            until=utcnow() + timedelta(minutes=5),
            start_port=1,
        )

    assert list(target.iterdir()) == []


def test_the_wait_for_recovery_refuses_once_the_server_has_stopped(
    tmp_path: Path,
) -> None:
    stopped = tmp_path / "restored"  # no postmaster.pid: the server is gone
    stopped.mkdir()
    log = tmp_path / "server.log"
    log.write_text(
        "LOG:  redo done\n"
        "FATAL:  recovery ended before configured recovery target was reached\n"
        "LOG:  startup process exited with exit code 1\n"
        "LOG:  shutting down due to startup process failure\n"
        "LOG:  database system is shut down\n"
    )
    engine = create_db_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x"
    )

    try:
        with pytest.raises(
            RestoreRefused,
            match=r"stopped before recovery ended; .* FATAL:  recovery ended before",
        ):
            read_after_recovery(engine, stopped, 1, log, seconds=20.0)
    finally:
        engine.dispose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
