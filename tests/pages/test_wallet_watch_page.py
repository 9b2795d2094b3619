"""The Wallet watch screen, headless: wallets, the gap warning, two people."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.journal import JournalEvent
from controlroom.orders.models import Parcel
from controlroom.payments.addresses import Network
from controlroom.payments.models import Invoice, InvoiceException, InvoiceStatus
from controlroom.payments.wallet_watch.models import WalletKind
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
    issue_fallback_address,
)
from tests.overview.small_day import NOW, SmallDay
from tests.pages.conftest import sign_in
from tests.payments.wallet_watch.conftest import ACCOUNT_ZPUB, BIP84

PAGE = "pages/wallet_watch.py"


def fallback_orders(engine: Engine, day: SmallDay, count: int) -> list[str]:
    """Give P4 ``count`` fallback invoices of 25,000 sat; return their addresses."""
    with Session(engine) as session, session.begin():
        parcel = session.scalars(
            select(Parcel).where(Parcel.code == day.codes["P4"])
        ).one()
        add_fallback_wallet(
            session,
            name="Cold HD",
            kind=WalletKind.HD,
            public_key=ACCOUNT_ZPUB,
            network=Network.MAINNET,
            at=NOW,
            actor="olga",
        )
        return [
            issue_fallback_address(
                session, parcel=parcel, amount_sat=25_000, at=NOW, actor="webshop"
            ).address
            for _ in range(count)
        ]


def open_page(role: Role) -> AppTest:
    app = sign_in(role)
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def button(app: AppTest, label: str) -> object:
    return next(b for b in app.button if b.label == label)


def test_ops_see_the_wallets_and_a_gap_warning_before_the_limit(
    small_day_app: SmallDay, engine: Engine
) -> None:
    fallback_orders(engine, small_day_app, 16)

    app = open_page(Role.OPS)

    assert [t.value for t in app.title] == ["Wallet watch"]
    [warning] = [w.value for w in app.warning]
    assert warning.startswith(
        "**Cold HD:** 16 issued addresses in a row are unpaid (index 0–15)"
    )
    assert "raise the gap limit in your wallet software" in warning
    issued = next(d.value for d in app.dataframe if "Index" in d.value.columns)
    assert list(issued["Index"]) == [str(i) for i in range(15, -1, -1)]


def test_a_payment_recorded_by_ops_is_confirmed_then_verified_by_someone_else(
    small_day_app: SmallDay, engine: Engine
) -> None:
    [address] = fallback_orders(engine, small_day_app, 1)
    olga = open_page(Role.OPS)

    olga.text_input(key="record_address").input(address)
    olga.number_input(key="record_amount").set_value(25_000)
    button(olga, "Record payment").click().run()
    assert [s.value for s in olga.success] == [f"Recorded 25,000 sat to {address}."]
    button(olga, "Confirm").click().run()
    verify_for_olga = button(olga, "Verify")

    mona = open_page(Role.MANAGEMENT)
    button(mona, "Verify").click().run()

    assert not olga.exception and not mona.exception
    assert verify_for_olga.disabled
    code = small_day_app.codes["P4"]
    assert [s.value for s in mona.success] == [
        f"Verified by olga and mona: {code} is marked paid."
    ]
    with Session(engine) as session:
        invoice = session.scalars(
            select(Invoice).where(Invoice.address == address)
        ).one()
        marked = session.scalars(
            select(JournalEvent).where(JournalEvent.kind == "InvoiceMarked")
        ).one()
    assert (invoice.status, invoice.exception) == (
        InvoiceStatus.SETTLED,
        InvoiceException.MARKED,
    )
    payload = json.loads(marked.payload)
    assert (payload["first"], payload["second"]) == ("olga", "mona")


def test_a_private_key_offered_on_the_screen_is_refused_in_words(
    small_day_app: SmallDay,
) -> None:
    app = open_page(Role.OPS)
    secret = BIP84["addresses"][0]["wif_TEST_ONLY"]

    app.text_input[0].input("Oops")
    app.text_input[1].input(secret)
    button(app, "Add wallet").click().run()

    assert not app.exception
    [error] = [e.value for e in app.error]
    assert "never takes private keys or seed words; nothing was stored" in error
    assert secret not in error


def test_a_rejected_proposal_moves_to_the_history_with_its_reason(
    small_day_app: SmallDay, engine: Engine
) -> None:
    [address] = fallback_orders(engine, small_day_app, 1)
    app = open_page(Role.OPS)
    app.text_input(key="record_address").input(address)
    app.number_input(key="record_amount").set_value(25_000)
    button(app, "Record payment").click().run()

    # The first match of the day has number 1; its reason box is keyed so.
    app.text_input(key="reason_1").input("the customer says it was a refund")
    button(app, "Reject").click().run()

    assert not app.exception
    history = next(d.value for d in app.dataframe if "Outcome" in d.value.columns)
    assert list(history["Outcome"]) == ["Rejected"]
    assert list(history["Why"]) == ["the customer says it was a refund"]
    assert not [b for b in app.button if b.label == "Confirm"]
