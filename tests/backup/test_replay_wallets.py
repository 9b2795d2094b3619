"""A fallback wallet added after the snapshot comes back with the key ops give."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from embit import bip32
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.backup.restore import restore_database
from controlroom.backup.stores import LocalStore
from controlroom.db import create_db_engine
from controlroom.errors import PaymentError, RestoreRefused
from controlroom.orders.service import find_parcel
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.models import FallbackWallet, WalletKind
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
    issue_fallback_address,
)
from tests.backup.order_book import place_orders
from tests.backup.payment_book import payment_rows
from tests.backup.test_restore import ship_all, snapshot
from tests.conftest import DAY
from tests.payments.wallet_watch.conftest import ACCOUNT_ZPUB, RECEIVE, REUSED
from tests.test_cli import Invoke

# A mainnet account key made from a fixed seed for this test only.
XPRV = bip32.HDKey.from_seed(bytes(range(32))).to_base58()
KEYS = {"Cold HD": ACCOUNT_ZPUB, "Reused": REUSED}


@pytest.fixture
def wallets_after_snapshot(engine: Engine, local_store: LocalStore) -> Engine:
    """Two wallets added after the snapshot, the HD one giving an order's address."""
    code = place_orders(engine, 1, first=3)[0]
    snapshot(engine, local_store)
    with Session(engine) as session, session.begin():
        for name, kind in (("Reused", WalletKind.SINGLE_ADDRESS), ("Cold HD", None)):
            add_fallback_wallet(
                session,
                name=name,
                kind=kind or WalletKind.HD,
                public_key=KEYS[name],
                network=Network.MAINNET,
                at=DAY,
                actor="olga",
            )
        issue_fallback_address(
            session,
            parcel=find_parcel(session, code=code),
            amount_sat=42_000,
            at=DAY,
            actor="webshop",
        )
    ship_all(engine, local_store)
    return engine


def target(tmp_path: Path) -> str:
    """A URL for a restore target that does not exist yet."""
    (tmp_path / "restored").mkdir(exist_ok=True)
    return f"sqlite:///{tmp_path / 'restored' / 'controlroom.sqlite3'}"


def test_a_wallet_added_after_the_snapshot_is_restored_with_its_key(
    wallets_after_snapshot: Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    report = restore_database(local_store, target(tmp_path), wallet_keys=KEYS)

    restored = create_db_engine(target(tmp_path))
    assert payment_rows(restored) == payment_rows(wallets_after_snapshot)
    assert len(payment_rows(restored)["fallback_wallets"]) == 2
    assert len(payment_rows(restored)["fallback_addresses"]) == 1
    assert report.replay.applied["FallbackWalletAdded"] == 2
    assert all(count.ok for count in report.counts)
    restored.dispose()


def test_a_wallet_without_its_key_refuses_naming_the_option(
    wallets_after_snapshot: Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    with pytest.raises(RestoreRefused) as refused:
        restore_database(local_store, target(tmp_path), wallet_keys={"Reused": REUSED})

    assert "adds the fallback wallet 'Cold HD'" in str(refused.value)
    assert "--wallet-key 'Cold HD=KEY'" in str(refused.value)
    assert not Path(target(tmp_path).removeprefix("sqlite:///")).exists()


def test_a_wrong_key_refuses_naming_the_wallet(
    wallets_after_snapshot: Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    keys = {**KEYS, "Reused": RECEIVE[1]}

    with pytest.raises(
        RestoreRefused,
        match="the key given for the fallback wallet 'Reused' does not match",
    ):
        restore_database(local_store, target(tmp_path), wallet_keys=keys)

    assert not Path(target(tmp_path).removeprefix("sqlite:///")).exists()


def test_an_xprv_is_refused_without_echoing_it(
    wallets_after_snapshot: Engine,
    local_store: LocalStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PaymentError, match="an extended private key") as refused:
        restore_database(
            local_store, target(tmp_path), wallet_keys={**KEYS, "Cold HD": XPRV}
        )

    assert XPRV not in str(refused.value)
    assert XPRV not in caplog.text
    assert not Path(target(tmp_path).removeprefix("sqlite:///")).exists()


def test_the_command_restores_a_wallet_from_its_key(
    wallets_after_snapshot: Engine,
    local_store: LocalStore,
    invoke: Invoke,
    tmp_path: Path,
) -> None:
    outcome = invoke(
        "backup", "restore", "--to", target(tmp_path),
        "--store", local_store.location,
        "--wallet-key", f"Cold HD={ACCOUNT_ZPUB}",
        "--wallet-key", f"Reused={REUSED}",
    )  # fmt: skip

    assert outcome.code == 0, outcome.err
    restored = create_db_engine(target(tmp_path))
    with Session(restored) as session:
        names = set(session.scalars(select(FallbackWallet.name)))
    assert names == {"Cold HD", "Reused"}
    restored.dispose()


def test_the_command_refuses_an_xprv_in_one_line_without_echoing_it(
    wallets_after_snapshot: Engine,
    local_store: LocalStore,
    invoke: Invoke,
    tmp_path: Path,
) -> None:
    outcome = invoke(
        "backup", "restore", "--to", target(tmp_path),
        "--store", local_store.location,
        "--wallet-key", f"Cold HD={XPRV}",
    )  # fmt: skip

    assert outcome.code == 1
    assert "an extended private key" in outcome.err
    assert "Traceback" not in outcome.err
    assert XPRV not in outcome.out + outcome.err
    assert not Path(target(tmp_path).removeprefix("sqlite:///")).exists()


def test_an_unreadable_key_refuses_without_quoting_it(
    wallets_after_snapshot: Engine, local_store: LocalStore, tmp_path: Path
) -> None:
    garbled = "zpub" + "Q" * 107  # the shape of an account key, not a valid one

    with pytest.raises(RestoreRefused, match="'Cold HD'") as refused:
        restore_database(
            local_store, target(tmp_path), wallet_keys={**KEYS, "Cold HD": garbled}
        )

    assert "QQQQ" not in str(refused.value)
    assert not Path(target(tmp_path).removeprefix("sqlite:///")).exists()
