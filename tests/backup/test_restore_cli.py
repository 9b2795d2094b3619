"""``controlroom backup snapshot``, ``restore`` and ``drill``, from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore
from controlroom.db import create_db_engine
from tests.backup.order_book import order_rows, place_orders
from tests.test_cli import Invoke, assert_one_line_error


@pytest.fixture
def snapshotted(engine: Engine, local_store: LocalStore, invoke: Invoke) -> Engine:
    """Two orders, snapshotted by the command into a local folder."""
    place_orders(engine, 2)
    outcome = invoke(
        "backup", "snapshot", "--store", local_store.location,
        "--database-url", str(engine.url),
    )  # fmt: skip
    assert outcome.code == 0, outcome.err
    assert "Snapshot stored as snapshots/000000000006-" in outcome.out
    assert "journal head 6" in outcome.out
    return engine


def test_restore_prints_the_counts_and_the_heads(
    snapshotted: Engine, local_store: LocalStore, invoke: Invoke, tmp_path: Path
) -> None:
    place_orders(snapshotted, 1, first=5)
    Shipper(snapshotted, local_store).ship_once()
    target = tmp_path / "restored.sqlite3"

    outcome = invoke(
        "backup", "restore", "--to", f"sqlite:///{target}",
        "--store", local_store.location,
    )  # fmt: skip

    assert outcome.code == 0, outcome.err
    assert "from snapshots/000000000006-" in outcome.out
    assert "│ parcels " in outcome.out
    assert "Re-applied to their tables: ParcelOrdered 1, PartyRegistered 2" in (
        outcome.out
    )
    assert "In the journal, not re-applied to its tables: ComponentAdded 1" in (
        outcome.out
    )
    assert "(same)" in outcome.out
    restored = create_db_engine(f"sqlite:///{target}")
    assert order_rows(restored) == order_rows(snapshotted)
    restored.dispose()


def test_restore_onto_a_used_file_is_one_line(
    snapshotted: Engine, local_store: LocalStore, invoke: Invoke
) -> None:
    outcome = invoke(
        "backup", "restore", "--to", str(snapshotted.url),
        "--store", local_store.location,
    )  # fmt: skip

    assert_one_line_error(outcome, "exists and is not empty")


def test_a_restore_drill_from_the_shell_reports_nothing_lost(
    snapshotted: Engine, local_store: LocalStore, invoke: Invoke
) -> None:
    outcome = invoke(
        "backup", "drill", "restore", "--store", local_store.location,
        "--database-url", str(snapshotted.url),
    )  # fmt: skip

    assert outcome.code == 0, outcome.err
    assert "Drill 1 (restore) restored in " in outcome.out
    assert "lost events: 0" in outcome.out


def test_the_ransomware_drill_without_i_mean_it_is_one_line(
    snapshotted: Engine, local_store: LocalStore, invoke: Invoke
) -> None:
    outcome = invoke(
        "backup", "drill", "ransomware", "--store", local_store.location,
        "--database-url", str(snapshotted.url),
    )  # fmt: skip

    assert_one_line_error(outcome, "pass --i-mean-it")
