"""Merge back: spooled orders reach the primary once each, in spool order."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import controlroom.fallback_orders.merge as merge_module
from controlroom.demo.datafiles import load_watch_only_account
from controlroom.errors import FallbackOrderError
from controlroom.fallback_orders.board import fallback_board
from controlroom.fallback_orders.chain import SpoolRecord
from controlroom.fallback_orders.fallback_order import Contact, FallbackOrder
from controlroom.fallback_orders.merge import RecordFate, merge_spool
from controlroom.fallback_orders.models import MergeOutcome, MergeRun
from controlroom.fallback_orders.sms_orders import answer_order_text
from controlroom.fallback_orders.spool import Spool, read_spool
from controlroom.fallback_orders.spool_wallet import SpoolWallet
from controlroom.fallback_orders.terms import delivery_window, pickup_window
from controlroom.journal import JournalEvent, verify_journal
from controlroom.orders.codes import new_package_code
from controlroom.orders.models import OrderChannel, Parcel, Party
from controlroom.payments.models import Invoice
from controlroom.payments.wallet_watch.models import IssuedAddress
from tests.fallback_orders.world import (
    OUTAGE,
    keys_in_primary,
    parcel_count,
    primary_issuing_from,
    primary_with_depot,
    spool_of,
    spooled_order,
    web_order,
)


def journal_kinds(engine: Engine, kind: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(JournalEvent.kind == kind)
        return session.scalar(query) or 0


def test_the_same_fallback_order_delivered_three_times_becomes_one_order(
    engine: Engine, tmp_path: Path, demo_fallback_wallet: SpoolWallet
) -> None:
    primary_with_depot(engine)
    spool = Spool(tmp_path / "spool")
    for _ in range(3):
        spool.accept(**vars(spooled_order(1)))
        answer_order_text(
            spool,
            wallet=demo_fallback_wallet,
            phone="+4791234567",
            text="ORDER 0155 0364 S",
            at=OUTAGE,
        )

    reports = [merge_spool(engine, tmp_path / "spool", actor="ops") for _ in range(3)]

    assert [(r.merged, r.already_present) for r in reports] == [(2, 0), (0, 2), (0, 2)]
    assert sorted(keys_in_primary(engine)) == sorted(r.key for r in spool.records())
    assert journal_kinds(engine, "ParcelOrdered") == 2
    assert journal_kinds(engine, "PartyRegistered") == 4


def test_a_merged_order_keeps_its_code_channel_key_time_and_payment(
    engine: Engine, tmp_path: Path, demo_fallback_wallet: SpoolWallet
) -> None:
    primary_with_depot(engine, load_watch_only_account().fallback_vpub)
    [accepted] = spool_of(tmp_path / "spool", 1, wallet=demo_fallback_wallet).records()
    order = accepted.order

    report = merge_spool(engine, tmp_path / "spool", actor="ops")

    with Session(engine) as session:
        parcel = session.scalars(select(Parcel)).one()
        invoice = session.scalars(select(Invoice)).one()
        issued = session.scalars(select(IssuedAddress)).one()
        assert (parcel.code, parcel.channel) == (order["code"], OrderChannel.SMS)
        assert parcel.idempotency_key == accepted.key
        assert parcel.ordered_at == accepted.received_at
        assert (parcel.load, parcel.price_sat) == (20, 28_000)
        assert parcel.sender.phone == "+4790000000"
        assert parcel.recipient.phone == "+4790000000"
        assert (parcel.sender.postcode, parcel.recipient.postcode) == ("0155", "0364")
        assert (invoice.address, invoice.amount_sat) == (
            demo_fallback_wallet.address(0),
            28_000,
        )
        assert (issued.derivation_index, issued.parcel_id) == (0, parcel.id)
        verify_journal(session)
    assert report.by_channel == {
        "sms": {RecordFate.MERGED: 1, RecordFate.ALREADY_PRESENT: 0}
    }


def test_orders_are_merged_in_spool_order(engine: Engine, tmp_path: Path) -> None:
    primary_with_depot(engine)
    spool = spool_of(tmp_path / "spool", 120)

    merge_spool(engine, tmp_path / "spool", actor="ops", batch_size=7)

    assert keys_in_primary(engine) == [r.key for r in spool.records()]


def test_a_crash_mid_merge_and_a_rerun_give_the_same_result(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary_with_depot(engine)
    spool = spool_of(tmp_path / "spool", 150)
    real = merge_module.merge_record

    def crash_at_120(
        session: Session, record: SpoolRecord, **options: Any
    ) -> RecordFate:
        if record.seq == 120:
            raise RuntimeError("power cut")
        return real(session, record, **options)

    monkeypatch.setattr(merge_module, "merge_record", crash_at_120)
    with pytest.raises(RuntimeError, match="power cut"):
        merge_spool(engine, tmp_path / "spool", actor="ops")
    monkeypatch.undo()
    with Session(engine) as session:
        crashed = session.scalars(select(MergeRun)).one()
        assert (crashed.outcome, crashed.through_seq) == (MergeOutcome.RUNNING, 100)
    assert parcel_count(engine) == 100

    report = merge_spool(engine, tmp_path / "spool", actor="ops")

    assert (report.merged, report.already_present) == (50, 100)
    assert keys_in_primary(engine) == [r.key for r in spool.records()]
    assert journal_kinds(engine, "ParcelOrdered") == 150


def test_a_broken_spool_is_merged_up_to_its_first_bad_record(
    engine: Engine, tmp_path: Path
) -> None:
    primary_with_depot(engine)
    folder = tmp_path / "spool"
    spool_of(folder, 5)
    segment = folder / "000001.jsonl"
    lines = segment.read_text().splitlines(keepends=True)
    segment.write_text("".join([*lines[:3], lines[3].replace('"M"', '"L"'), lines[4]]))

    report = merge_spool(engine, folder, actor="ops")

    assert (report.merged, report.through_seq) == (3, 3)
    assert (
        str(report.problem) == "record 4: edited: its content does not match its hash"
    )
    with Session(engine) as session:
        run = session.scalars(select(MergeRun)).one()
        assert run.outcome is MergeOutcome.STOPPED_AT_PROBLEM
        assert run.problem == str(report.problem)


def test_a_new_postcode_needs_a_depot_to_be_placed_at(
    engine: Engine, tmp_path: Path
) -> None:
    spool_of(tmp_path / "spool", 1)

    with pytest.raises(FallbackOrderError, match="Postcode 0155 is new to the primary"):
        merge_spool(engine, tmp_path / "spool", actor="ops")

    assert parcel_count(engine) == 0


def test_progress_is_reported_after_each_batch(engine: Engine, tmp_path: Path) -> None:
    primary_with_depot(engine)
    spool_of(tmp_path / "spool", 12)
    seen: list[tuple[int, int]] = []

    merge_spool(
        engine,
        tmp_path / "spool",
        actor="ops",
        batch_size=5,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert seen == [(5, 12), (10, 12), (12, 12)]


def test_a_thousand_fallback_orders_merge_while_the_primary_takes_new_ones(
    any_engine: Engine, tmp_path: Path
) -> None:
    primary_with_depot(any_engine)
    spool = spool_of(tmp_path / "spool", 1000)
    web_keys = [f"web-order-{n:06d}" for n in range(150)]
    failures: list[BaseException] = []

    def web_shop() -> None:
        try:
            for number in range(len(web_keys)):
                web_order(any_engine, number)
        except BaseException as exc:  # handed to the test thread below
            failures.append(exc)

    shop = threading.Thread(target=web_shop)
    shop.start()
    report = merge_spool(any_engine, tmp_path / "spool", actor="ops")
    shop.join()

    assert failures == []
    keys = keys_in_primary(any_engine)
    spooled = [r.key for r in spool.records()]
    assert len(keys) == len(set(keys)) == 1150
    assert set(keys) == set(spooled) | set(web_keys)
    assert [k for k in keys if k.startswith("sms-")] == spooled
    assert (report.merged, report.already_present) == (1000, 0)


def test_a_web_order_spooled_with_full_details_keeps_them(
    engine: Engine, tmp_path: Path
) -> None:
    primary_with_depot(engine)
    sender = Contact(
        "0155", "+4790000001", "Ingrid Sender", "Storgata 1", "Oslo", 59.9127, 10.7461
    )
    order = FallbackOrder(
        code=new_package_code(),
        size="M",
        load=7,
        price_sat=22_800,
        sender=sender,
        recipient=Contact(
            "0364", "+4790000002", "Per Recipient", "Kirkeveien 64", "Oslo"
        ),
        pickup_window=pickup_window(OUTAGE),
        delivery_window=delivery_window(OUTAGE),
    )
    Spool(tmp_path / "spool").accept(
        key="web-7f3c2a9e",
        channel="web_shop",
        order=order.as_json(),
        received_at=OUTAGE,
    )

    merge_spool(engine, tmp_path / "spool", actor="ops")

    with Session(engine) as session:
        parcel = session.scalars(select(Parcel)).one()
        assert parcel.channel is OrderChannel.WEB_SHOP
        assert (parcel.sender.name, parcel.sender.street) == (
            "Ingrid Sender",
            "Storgata 1",
        )
        assert (parcel.sender.lat, parcel.sender.lon) == (59.9127, 10.7461)
        assert parcel.recipient.phone == "+4790000002"
        # No coordinates, and a postcode new to the primary: at the depot.
        assert (parcel.recipient.lat, parcel.recipient.lon) == (59.911, 10.753)


def test_two_merges_of_one_spool_at_once_place_each_order_once(
    any_engine: Engine, tmp_path: Path
) -> None:
    primary_with_depot(any_engine)
    spool = spool_of(tmp_path / "spool", 200)
    reports: list[int] = []

    def merge() -> None:
        report = merge_spool(any_engine, tmp_path / "spool", actor="ops", batch_size=10)
        reports.append(report.merged)

    merges = [threading.Thread(target=merge) for _ in range(2)]
    for thread in merges:
        thread.start()
    for thread in merges:
        thread.join()

    assert keys_in_primary(any_engine) == [r.key for r in spool.records()]
    assert sum(reports) == 200
    with Session(any_engine) as session:
        parties = session.scalar(select(func.count()).select_from(Party))
    assert parties == 400
    assert journal_kinds(any_engine, "PartyRegistered") == 400


def test_a_spool_cut_short_after_a_merge_is_noticed_even_with_its_head_rewritten(
    engine: Engine, tmp_path: Path
) -> None:
    primary_with_depot(engine)
    folder = tmp_path / "spool"
    spool = spool_of(folder, 5)
    merge_spool(engine, folder, actor="ops")
    # Cut the last two records and make the head file name record 3.
    segment = folder / "000001.jsonl"
    segment.write_text("".join(segment.read_text().splitlines(keepends=True)[:3]))
    seq, digest = spool.records()[2].seq_hash
    (folder / "head.json").write_text(f'{{"seq": {seq}, "hash": "{digest}"}}')

    alone = read_spool(folder)
    report = merge_spool(engine, folder, actor="ops")

    assert alone.problem is None
    assert str(report.problem) == (
        "record 4: truncated: the spool ends at record 3 but record 5 was seen before"
    )
    assert not fallback_board(engine, folder).chain.intact


def test_orders_paid_to_addresses_the_primary_already_issued_are_named(
    engine: Engine, tmp_path: Path, demo_fallback_wallet: SpoolWallet
) -> None:
    vpub = load_watch_only_account().fallback_vpub
    web_codes = primary_issuing_from(engine, vpub, issued=2)
    spool = Spool(tmp_path / "spool")
    spool.accept_many([spooled_order(n, wallet=demo_fallback_wallet) for n in (0, 1)])
    sms_codes = [record.order["code"] for record in spool.records()]

    report = merge_spool(engine, tmp_path / "spool", actor="ops")

    assert report.merged == 2
    assert [(c.code, c.other_parcel) for c in report.clashes] == list(
        zip(sms_codes, web_codes, strict=True)
    )
    assert [c.address for c in report.clashes] == [
        demo_fallback_wallet.address(0),
        demo_fallback_wallet.address(1),
    ]
    assert parcel_count(engine) == 4
