"""A web order acknowledged only once the backup holds it (ship before acknowledge)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.backup.segments import decode_events
from controlroom.backup.shipper import Shipper
from controlroom.fallback_orders.intake import Intake, take_order
from controlroom.fallback_orders.merge import merge_spool
from controlroom.fallback_orders.spool import Spool
from controlroom.orders.service import find_order_by_key
from tests.backup.tampering import FlakyStore
from tests.fallback_orders.test_intake import QUICK, web_order
from tests.fallback_orders.world import parcel_count


def _shipped_orders(store: FlakyStore) -> list[str]:
    """The package codes of the orders in the store's segments."""
    codes: list[str] = []
    for key in store.list("segments/"):
        for event in decode_events(store.get(key)):
            if event["kind"] == "ParcelOrdered":
                codes.append(json.loads(event["payload"])["code"])
    return codes


def test_an_acknowledged_order_is_already_in_the_backup(
    engine: Engine, spool: Spool, tmp_path: Path
) -> None:
    store = FlakyStore(tmp_path / "backup", retention_days=30)
    shipper = Shipper(engine, store)

    taken = [
        take_order(engine, spool, web_order(n), policy=QUICK, shipper=shipper)
        for n in (1, 2)
    ]

    assert [t.intake for t in taken] == [Intake.ACCEPTED, Intake.ACCEPTED]
    # No shipping round ran besides the ones the orders waited for.
    assert _shipped_orders(store) == [t.code for t in taken]
    assert spool.records() == ()


def test_a_refusing_store_spools_the_stored_order_and_merge_adds_nothing(
    engine: Engine, spool: Spool, tmp_path: Path
) -> None:
    store = FlakyStore(tmp_path / "backup", retention_days=30)
    store.refusing = True
    order = web_order(3)

    taken = take_order(
        engine, spool, order, policy=QUICK, shipper=Shipper(engine, store)
    )

    assert taken.intake is Intake.ACCEPTED_PENDING
    assert taken.why is not None
    assert taken.why.startswith("stored, but not yet in the backup")
    assert "access denied" in taken.why
    # In the primary and in the spool, under one key and one code.
    with Session(engine) as session:
        placed = find_order_by_key(session, order.key)
        assert placed is not None and placed.code == taken.code
    (record,) = spool.records()
    assert (record.key, record.order["code"]) == (order.key, taken.code)

    report = merge_spool(engine, tmp_path / "spool", actor="olga")

    assert (report.merged, report.already_present) == (0, 1)
    assert parcel_count(engine) == 1
