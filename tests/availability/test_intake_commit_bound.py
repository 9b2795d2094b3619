"""Web intake on a primary that hangs or fails: no customer waits on.

The COMMIT of an order waits for the synchronous standby for as long as
it is away (right after a Patroni fail-over, until the new leader has
one). ``take_order`` bounds its transactions, so the order is spooled and
answered "accepted, pending" instead; merged back once the standby
returns, it is one order with the customer's code. After a write in doubt
the primary is left alone for a moment, so a hanging primary does not
collect one waiting server process per order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import controlroom.fallback_orders.intake as intake_module
from controlroom.db import create_db_engine
from controlroom.fallback_orders.fallback_order import FallbackOrder
from controlroom.fallback_orders.intake import Intake, take_order
from controlroom.fallback_orders.merge import merge_spool
from controlroom.fallback_orders.spool import Spool, SpoolEntry
from controlroom.orders.models import Parcel
from controlroom.schema import upgrade_database
from tests.availability.clusters import Pair, wait_until_streaming
from tests.availability.intake_drill import web_order


def hanging_primary(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every write to the primary end in doubt; return the keys tried."""
    tried: list[str] = []

    def severed(engine: Engine, order: SpoolEntry, details: FallbackOrder) -> str:
        tried.append(order.key)
        raise OperationalError("COMMIT", None, TimeoutError("connection severed"))

    monkeypatch.setattr(intake_module, "_place_in_primary", severed)
    return tried


def test_after_a_write_in_doubt_the_next_order_is_spooled_without_asking(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tried = hanging_primary(monkeypatch)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'primary.sqlite3'}")
    spool = Spool(tmp_path / "spool")

    first = take_order(engine, spool, web_order(1))
    second = take_order(engine, spool, web_order(2))

    assert (first.intake, second.intake) == (Intake.ACCEPTED_PENDING,) * 2
    assert tried == [web_order(1).key]
    assert second.why is not None and "not asked again yet" in second.why
    keys = [web_order(1).key, web_order(2).key]
    assert [record.key for record in spool.records()] == keys


def test_once_the_hold_off_is_over_the_primary_is_asked_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tried = hanging_primary(monkeypatch)
    monkeypatch.setattr(intake_module, "PRIMARY_HOLD_OFF", 0.0)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'primary.sqlite3'}")
    spool = Spool(tmp_path / "spool")

    take_order(engine, spool, web_order(1))
    take_order(engine, spool, web_order(2))

    assert tried == [web_order(1).key, web_order(2).key]


@pytest.mark.postgres
def test_an_order_whose_commit_waits_for_a_lost_standby_is_spooled_then_merged_once(
    sync_pair: Pair, tmp_path: Path
) -> None:
    engine = create_db_engine(sync_pair.multi_host_url)
    upgrade_database(engine)
    spool = Spool(tmp_path / "spool")
    order = web_order(1)
    sync_pair.standby.stop()

    taken = take_order(engine, spool, order)

    assert taken.intake is Intake.ACCEPTED_PENDING
    assert taken.code == order.order["code"]
    sync_pair.standby.start()
    wait_until_streaming(sync_pair.primary, sync_pair.standby.name, synchronous=True)
    report = merge_spool(engine, spool.folder, actor="ops")
    with Session(engine) as session:
        stored = session.execute(
            select(Parcel.code).where(Parcel.idempotency_key == order.key)
        ).all()
    engine.dispose()

    assert report.merged + report.already_present == 1
    assert [code for (code,) in stored] == [taken.code]
