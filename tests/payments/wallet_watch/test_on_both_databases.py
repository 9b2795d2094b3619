"""The whole fallback round on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlroom.payments.addresses import Network
from controlroom.payments.models import Invoice, InvoiceStatus
from controlroom.payments.wallet_watch.models import (
    MatchProposal,
    MatchStatus,
    WalletKind,
)
from controlroom.payments.wallet_watch.observations import (
    ImportReport,
    import_observations,
)
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
    issue_fallback_address,
)
from controlroom.payments.wallet_watch.verification import confirm_match, verify_match
from tests.conftest import DAY
from tests.orders.world import customers, order
from tests.payments.wallet_watch.conftest import ACCOUNT_ZPUB

TXID = "ef" * 32


def fallback_order(engine: Engine) -> tuple[str, int]:
    """An order of 25,000 sat on the BIP84 test wallet: its address, invoice."""
    with Session(engine) as session, session.begin():
        add_fallback_wallet(
            session,
            name="Cold HD",
            kind=WalletKind.HD,
            public_key=ACCOUNT_ZPUB,
            network=Network.MAINNET,
            at=DAY,
            actor="olga",
        )
        issued = issue_fallback_address(
            session,
            parcel=order(session, *customers(session)),
            amount_sat=25_000,
            at=DAY,
            actor="webshop",
        )
        return issued.address, issued.invoice_id


def import_once(engine: Engine, address: str) -> ImportReport:
    content = (
        f"address,amount_sat,date (UTC),txid\n{address},25000,2026-12-04 06:10,{TXID}\n"
    )
    with Session(engine) as session, session.begin():
        return import_observations(
            session,
            content=content.encode(),
            file_name="explorer.csv",
            recorded_by="olga",
            at=DAY + timedelta(minutes=15),
        )


def test_an_imported_payment_is_settled_by_two_people_and_not_imported_twice(
    any_engine: Engine,
) -> None:
    address, invoice_id = fallback_order(any_engine)

    import_once(any_engine, address)
    again = import_once(any_engine, address)
    with Session(any_engine) as session, session.begin():
        match = session.scalars(select(MatchProposal)).one()
        confirm_match(session, match=match, actor="olga", at=DAY)
        verify_match(session, match=match, actor="mona", at=DAY)

    assert (len(again.imported), len(again.duplicates)) == (0, 1)
    with Session(any_engine) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        assert invoice.status is InvoiceStatus.SETTLED


def test_the_database_refuses_one_person_as_confirmer_and_verifier(
    any_engine: Engine,
) -> None:
    address, _ = fallback_order(any_engine)
    import_once(any_engine, address)
    with Session(any_engine) as session, session.begin():
        match = session.scalars(select(MatchProposal)).one()
        confirm_match(session, match=match, actor="olga", at=DAY)

    with (
        pytest.raises(IntegrityError, match="ck_wallet_matches_two_people"),
        Session(any_engine) as session,
        session.begin(),
    ):
        session.execute(
            update(MatchProposal).values(
                verified_by="olga", status=MatchStatus.VERIFIED
            )
        )
