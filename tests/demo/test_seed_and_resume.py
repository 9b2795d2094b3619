"""Seeding refuses to overwrite, resets on request, and a stopped day resumes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.db import create_db_engine
from controlroom.demo.datafiles import DEMO_DATA
from controlroom.demo.day import OSLO
from controlroom.demo.simulator import run_simulation
from controlroom.demo.world import seed_demo_world
from controlroom.errors import DemoWorldError
from controlroom.journal import verify_journal
from controlroom.journal.models import JournalEvent
from controlroom.models import Component, Invoice, Parcel, Payment
from controlroom.payments.tracking.models import TrackedBlock
from controlroom.schema import upgrade_database
from tests.demo.conftest import DEMO_DAY, PlayedDay

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=OSLO)


def _day_after_seeding(engine: Engine) -> list[tuple[Any, ...]]:
    """The journal from the seeding event on: kind, subject, when."""
    with Session(engine) as session:
        seeded = session.scalar(
            select(JournalEvent.seq).where(JournalEvent.kind == "DemoDaySeeded")
        )
        rows = session.execute(
            select(JournalEvent.kind, JournalEvent.subject, JournalEvent.occurred_at)
            .where(JournalEvent.seq >= seeded)
            .order_by(JournalEvent.seq)
        ).all()
    return [tuple(row) for row in rows]


def _outcomes(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        parcels = session.execute(
            select(
                Parcel.id, Parcel.status, Parcel.picked_up_at, Parcel.delivered_at
            ).order_by(Parcel.id)
        ).all()
        invoices = session.execute(
            select(
                Invoice.id, Invoice.status, Invoice.exception, Invoice.paid_sat
            ).order_by(Invoice.id)
        ).all()
    return [tuple(row) for row in [*parcels, *invoices]]


def _tracked_chain(engine: Engine) -> tuple[list[Any], list[Any]]:
    """The blocks the tracker processed and the payments it recorded."""
    with Session(engine) as session:
        blocks = session.execute(
            select(
                TrackedBlock.height, TrackedBlock.block_hash, TrackedBlock.active
            ).order_by(TrackedBlock.height, TrackedBlock.id)
        ).all()
        payments = session.execute(
            select(Payment.txid, Payment.vout, Payment.amount_sat, Payment.seen_at)
            .where(Payment.txid.is_not(None))
            .order_by(Payment.txid, Payment.vout)
        ).all()
    return [tuple(b) for b in blocks], [tuple(p) for p in payments]


# The restarted simulator also rebuilds the same lab chain: the tracker
# continues on it without missing or repeating a block or a payment.
def test_a_day_stopped_at_noon_and_resumed_ends_as_one_played_through(
    played_demo_day: PlayedDay, engine: Engine, data_dir: Path
) -> None:
    seed_demo_world(engine, day=DEMO_DAY)

    first = run_simulation(engine, speed=60, fast=True, until=NOON)
    with Session(engine) as session:
        paused_at = operating_now(session)
    second = run_simulation(engine, speed=60, fast=True)
    blocks, payments = _tracked_chain(engine)

    assert paused_at == NOON
    assert not first.day_over
    assert second.day_over
    assert _day_after_seeding(engine) == _day_after_seeding(played_demo_day.engine)
    assert _outcomes(engine) == _outcomes(played_demo_day.engine)
    # Same block hashes and txids as the day played straight through: the
    # chain rebuilt at noon is the chain the tracker had followed.
    assert (blocks, payments) == _tracked_chain(played_demo_day.engine)
    assert [height for height, _, _ in blocks] == list(range(len(blocks)))
    assert all(active for _, _, active in blocks)
    assert len({(txid, vout) for txid, vout, _, _ in payments}) == len(payments)


def test_seeding_a_seeded_database_is_refused(engine: Engine, data_dir: Path) -> None:
    seed_demo_world(engine, day=DEMO_DAY)

    with pytest.raises(DemoWorldError, match=r"already seeded.*use --reset"):
        seed_demo_world(engine, day=DEMO_DAY)


def test_a_bad_instance_name_is_refused_before_touching_the_database(
    engine: Engine, data_dir: Path
) -> None:
    with pytest.raises(DemoWorldError, match="no demo instance called 'lc999'"):
        seed_demo_world(engine, instance="lc999", reset=True, day=DEMO_DAY)

    with Session(engine) as session:
        assert session.scalars(select(Component)).all() == []


def test_reset_seeds_a_fresh_world_on_sqlite_and_postgresql(
    any_engine: Engine, data_dir: Path
) -> None:
    seed_demo_world(any_engine, day=DEMO_DAY)

    seed_demo_world(any_engine, reset=True, day=DEMO_DAY)
    summary = run_simulation(
        any_engine, speed=60, fast=True, until=datetime(2026, 12, 4, 9, 30, tzinfo=OSLO)
    )

    with Session(any_engine) as session:
        seeded = session.scalars(
            select(JournalEvent).where(JournalEvent.kind == "DemoDaySeeded")
        ).all()
        components = session.scalars(select(Component)).all()
        verify_journal(session)
    assert len(seeded) == 1
    assert len(components) == 11
    assert summary.progress.orders > 0
    assert summary.progress.pickups > 0
    assert {c.key: c.state.value for c in components}["node-eu-north"] == (
        "major_outage"
    )


def test_seeding_creates_the_database_tables_itself(
    tmp_path: Path, data_dir: Path
) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")

    credentials = seed_demo_world(engine, day=DEMO_DAY)

    assert set(credentials) == {"management", "dispatcher", "ops", "analyst"}
    upgrade_database(engine)  # already at head: nothing to do
    engine.dispose()


def test_demo_data_folder_holds_no_private_key_material() -> None:
    texts = [p.read_text(encoding="utf-8") for p in DEMO_DATA.iterdir()]

    for marker in ("xprv", "zprv", "tprv", "abandon abandon", "wif"):
        assert not any(marker in text for text in texts), marker


@pytest.mark.parametrize("speed", [0.0, float("nan"), float("inf")])
def test_a_speed_that_is_not_a_positive_number_is_refused(
    engine: Engine, speed: float
) -> None:
    with pytest.raises(DemoWorldError, match="must be a positive number"):
        run_simulation(engine, speed=speed, fast=True)
