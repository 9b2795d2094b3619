"""Fallback wallets, issued addresses, observations and the gap, in a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.errors import ImportRefused, PaymentError
from controlroom.journal import JournalEvent
from controlroom.orders.models import Parcel
from controlroom.payments.addresses import Network
from controlroom.payments.models import Invoice, InvoiceStatus
from controlroom.payments.wallet_watch.gap import GapLevel
from controlroom.payments.wallet_watch.matching import MatchRule
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    MatchProposal,
    Observation,
    WalletKind,
)
from controlroom.payments.wallet_watch.observations import (
    import_observations,
    record_observation,
)
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
    gap_reports,
    issue_fallback_address,
)
from controlroom.payments.wallet_watch.verification import match_outcome
from tests.conftest import DAY
from tests.orders.world import head_seq, kinds_after
from tests.payments.wallet_watch.conftest import ACCOUNT_ZPUB, RECEIVE, REUSED

NewParcel = Callable[[], Parcel]

# An hour into the day: after every payment the files below saw.
LATER = DAY + timedelta(hours=1)


def hd_wallet(session: Session) -> FallbackWallet:
    return add_fallback_wallet(
        session,
        name="Cold HD",
        kind=WalletKind.HD,
        public_key=ACCOUNT_ZPUB,
        network=Network.MAINNET,
        at=DAY,
        actor="olga",
    )


def reused_wallet(session: Session) -> FallbackWallet:
    return add_fallback_wallet(
        session,
        name="Counter address",
        kind=WalletKind.SINGLE_ADDRESS,
        public_key=REUSED,
        network=Network.MAINNET,
        at=DAY,
        actor="olga",
    )


def proposals(session: Session) -> list[tuple[int, int, MatchRule]]:
    return [
        (m.observation_id, m.invoice_id, m.rule)
        for m in session.scalars(select(MatchProposal).order_by(MatchProposal.id))
    ]


def test_an_hd_wallet_gives_each_order_the_next_derived_address(
    session: Session, new_parcel: NewParcel
) -> None:
    hd_wallet(session)
    seq = head_seq(session)

    first = issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=25_000, at=DAY, actor="webshop"
    )
    second = issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=30_000, at=DAY, actor="webshop"
    )

    assert [first.derivation_index, second.derivation_index] == [0, 1]
    assert [first.address, second.address] == RECEIVE
    assert first.invoice.address == RECEIVE[0]
    assert first.invoice.expires_at == DAY + timedelta(hours=1)
    assert kinds_after(session, seq).count("FallbackAddressIssued") == 2


def test_no_active_wallet_means_no_fallback_address(
    session: Session, new_parcel: NewParcel
) -> None:
    with pytest.raises(PaymentError, match="No fallback wallet is active"):
        issue_fallback_address(
            session, parcel=new_parcel(), amount_sat=25_000, at=DAY, actor="webshop"
        )


def test_25_unpaid_addresses_then_a_payment_at_index_25_is_seen_with_a_gap_warning(
    session: Session, new_parcel: NewParcel
) -> None:
    wallet = hd_wallet(session)
    issued = [
        issue_fallback_address(
            session, parcel=new_parcel(), amount_sat=25_000, at=DAY, actor="webshop"
        )
        for _ in range(26)
    ]

    observation = record_observation(
        session,
        address=issued[25].address,
        amount_sat=25_000,
        observed_at=DAY + timedelta(minutes=20),
        recorded_by="olga",
        at=DAY + timedelta(minutes=25),
    )

    assert issued[25].derivation_index == 25
    assert proposals(session) == [
        (observation.id, issued[25].invoice_id, MatchRule.EXACT_ADDRESS)
    ]
    report = gap_reports(session)[wallet.id]
    assert report.level is GapLevel.RED
    assert report.invisible_paid == (25,)
    assert report.words.startswith(
        "Payments to index ≥ 20 are invisible to a wallet with gap limit 20: "
        "index 25 was paid after the unpaid indexes 0–24."
    )


def test_a_reused_address_payment_is_proposed_by_its_unique_amount(
    session: Session, new_parcel: NewParcel
) -> None:
    reused_wallet(session)
    small = issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=55_000, at=DAY, actor="webshop"
    )
    issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=60_000, at=DAY, actor="webshop"
    )

    seen = record_observation(
        session,
        address=REUSED,
        amount_sat=55_000,
        observed_at=DAY + timedelta(minutes=10),
        recorded_by="olga",
        at=DAY + timedelta(minutes=12),
    )

    assert small.address == REUSED
    assert small.derivation_index is None
    assert proposals(session) == [(seen.id, small.invoice_id, MatchRule.UNIQUE_AMOUNT)]


def test_an_amount_two_orders_on_a_reused_address_ask_for_is_not_matched(
    session: Session, new_parcel: NewParcel
) -> None:
    reused_wallet(session)
    codes = sorted(
        issue_fallback_address(
            session, parcel=new_parcel(), amount_sat=55_000, at=DAY, actor="webshop"
        ).invoice.parcel.code
        for _ in range(2)
    )

    seen = record_observation(
        session,
        address=REUSED,
        amount_sat=55_000,
        observed_at=DAY + timedelta(minutes=10),
        recorded_by="olga",
        at=DAY + timedelta(minutes=12),
    )

    assert proposals(session) == []
    assert match_outcome(session).unmatched[seen.id] == (
        f"ambiguous: two orders ask for 55,000 sat ({codes[0]}, {codes[1]}); "
        "leave it to a person"
    )


def csv_text(*rows: str) -> bytes:
    return ("address,amount_btc,date,txid\n" + "".join(rows)).encode()


def test_a_good_csv_is_imported_and_matched_and_a_second_import_skips_duplicates(
    session: Session, new_parcel: NewParcel
) -> None:
    hd_wallet(session)
    issued = issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=55_000, at=DAY, actor="webshop"
    )
    content = csv_text(
        f"{issued.address},0.00055,2026-12-04T06:10:00Z,{'ab' * 32}\n",
        f"{RECEIVE[1]},0.001,2026-12-04T06:11:00Z,\n",
    )

    first = import_observations(
        session, content=content, file_name="explorer.csv", recorded_by="olga", at=LATER
    )
    again = import_observations(
        session, content=content, file_name="explorer.csv", recorded_by="olga", at=LATER
    )

    assert [o.file_row for o in first.imported] == [2, 3]
    assert first.imported[0].amount_sat == 55_000
    assert again.imported == ()
    assert again.duplicates == (
        f"Row 2: 55,000 sat to {issued.address} is already recorded; skipped, "
        "not counted twice.",
        f"Row 3: 100,000 sat to {RECEIVE[1]} is already recorded; skipped, "
        "not counted twice.",
    )
    assert session.scalar(select(func.count()).select_from(Observation)) == 2
    assert proposals(session) == [
        (first.imported[0].id, issued.invoice_id, MatchRule.EXACT_ADDRESS)
    ]


def test_a_csv_with_one_bad_row_imports_nothing_and_journals_nothing(
    session: Session, new_parcel: NewParcel
) -> None:
    hd_wallet(session)
    issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=55_000, at=DAY, actor="webshop"
    )
    seq = head_seq(session)
    content = csv_text(
        f"{RECEIVE[0]},0.00055,2026-12-04T06:10:00Z,\n",
        f"{RECEIVE[1]},0.0000000001,2026-12-04T06:11:00Z,\n",
    )

    with pytest.raises(ImportRefused, match=r"Row 3, amount: .* has 10 decimals"):
        import_observations(
            session, content=content, file_name="bad.csv", recorded_by="olga", at=DAY
        )

    assert session.scalar(select(func.count()).select_from(Observation)) == 0
    assert kinds_after(session, seq) == []


def test_a_payment_recorded_twice_by_hand_is_refused(
    session: Session, new_parcel: NewParcel
) -> None:
    hd_wallet(session)
    txid = "cd" * 32
    record_observation(
        session,
        address=RECEIVE[0],
        amount_sat=1_000,
        observed_at=DAY,
        txid=txid,
        recorded_by="olga",
        at=DAY,
    )

    with pytest.raises(PaymentError, match="already recorded; it is not counted"):
        record_observation(
            session,
            address=RECEIVE[0],
            amount_sat=1_000,
            observed_at=DAY,
            txid=txid.upper(),
            recorded_by="mona",
            at=DAY,
        )


def test_an_observation_on_another_network_is_refused(session: Session) -> None:
    hd_wallet(session)

    with pytest.raises(PaymentError, match="the control room runs on mainnet"):
        record_observation(
            session,
            address="tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54",
            amount_sat=1_000,
            observed_at=DAY,
            recorded_by="olga",
            at=DAY,
        )


def test_a_new_wallet_becomes_the_only_active_one(session: Session) -> None:
    old = hd_wallet(session)

    new = reused_wallet(session)

    assert (old.active, new.active) == (False, True)
    assert new.first_address == REUSED
    event = session.scalars(
        select(JournalEvent).where(JournalEvent.kind == "FallbackWalletAdded")
    ).first()
    assert event is not None
    assert ACCOUNT_ZPUB not in event.payload


def test_settled_invoices_are_not_proposed(
    session: Session, new_parcel: NewParcel
) -> None:
    hd_wallet(session)
    issued = issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=1_000, at=DAY, actor="webshop"
    )
    invoice = session.get(Invoice, issued.invoice_id)
    assert invoice is not None
    invoice.status = InvoiceStatus.SETTLED

    record_observation(
        session,
        address=issued.address,
        amount_sat=1_000,
        observed_at=DAY,
        recorded_by="olga",
        at=DAY,
    )

    assert proposals(session) == []


def test_an_address_the_tracker_saw_paid_counts_as_used_for_the_gap(
    session: Session, new_parcel: NewParcel
) -> None:
    from controlroom.payments.onchain import see_onchain_payment

    wallet = hd_wallet(session)
    issued = [
        issue_fallback_address(
            session, parcel=new_parcel(), amount_sat=25_000, at=DAY, actor="webshop"
        )
        for _ in range(3)
    ]

    see_onchain_payment(
        session,
        invoice=issued[2].invoice,
        txid="ab" * 32,
        vout=0,
        amount_sat=25_000,
        spends=["cd" * 32 + ":0"],
        signals_rbf=False,
        seen_at=DAY + timedelta(minutes=5),
        actor="payment-tracker",
    )

    report = gap_reports(session)[wallet.id]
    assert report.last_seen_paid == 2
    assert report.unpaid_run == 0


def test_the_same_key_added_again_is_refused_so_no_address_is_issued_twice(
    session: Session,
) -> None:
    hd_wallet(session)

    with pytest.raises(PaymentError, match="already the fallback wallet"):
        add_fallback_wallet(
            session,
            name="The same key under another name",
            kind=WalletKind.HD,
            public_key=ACCOUNT_ZPUB,
            network=Network.MAINNET,
            at=DAY,
            actor="olga",
        )


@pytest.mark.parametrize(
    "name",
    [
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
        "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617",
    ],
)
def test_a_secret_typed_as_the_wallet_name_is_refused_and_not_stored(
    session: Session, name: str
) -> None:
    with pytest.raises(PaymentError, match="never takes private keys") as refused:
        add_fallback_wallet(
            session,
            name=name,
            kind=WalletKind.HD,
            public_key=ACCOUNT_ZPUB,
            network=Network.MAINNET,
            at=DAY,
            actor="olga",
        )

    assert name not in str(refused.value)
    assert session.scalar(select(func.count()).select_from(FallbackWallet)) == 0


def test_a_raw_hex_private_key_is_refused_as_one(session: Session) -> None:
    with pytest.raises(PaymentError, match="raw private key"):
        add_fallback_wallet(
            session,
            name="hex",
            kind=WalletKind.HD,
            public_key="0c" * 32,
            network=Network.MAINNET,
            at=DAY,
            actor="olga",
        )


def test_a_payment_seen_in_the_future_or_beyond_all_bitcoin_is_refused(
    session: Session, new_parcel: NewParcel
) -> None:
    hd_wallet(session)
    issued = issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=25_000, at=DAY, actor="webshop"
    )

    with pytest.raises(PaymentError, match="later than now"):
        record_observation(
            session,
            address=issued.address,
            amount_sat=25_000,
            observed_at=DAY + timedelta(days=365),
            recorded_by="olga",
            at=DAY,
        )
    with pytest.raises(PaymentError, match="more than 21 million BTC"):
        record_observation(
            session,
            address=issued.address,
            amount_sat=2_100_000_000_000_001,
            observed_at=DAY,
            recorded_by="olga",
            at=DAY,
        )
