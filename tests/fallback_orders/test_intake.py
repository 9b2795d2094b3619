"""Web order intake: the primary takes the order, or the spool while it is away."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import controlroom.fallback_orders.intake as intake_module
from controlroom.availability.in_doubt import RetryPolicy
from controlroom.db import create_db_engine
from controlroom.errors import FallbackOrderError, OrderError
from controlroom.fallback_orders.fallback_order import Contact
from controlroom.fallback_orders.intake import (
    Intake,
    OrderNotTaken,
    take_order,
)
from controlroom.fallback_orders.merge import merge_spool
from controlroom.fallback_orders.spool import Spool, SpoolEntry
from controlroom.journal import JournalEvent
from controlroom.orders.models import OrderChannel, Parcel, Party
from controlroom.schema import upgrade_database
from tests.availability.clusters import USER, Member, run
from tests.fallback_orders.world import (
    OUTAGE,
    complete_web_order,
    keys_in_primary,
    parcel_count,
)
from tests.postgres_cluster import _free_port, find_pg_bin

QUICK = RetryPolicy(attempts=2, first_delay=0.0, max_delay=0.0)


def web_order(number: int, **changes: object) -> SpoolEntry:
    """Web order ``number``: a complete, geocoded order from Oslo to Oslo."""
    received = OUTAGE + timedelta(seconds=number)
    key = f"web-order-{number:06d}"
    details = complete_web_order(key, received, sender_phone=f"+479{number:07d}")
    details = replace(details, **changes)  # type: ignore[arg-type]
    return SpoolEntry(key, "web_shop", received, details.as_json())


def count_of(engine: Engine, what: type[Party] | str) -> int:
    with Session(engine) as session:
        if isinstance(what, str):
            query = select(func.count()).where(JournalEvent.kind == what)
        else:
            query = select(func.count()).select_from(what)
        return session.scalar(query) or 0


def channel_and_code(engine: Engine, key: str) -> tuple[OrderChannel, str]:
    with Session(engine) as session:
        parcel = session.scalars(
            select(Parcel).where(Parcel.idempotency_key == key)
        ).one()
        return parcel.channel, parcel.code


@pytest.fixture
def unreachable_primary(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite primary whose folder does not exist: every connect fails."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'gone' / 'primary.sqlite3'}")
    yield engine
    engine.dispose()


def test_a_web_order_the_primary_takes_is_accepted_and_not_spooled(
    engine: Engine, spool: Spool
) -> None:
    order = web_order(1)

    taken = take_order(engine, spool, order, policy=QUICK)

    assert taken.intake is Intake.ACCEPTED
    assert taken.code == order.order["code"]
    assert channel_and_code(engine, order.key) == (OrderChannel.WEB_SHOP, taken.code)
    assert spool.records() == ()


def test_an_order_taken_twice_is_one_order_with_one_pair_of_parties(
    engine: Engine, spool: Spool
) -> None:
    order = web_order(1)

    first = take_order(engine, spool, order, policy=QUICK)
    again = take_order(engine, spool, order, policy=QUICK)

    assert again == first
    assert parcel_count(engine) == 1
    assert count_of(engine, Party) == 2


def test_an_unreachable_primary_spools_the_order_under_its_key_and_code(
    unreachable_primary: Engine, engine: Engine, spool: Spool
) -> None:
    order = web_order(2)

    taken = take_order(unreachable_primary, spool, order, policy=QUICK)

    assert taken.intake is Intake.ACCEPTED_PENDING
    assert taken.code == order.order["code"]
    assert taken.why is not None and "in doubt" in taken.why
    record = spool.find(order.key)
    assert record is not None
    assert (record.seq, record.channel) == (taken.spool_seq, "web_shop")
    assert record.order["code"] == taken.code

    report = merge_spool(engine, spool.folder, actor="ops")

    assert report.merged == 1
    assert keys_in_primary(engine) == [order.key]
    assert channel_and_code(engine, order.key) == (OrderChannel.WEB_SHOP, taken.code)


def test_an_order_without_a_code_gets_one_before_it_is_spooled(
    unreachable_primary: Engine, spool: Spool
) -> None:
    order = web_order(3, code="")

    taken = take_order(unreachable_primary, spool, order, policy=QUICK)
    record = spool.find(order.key)

    assert record is not None
    assert record.order["code"] == taken.code != ""


def test_a_spooled_key_keeps_its_code_when_the_primary_returns(
    unreachable_primary: Engine, engine: Engine, spool: Spool
) -> None:
    pending = take_order(unreachable_primary, spool, web_order(4), policy=QUICK)

    retried = take_order(engine, spool, web_order(4, code=""), policy=QUICK)
    merge_spool(engine, spool.folder, actor="ops")

    assert retried.intake is Intake.ACCEPTED
    assert retried.code == pending.code
    assert parcel_count(engine) == 1


def test_a_commit_in_doubt_that_landed_is_one_order_after_merge(
    engine: Engine, spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = intake_module._place_in_primary
    dropped = OperationalError(
        "COMMIT", None, ConnectionResetError("server closed the connection")
    )

    def commits_then_drops(*args: object) -> str:
        place(*args)  # type: ignore[arg-type]
        raise dropped

    def lookup_fails(engine: Engine, key: str) -> str | None:
        raise dropped

    monkeypatch.setattr(intake_module, "_place_in_primary", commits_then_drops)
    monkeypatch.setattr(intake_module, "_code_in_primary", lookup_fails)
    order = web_order(5)

    taken = take_order(engine, spool, order, policy=QUICK)

    assert taken.intake is Intake.ACCEPTED_PENDING
    assert parcel_count(engine) == 1
    monkeypatch.undo()

    report = merge_spool(engine, spool.folder, actor="ops")

    assert (report.merged, report.already_present) == (0, 1)
    assert keys_in_primary(engine) == [order.key]
    assert channel_and_code(engine, order.key)[1] == taken.code
    assert count_of(engine, Party) == 2
    assert count_of(engine, "ParcelOrdered") == 1


def test_an_order_with_an_empty_postcode_is_refused_and_not_spooled(
    unreachable_primary: Engine, engine: Engine, spool: Spool
) -> None:
    sender = Contact(
        postcode="",
        phone="+4791234567",
        name="Kari Nordmann",
        street="Storgata 1",
        city="Oslo",
        lat=59.913,
        lon=10.752,
    )
    order = web_order(6, sender=sender)

    for primary in (engine, unreachable_primary):
        with pytest.raises(OrderError, match="sender's postcode is empty"):
            take_order(primary, spool, order, policy=QUICK)

    assert spool.records() == ()
    assert parcel_count(engine) == 0


def test_an_order_refused_by_the_order_service_is_not_spooled(
    engine: Engine, spool: Spool
) -> None:
    taken = take_order(engine, spool, web_order(7), policy=QUICK)
    order = web_order(8, code=taken.code)  # a code another order holds

    with pytest.raises(OrderError, match="already belongs to another order"):
        take_order(engine, spool, order, policy=QUICK)

    assert spool.records() == ()


def test_when_the_spool_fails_too_the_order_is_not_claimed_accepted(
    unreachable_primary: Engine, spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(**_: object) -> None:
        raise FallbackOrderError("The spool cannot be written (No space left)")

    monkeypatch.setattr(spool, "accept", disk_full)

    with pytest.raises(OrderNotTaken, match=r"was not taken.*spool failed too"):
        take_order(unreachable_primary, spool, web_order(9), policy=QUICK)


# -- a real PostgreSQL primary ----------------------------------------------


@pytest.fixture
def pg_primary() -> Iterator[Member]:
    """One PostgreSQL 15 server on 127.0.0.1, removed afterwards."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL is not installed (no initdb found)")
    folder = Path(tempfile.mkdtemp(prefix="controlroom-intake-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    member = Member("intake", pg_bin, folder, _free_port())
    try:
        run(
            [
                str(pg_bin / "initdb"),
                *("-D", str(member.data), "-U", USER),
                *("--auth=trust", "--no-sync", "-E", "UTF8"),
            ]
        )
        member.start()
        yield member
    finally:
        if (member.data / "postmaster.pid").exists():
            member.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_a_primary_stopped_between_two_orders_loses_neither(
    pg_primary: Member, spool: Spool
) -> None:
    engine = create_db_engine(pg_primary.url)
    upgrade_database(engine)
    first, second = web_order(10), web_order(11)

    before = take_order(engine, spool, first, policy=QUICK)
    pg_primary.stop("immediate")
    during = take_order(engine, spool, second, policy=QUICK)
    pg_primary.start()
    merge_spool(engine, spool.folder, actor="ops")

    assert (before.intake, during.intake) == (
        Intake.ACCEPTED,
        Intake.ACCEPTED_PENDING,
    )
    assert keys_in_primary(engine) == [first.key, second.key]
    assert channel_and_code(engine, second.key)[1] == during.code
    assert count_of(engine, "ParcelOrdered") == 2
    engine.dispose()


@pytest.mark.postgres
def test_a_read_only_primary_spools_at_once(pg_primary: Member, spool: Spool) -> None:
    engine = create_db_engine(pg_primary.url)
    upgrade_database(engine)
    pg_primary.settings(default_transaction_read_only="on")
    engine.dispose()  # connections opened before the change stay writable

    taken = take_order(engine, spool, web_order(12), policy=QUICK)

    assert taken.intake is Intake.ACCEPTED_PENDING
    assert taken.why is not None and "read-only" in taken.why
    engine.dispose()
