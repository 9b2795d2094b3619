"""Rows written without a time of their own, or by a merge, come back too."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.restore import restore_database
from controlroom.backup.stores import LocalStore
from controlroom.db import create_db_engine
from controlroom.demo.datafiles import load_watch_only_account
from controlroom.fallback_orders.merge import merge_spool
from controlroom.fallback_orders.spool_wallet import spool_wallet
from controlroom.orders.models import Party, PartyKind
from controlroom.orders.service import register_party
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.models import IssuedAddress
from tests.backup.order_book import order_rows
from tests.backup.payment_book import payment_rows
from tests.backup.test_restore import ship_all, snapshot
from tests.fallback_orders.world import primary_with_depot, spool_of


def restored_engine(tmp_path: Path) -> tuple[str, Engine]:
    """A URL for a restore target that does not exist yet, and an engine on it."""
    url = f"sqlite:///{tmp_path / 'restored' / 'controlroom.sqlite3'}"
    return url, create_db_engine(url)


def test_a_party_registered_without_a_time_restores_with_its_created_at(
    engine: Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    snapshot(engine, local_store)
    with Session(engine) as session, session.begin():
        party = register_party(
            session,
            kind=PartyKind.CUSTOMER,
            name="Walk-in",
            phone="+4790000123",
            street="Storgata 1",
            postcode="0155",
            city="Oslo",
            lat=59.91,
            lon=10.75,
            actor="counter",
        )
        party_id = party.id
    ship_all(engine, local_store)
    url, restored = restored_engine(tmp_path)

    restore_database(local_store, url)

    with Session(engine) as live, Session(restored) as back:
        assert back.get_one(Party, party_id).created_at == (
            live.get_one(Party, party_id).created_at
        )
    assert order_rows(restored) == order_rows(engine)
    restored.dispose()


def test_a_merged_spool_order_restores_with_its_fallback_address(
    engine: Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    account = load_watch_only_account()
    primary_with_depot(engine, account.fallback_vpub)
    snapshot(engine, local_store)
    wallet = spool_wallet(account.fallback_vpub, network=Network.REGTEST)
    spool_of(tmp_path / "spool", 2, wallet=wallet)
    merge_spool(engine, tmp_path / "spool", actor="ops")
    ship_all(engine, local_store)
    url, restored = restored_engine(tmp_path)

    report = restore_database(local_store, url)

    with Session(restored) as session:
        indexes = session.scalars(select(IssuedAddress.derivation_index)).all()
    assert sorted(indexes) == [0, 1]
    assert report.replay.applied["FallbackAddressIssued"] == 2
    assert payment_rows(restored) == payment_rows(engine)
    assert order_rows(restored) == order_rows(engine)
    restored.dispose()
