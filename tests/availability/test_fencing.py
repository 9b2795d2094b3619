"""An old primary restarted after a fail-over acknowledges no order.

Both drills run without synchronous replication, so nothing but the fence
stops the old primary from taking writes: unfenced, it does, and orders
acknowledged by it are missing on the new primary.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import InternalError

from controlroom.availability.drill import DrillWriter, stored_keys
from controlroom.availability.fencing import (
    fence_data_directory,
    rejoin_as_standby,
)
from controlroom.errors import AvailabilityError
from tests.availability.clusters import (
    Pair,
    wait_until_caught_up,
    wait_until_streaming,
)


def server_port_and_role(url: str) -> tuple[int, bool]:
    engine = create_engine(url)
    with engine.connect() as connection:
        port, in_recovery = connection.execute(
            text("SELECT inet_server_port(), pg_is_in_recovery()")
        ).one()
    engine.dispose()
    return port, in_recovery


def fail_over(pair: Pair, *, fence: bool) -> DrillWriter:
    """Kill the primary, promote the standby, restart the old primary."""
    writer = DrillWriter(pair.multi_host_url, timeout=0.3)
    writer.prepare()
    assert writer.place("before-0")
    wait_until_caught_up(pair.primary)  # asynchronous: the table must be there

    pair.primary.stop("immediate")
    if fence:
        fence_data_directory(
            pair.primary.data, new_primary_conninfo=pair.standby.conninfo
        )
    pair.standby.promote()
    pair.standby.settings(synchronous_standby_names="")
    pair.primary.start()
    return writer


@pytest.mark.postgres
def test_a_fenced_old_primary_acknowledges_no_order(async_pair: Pair) -> None:
    writer = fail_over(async_pair, fence=True)

    # The old primary is listed first in the writer's URL.
    told = [writer.place(f"after-{n}") for n in range(5)]
    writer.close()

    assert told == [True] * 5
    assert server_port_and_role(async_pair.primary.url) == (
        async_pair.primary.port,
        True,
    )
    on_new_primary = set(stored_keys(async_pair.standby.url))
    assert set(writer.acknowledged) <= on_new_primary
    # Whatever the old primary holds it got by following the new one.
    assert set(stored_keys(async_pair.primary.url)) <= on_new_primary
    with pytest.raises(InternalError, match="read-only transaction"):
        DrillWriter(async_pair.primary.url, timeout=0.3)._insert("direct")


@pytest.mark.postgres
def test_an_unfenced_old_primary_takes_orders_the_new_primary_lacks(
    async_pair: Pair,
) -> None:
    writer = fail_over(async_pair, fence=False)

    told = [writer.place(f"after-{n}") for n in range(3)]
    writer.close()

    assert told == [True] * 3
    assert server_port_and_role(async_pair.primary.url) == (
        async_pair.primary.port,
        False,
    )
    lost = set(writer.acknowledged) - set(stored_keys(async_pair.standby.url))
    assert lost == {"after-0", "after-1", "after-2"}


def test_fencing_refuses_a_folder_that_is_not_a_data_folder(tmp_path: Path) -> None:
    with pytest.raises(AvailabilityError, match="not a PostgreSQL data folder"):
        fence_data_directory(tmp_path, new_primary_conninfo="host=127.0.0.1")


def test_fencing_refuses_a_data_folder_whose_server_still_runs(
    tmp_path: Path,
) -> None:
    (tmp_path / "PG_VERSION").write_text("15\n")
    (tmp_path / "postmaster.pid").write_text(f"{os.getpid()}\n")

    with pytest.raises(AvailabilityError, match="still running"):
        fence_data_directory(tmp_path, new_primary_conninfo="host=127.0.0.1")
    assert not (tmp_path / "standby.signal").exists()


def test_fencing_a_stopped_folder_writes_the_signal_and_the_new_primary(
    tmp_path: Path,
) -> None:
    (tmp_path / "PG_VERSION").write_text("15\n")
    (tmp_path / "postgresql.auto.conf").write_text("# kept\n")

    signal = fence_data_directory(tmp_path, new_primary_conninfo="host=h port=5")

    assert signal == tmp_path / "standby.signal"
    assert signal.exists()
    settings = (tmp_path / "postgresql.auto.conf").read_text()
    assert settings.startswith("# kept\n")
    assert "primary_conninfo = 'host=h port=5'\n" in settings


def test_fencing_refuses_a_conninfo_with_quotes(tmp_path: Path) -> None:
    (tmp_path / "PG_VERSION").write_text("15\n")

    with pytest.raises(AvailabilityError, match="may not contain quotes"):
        fence_data_directory(tmp_path, new_primary_conninfo="password='x'")


@pytest.mark.postgres
def test_a_fenced_old_primary_rejoins_as_a_standby_after_pg_rewind(
    async_pair: Pair,
) -> None:
    primary, standby = async_pair.primary, async_pair.standby
    writer = DrillWriter(async_pair.multi_host_url, timeout=0.3)
    writer.prepare()
    assert writer.place("before-0")
    wait_until_caught_up(primary)
    standby.stop()
    assert writer.place("diverged")  # on the old primary only
    primary.stop("immediate")
    fence_data_directory(primary.data, new_primary_conninfo=standby.conninfo)
    standby.start()
    standby.promote()
    standby.settings(synchronous_standby_names="")

    report = rejoin_as_standby(
        primary.data, source_conninfo=standby.conninfo, pg_bin=primary.pg_bin
    )
    primary.start()
    wait_until_streaming(standby, primary.name)
    assert writer.place("after-rejoin")
    writer.close()
    wait_until_caught_up(standby)

    assert "Done!" in report
    assert server_port_and_role(primary.url) == (primary.port, True)
    assert sorted(stored_keys(primary.url)) == ["after-rejoin", "before-0"]


def test_fencing_logs_the_new_primary_without_its_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "PG_VERSION").write_text("15\n")

    fence_data_directory(tmp_path, new_primary_conninfo="host=h password=s3cret")

    assert "password=***" in caplog.text
    assert "s3cret" not in caplog.text
