"""A restore re-applies the payment events after its snapshot, row for row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.restore import restore_database
from controlroom.backup.stores import LocalStore
from controlroom.db import create_db_engine
from controlroom.errors import RestoreRefused
from controlroom.journal import append_event
from controlroom.orders.service import find_parcel
from controlroom.payments.addresses import Network
from controlroom.payments.lab.lightning_node import LabLightningNode
from controlroom.payments.lab.lightning_server import LabLightningServer
from controlroom.payments.lightning.lnd_rest import LndRestNode
from controlroom.payments.models import Invoice, InvoiceStatus, Payment, PaymentState
from controlroom.payments.wallet_watch.models import WalletKind
from controlroom.payments.wallet_watch.observations import import_observations
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
    issue_fallback_address,
)
from tests.backup.order_book import order_rows, place_orders
from tests.backup.payment_book import LabClock, PaymentBook, payment_rows
from tests.backup.test_restore import ship_all, snapshot
from tests.conftest import DAY
from tests.payments.wallet_watch.conftest import RECEIVE, REUSED

# Kinds the world below journals after its snapshot, each re-applied.
PAYMENT_KINDS = {
    "InvoiceIssued",
    "InvoiceReopened",
    "InvoiceProcessing",
    "InvoiceSettled",
    "InvoiceExpired",
    "InvoiceInvalid",
    "InvoiceMarked",
    "InvoiceMonitoringEnded",
    "InvoiceMarkProposed",
    "InvoiceMarkRejected",
    "PaymentSeen",
    "PaymentConfirmed",
    "PaymentReorged",
    "PaymentReplaced",
    "PaymentDoubleSpent",
    "LightningInvoiceOpened",
    "LightningInvoiceStateChanged",
    "LightningLimitProposed",
    "LightningLimitApproved",
    "LightningLimitRejected",
    "FallbackWalletActivated",
    "FallbackAddressIssued",
    "PaymentObserved",
    "WalletMatchProposed",
    "WalletMatchedByHand",
    "WalletMatchConfirmed",
    "WalletMatchVerified",
    "WalletMatchRejected",
}


@pytest.fixture
def book(engine: Engine) -> Iterator[PaymentBook]:
    """The payment services on a primary, with a lab Lightning node."""
    clock = LabClock()
    lab = LabLightningNode(clock=clock)
    with LabLightningServer(lab) as server:
        node = LndRestNode(server.node_config(timeout_seconds=2.0))
        yield PaymentBook(engine, node, lab, clock)
        node.close()


@pytest.fixture
def restored_url(tmp_path: Path) -> str:
    """A URL for a restore target that does not exist yet."""
    return f"sqlite:///{tmp_path / 'restored' / 'controlroom.sqlite3'}"


@pytest.fixture
def restored(restored_url: str) -> Iterator[Engine]:
    """An engine on the restore target, for reading it afterwards."""
    engine = create_db_engine(restored_url)
    yield engine
    engine.dispose()


def test_every_payment_table_is_restored_row_for_row(
    book: PaymentBook,
    local_store: LocalStore,
    restored_url: str,
    restored: Engine,
) -> None:
    book.add_wallets()
    first = book.round(1)
    taken = snapshot(book.engine, local_store)
    book.round(2)
    book.later(first, DAY + timedelta(hours=7))
    ship_all(book.engine, local_store)

    report = restore_database(local_store, restored_url)

    assert report.snapshot == taken
    assert payment_rows(restored) == payment_rows(book.engine)
    assert order_rows(restored) == order_rows(book.engine)
    assert report.replay.applied.keys() >= PAYMENT_KINDS
    assert all(count.ok for count in report.counts)
    counts = {count.table: count for count in report.counts}
    # Every on-chain payment seen spent one outpoint; the Lightning one none.
    assert counts["payment_spends"].added == report.replay.applied["PaymentSeen"] - 1
    with Session(book.engine) as session:
        statuses = set(session.scalars(select(Invoice.status)))
        states = set(session.scalars(select(Payment.state)))
    assert statuses == set(InvoiceStatus)
    assert states == set(PaymentState)


def test_an_event_without_a_field_its_row_needs_refuses_naming_it(
    engine: Engine, local_store: LocalStore, restored_url: str
) -> None:
    snapshot(engine, local_store)
    code = place_orders(engine, 1, first=7)[0]
    with Session(engine) as session, session.begin():
        parcel = find_parcel(session, code=code)
        # As an older control room journalled it: no bolt11.
        seq = append_event(
            session,
            kind="InvoiceIssued",
            subject="invoice:41",
            actor="webshop",
            occurred_at=DAY,
            payload={
                "parcel": parcel.id,
                "method": "onchain",
                "amount_sat": 25_000,
                "address": "bc1q-old",
                "payment_hash": None,
                "expires_at": DAY + timedelta(minutes=15),
                "monitoring_until": DAY + timedelta(minutes=75),
                "order_class": "standard",
                "required_confirmations": 1,
                "tolerance_bp": 0,
            },
        )
    ship_all(engine, local_store)

    with pytest.raises(RestoreRefused) as refused:
        restore_database(local_store, restored_url)

    assert str(refused.value).startswith(
        f"Event {seq} (InvoiceIssued, invoice:41) cannot be re-applied: its "
        "payload has no 'bolt11'"
    )
    assert not Path(restored_url.removeprefix("sqlite:///")).exists()


def test_a_fallback_wallet_added_after_the_snapshot_refuses_naming_it(
    engine: Engine, local_store: LocalStore, restored_url: str
) -> None:
    snapshot(engine, local_store)
    with Session(engine) as session, session.begin():
        add_fallback_wallet(
            session,
            name="Reused",
            kind=WalletKind.SINGLE_ADDRESS,
            public_key=REUSED,
            network=Network.MAINNET,
            at=DAY,
            actor="olga",
        )
    ship_all(engine, local_store)

    with pytest.raises(RestoreRefused, match="adds the fallback wallet 'Reused'"):
        restore_database(local_store, restored_url)

    assert not Path(restored_url.removeprefix("sqlite:///")).exists()


def test_a_file_import_stays_in_the_journal_and_its_rows_are_restored(
    book: PaymentBook,
    local_store: LocalStore,
    restored_url: str,
    restored: Engine,
) -> None:
    book.add_wallets()
    code = place_orders(book.engine, 1, first=9)[0]
    snapshot(book.engine, local_store)
    with Session(book.engine) as session, session.begin():
        issued = issue_fallback_address(
            session,
            parcel=find_parcel(session, code=code),
            amount_sat=55_000,
            at=DAY,
            actor="webshop",
        )
        content = (
            "address,amount_btc,date,txid\n"
            f"{issued.address},0.00055,2026-12-04T06:10:00Z,{'ab' * 32}\n"
            f"{RECEIVE[1]},0.001,2026-12-04T06:11:00Z,\n"
        ).encode()
        import_observations(
            session,
            content=content,
            file_name="explorer.csv",
            recorded_by="olga",
            at=DAY + timedelta(minutes=20),
        )
    ship_all(book.engine, local_store)

    report = restore_database(local_store, restored_url)

    assert report.journal_only["ObservationsImported"] == 1
    assert report.replay.applied["PaymentObserved"] == 2
    assert payment_rows(restored) == payment_rows(book.engine)
