"""Confirm, verify, reject: a payment counts when two different people agree."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.journal import JournalEvent
from controlroom.orders.models import Parcel
from controlroom.payments.addresses import Network
from controlroom.payments.models import InvoiceException, InvoiceStatus
from controlroom.payments.wallet_watch.matching import MatchRule
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    IssuedAddress,
    MatchProposal,
    MatchStatus,
    WalletKind,
)
from controlroom.payments.wallet_watch.observations import (
    record_observation,
)
from controlroom.payments.wallet_watch.service import (
    add_fallback_wallet,
    issue_fallback_address,
)
from controlroom.payments.wallet_watch.verification import (
    confirm_match,
    match_by_hand,
    reject_match,
    verify_match,
)
from tests.conftest import DAY
from tests.orders.world import head_seq, kinds_after
from tests.payments.wallet_watch.conftest import ACCOUNT_ZPUB, BIP84, REUSED

LATER = DAY + timedelta(minutes=30)


@pytest.fixture
def order_on_fallback(
    session: Session, new_parcel: Callable[[], Parcel]
) -> IssuedAddress:
    """An order of 120,000 sat given address 0 of the BIP84 test wallet."""
    add_fallback_wallet(
        session,
        name="Cold HD",
        kind=WalletKind.HD,
        public_key=ACCOUNT_ZPUB,
        network=Network.MAINNET,
        at=DAY,
        actor="olga",
    )
    return issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=120_000, at=DAY, actor="webshop"
    )


def observe(session: Session, issued: IssuedAddress, amount: int) -> MatchProposal:
    observation = record_observation(
        session,
        address=issued.address,
        amount_sat=amount,
        observed_at=DAY + timedelta(minutes=5),
        recorded_by="olga",
        at=DAY + timedelta(minutes=6),
    )
    match = session.scalar(
        select(MatchProposal).where(MatchProposal.observation_id == observation.id)
    )
    assert match is not None
    return match


def test_the_person_who_confirmed_cannot_also_verify(
    session: Session, order_on_fallback: IssuedAddress
) -> None:
    match = observe(session, order_on_fallback, 120_000)
    confirm_match(session, match=match, actor="olga", at=LATER)

    with pytest.raises(PaymentError, match="You confirmed this match yourself"):
        verify_match(session, match=match, actor="olga", at=LATER)

    assert match.status is MatchStatus.CONFIRMED
    assert order_on_fallback.invoice.status is InvoiceStatus.NEW


def test_two_different_people_settle_the_order_and_both_land_in_the_journal(
    session: Session, order_on_fallback: IssuedAddress
) -> None:
    match = observe(session, order_on_fallback, 120_000)
    seq = head_seq(session)

    confirm_match(session, match=match, actor="olga", at=LATER)
    settled = verify_match(session, match=match, actor="mona", at=LATER)

    invoice = order_on_fallback.invoice
    assert settled
    assert (invoice.status, invoice.exception) == (
        InvoiceStatus.SETTLED,
        InvoiceException.MARKED,
    )
    assert kinds_after(session, seq) == [
        "WalletMatchConfirmed",
        "WalletMatchVerified",
        "InvoiceMarked",
    ]
    events = session.scalars(
        select(JournalEvent).where(JournalEvent.seq > seq).order_by(JournalEvent.seq)
    ).all()
    assert [e.actor for e in events] == ["olga", "mona", "mona"]
    marked = json.loads(events[-1].payload)
    assert (marked["first"], marked["second"]) == ("olga", "mona")
    assert json.loads(events[1].payload)["first"] == "olga"


def test_a_partial_payment_waits_for_its_top_up_before_the_order_settles(
    session: Session, order_on_fallback: IssuedAddress
) -> None:
    part = observe(session, order_on_fallback, 100_000)
    confirm_match(session, match=part, actor="olga", at=LATER)
    assert not verify_match(session, match=part, actor="mona", at=LATER)

    top_up = observe(session, order_on_fallback, 20_000)
    confirm_match(session, match=top_up, actor="mona", at=LATER)
    settled = verify_match(session, match=top_up, actor="olga", at=LATER)

    assert "100,000 + 20,000 = 120,000 of 120,000 sat" in top_up.confidence
    assert settled
    assert order_on_fallback.invoice.status is InvoiceStatus.SETTLED


def test_a_rejected_match_needs_a_reason_and_is_not_proposed_again(
    session: Session, order_on_fallback: IssuedAddress
) -> None:
    match = observe(session, order_on_fallback, 120_000)

    with pytest.raises(PaymentError, match="Say why the match is wrong"):
        reject_match(session, match=match, reason="  ", actor="mona", at=LATER)
    reject_match(
        session, match=match, reason="customer paid another way", actor="mona", at=LATER
    )
    record_observation(
        session,
        address=REUSED,
        amount_sat=1,
        observed_at=DAY,
        recorded_by="olga",
        at=LATER,
    )

    assert session.scalars(select(MatchProposal.status)).all() == [MatchStatus.REJECTED]


def test_a_payment_matched_by_hand_counts_as_confirmed_and_needs_a_second_person(
    session: Session, order_on_fallback: IssuedAddress
) -> None:
    match = observe(session, order_on_fallback, 120_000)
    reject_match(session, match=match, reason="checking", actor="mona", at=LATER)

    again = match_by_hand(
        session,
        observation=match.observation,
        invoice=order_on_fallback.invoice,
        reason="customer sent the txid by SMS",
        actor="mona",
        at=LATER,
    )

    assert (again.rule, again.status, again.confirmed_by) == (
        MatchRule.BY_HAND,
        MatchStatus.CONFIRMED,
        "mona",
    )
    with pytest.raises(PaymentError, match="a second, different person"):
        verify_match(session, match=again, actor="mona", at=LATER)


def test_one_payment_cannot_be_confirmed_for_a_second_order(
    session: Session,
    order_on_fallback: IssuedAddress,
    new_parcel: Callable[[], Parcel],
) -> None:
    match = observe(session, order_on_fallback, 120_000)
    confirm_match(session, match=match, actor="olga", at=LATER)
    other = issue_fallback_address(
        session, parcel=new_parcel(), amount_sat=120_000, at=DAY, actor="webshop"
    )

    with pytest.raises(PaymentError, match=r"already matched to .*one payment pays"):
        match_by_hand(
            session,
            observation=match.observation,
            invoice=other.invoice,
            reason="wrong order?",
            actor="mona",
            at=LATER,
        )


def test_the_database_refuses_one_person_as_both_confirmer_and_verifier(
    session: Session, order_on_fallback: IssuedAddress
) -> None:
    match = observe(session, order_on_fallback, 120_000)
    confirm_match(session, match=match, actor="olga", at=LATER)
    session.flush()

    with (
        pytest.raises(IntegrityError, match="ck_wallet_matches_two_people"),
        session.begin_nested(),
    ):
        session.execute(
            update(MatchProposal)
            .where(MatchProposal.id == match.id)
            .values(verified_by="olga", status=MatchStatus.VERIFIED)
        )


@pytest.mark.parametrize(
    "secret",
    [
        BIP84["account_0"]["zprv_TEST_ONLY"],
        BIP84["addresses"][0]["wif_TEST_ONLY"],
        BIP84["mnemonic"],
    ],
    ids=["zprv", "wif", "seed_words"],
)
def test_private_key_material_offered_as_a_wallet_is_refused_never_stored_or_logged(
    session: Session, caplog: pytest.LogCaptureFixture, secret: str
) -> None:
    caplog.set_level(logging.DEBUG)
    seq = head_seq(session)

    with pytest.raises(PaymentError, match="watch-only and never takes") as refused:
        add_fallback_wallet(
            session,
            name="Oops",
            kind=WalletKind.HD,
            public_key=secret,
            network=Network.MAINNET,
            at=DAY,
            actor="olga",
        )

    assert secret not in str(refused.value)
    assert session.scalars(select(FallbackWallet)).all() == []
    assert kinds_after(session, seq) == []
    assert secret not in caplog.text
    assert "refused private key material" in caplog.text
