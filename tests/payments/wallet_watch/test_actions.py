"""The screen's actions: who may act, and the words they answer with."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from controlroom.auth.models import Role
from controlroom.errors import PaymentError, PermissionDenied
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.actions import (
    add_wallet,
    import_file,
    load_board,
    record_seen_payment,
)
from controlroom.payments.wallet_watch.models import WalletKind
from controlroom.session_frame import SignedInUser
from tests.payments.wallet_watch.conftest import ACCOUNT_ZPUB, RECEIVE

OLGA = SignedInUser("olga", "Olga", Role.OPS)
DAG = SignedInUser("dag", "Dag", Role.DISPATCHER)


def test_a_dispatcher_may_not_add_a_fallback_wallet(engine: Engine) -> None:
    with pytest.raises(PermissionDenied, match=r"dispatcher\) may not add a fallback"):
        add_wallet(
            engine,
            user=DAG,
            name="Cold HD",
            kind=WalletKind.HD,
            public_key=ACCOUNT_ZPUB,
            network=Network.MAINNET,
        )


def test_ops_add_a_wallet_and_record_a_payment_in_local_time(engine: Engine) -> None:
    added = add_wallet(
        engine,
        user=OLGA,
        name="Cold HD",
        kind=WalletKind.HD,
        public_key=ACCOUNT_ZPUB,
        network=Network.MAINNET,
    )
    recorded = record_seen_payment(
        engine,
        user=OLGA,
        address=RECEIVE[1],
        amount_sat=5_000,
        observed_at="2026-12-04 11:05",
        zone="Europe/Oslo",
    )

    board = load_board(engine)
    assert added == (
        f"Fallback wallet Cold HD added and active; its first address is {RECEIVE[0]}."
    )
    assert recorded == f"Recorded 5,000 sat to {RECEIVE[1]}."
    [seen] = board.observations
    assert seen.observed_at.isoformat() == "2026-12-04T10:05:00+00:00"
    assert seen.state.startswith("not matched: no open order uses this address")


def test_a_time_typed_wrongly_records_nothing(engine: Engine) -> None:
    add_wallet(
        engine,
        user=OLGA,
        name="Cold HD",
        kind=WalletKind.HD,
        public_key=ACCOUNT_ZPUB,
        network=Network.MAINNET,
    )

    with pytest.raises(PaymentError, match="is not a time the control room reads"):
        record_seen_payment(
            engine,
            user=OLGA,
            address=RECEIVE[1],
            amount_sat=5_000,
            observed_at="yesterday",
            zone="Europe/Oslo",
        )

    assert load_board(engine).observations == ()


def test_an_import_says_what_it_added_and_what_it_skipped(engine: Engine) -> None:
    add_wallet(
        engine,
        user=OLGA,
        name="Cold HD",
        kind=WalletKind.HD,
        public_key=ACCOUNT_ZPUB,
        network=Network.MAINNET,
    )
    content = (
        "address,amount_btc,date\n"
        f"{RECEIVE[0]},0.001,2026-12-04T10:05Z\n"
        f"{RECEIVE[0]},0.001,2026-12-04T10:05Z\n"
        f"{RECEIVE[1]},-0.002,2026-12-04T10:06Z\n"
    ).encode()

    said = import_file(
        engine, user=OLGA, content=content, file_name="w.csv", zone=None, unit=None
    )

    assert said == (
        "w.csv: imported 1 payment; 1 duplicate skipped; 1 outgoing line skipped."
    )
