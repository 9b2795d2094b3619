"""Proposing which order an observed payment belongs to (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controlroom.payments.wallet_watch.matching import (
    MatchRule,
    ObservedPayment,
    OpenInvoice,
    propose_matches,
)

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
SHARED = "bc1qshared"


def own(invoice_id: int, address: str, amount: int = 120_000) -> OpenInvoice:
    return OpenInvoice(
        invoice_id,
        f"P{invoice_id}",
        address,
        amount,
        created_at=T0,
        expires_at=T0 + timedelta(hours=1),
    )


def shared(invoice_id: int, amount: int, minutes: int = 0) -> OpenInvoice:
    start = T0 + timedelta(minutes=minutes)
    return OpenInvoice(
        invoice_id,
        f"P{invoice_id}",
        SHARED,
        amount,
        created_at=start,
        expires_at=start + timedelta(hours=1),
        shared_address=True,
    )


def seen(
    observation_id: int, address: str, amount: int, minutes: int = 10
) -> ObservedPayment:
    return ObservedPayment(
        observation_id, address, amount, T0 + timedelta(minutes=minutes)
    )


def test_a_payment_to_an_orders_own_address_is_proposed_for_that_order() -> None:
    outcome = propose_matches([seen(1, "bc1qa", 120_000)], [own(7, "bc1qa")])

    [proposal] = outcome.proposals
    assert (proposal.observation_id, proposal.invoice_id) == (1, 7)
    assert proposal.rule is MatchRule.EXACT_ADDRESS
    assert "pays 120,000 of 120,000 sat: paid in full" in proposal.words
    assert outcome.unmatched == {}


def test_a_partial_payment_and_its_top_up_are_both_proposed_with_the_sum() -> None:
    outcome = propose_matches(
        [seen(1, "bc1qa", 100_000), seen(2, "bc1qa", 20_000, minutes=20)],
        [own(7, "bc1qa")],
    )

    assert [(p.observation_id, p.invoice_id) for p in outcome.proposals] == [
        (1, 7),
        (2, 7),
    ]
    for proposal in outcome.proposals:
        assert "100,000 + 20,000 = 120,000 of 120,000 sat" in proposal.words


def test_an_underpayment_says_what_is_still_due() -> None:
    outcome = propose_matches([seen(1, "bc1qa", 116_776)], [own(7, "bc1qa")])

    assert "3,224 sat still due" in outcome.proposals[0].words


def test_a_payment_after_expiry_is_proposed_and_says_it_came_late() -> None:
    outcome = propose_matches([seen(1, "bc1qa", 120_000, 90)], [own(7, "bc1qa")])

    assert outcome.proposals[0].words.endswith("arrived after the order expired")


def test_a_unique_amount_on_a_shared_address_in_the_window_is_proposed() -> None:
    invoices = [shared(1, 55_000), shared(2, 60_000)]

    outcome = propose_matches([seen(10, SHARED, 60_000)], invoices)

    [proposal] = outcome.proposals
    assert (proposal.invoice_id, proposal.rule) == (2, MatchRule.UNIQUE_AMOUNT)


def test_an_amount_two_open_orders_ask_for_is_not_matched() -> None:
    invoices = [shared(1, 55_000), shared(2, 55_000, minutes=3)]

    outcome = propose_matches([seen(10, SHARED, 55_000)], invoices)

    assert outcome.proposals == ()
    assert outcome.unmatched == {
        10: "ambiguous: two orders ask for 55,000 sat (P1, P2); leave it to a person"
    }


def test_an_order_outside_the_window_does_not_make_an_amount_ambiguous() -> None:
    invoices = [shared(1, 55_000, minutes=-300), shared(2, 55_000)]

    outcome = propose_matches([seen(10, SHARED, 55_000)], invoices)

    assert [p.invoice_id for p in outcome.proposals] == [2]


def test_two_payments_of_one_orders_amount_are_left_to_a_person() -> None:
    outcome = propose_matches(
        [seen(10, SHARED, 55_000), seen(11, SHARED, 55_000, 12)],
        [shared(1, 55_000)],
    )

    assert outcome.proposals == ()
    assert set(outcome.unmatched) == {10, 11}
    assert outcome.unmatched[10].startswith(
        "ambiguous: two payments of 55,000 sat and one order asking for it (P1)"
    )


def test_a_shared_address_payment_no_order_asks_for_names_what_they_ask() -> None:
    outcome = propose_matches([seen(10, SHARED, 50_000)], [shared(1, 55_000)])

    assert outcome.unmatched[10] == (
        "no open order on this shared address asks for 50,000 sat at that time "
        "(they ask for 55,000 sat); match it by hand if you know whose"
    )


def test_a_rejected_pair_is_never_proposed_again() -> None:
    outcome = propose_matches(
        [seen(1, "bc1qa", 120_000)], [own(7, "bc1qa")], refused=[(1, 7)]
    )

    assert outcome.proposals == ()
    assert outcome.unmatched[1].startswith("a person rejected the order proposed")


def test_a_payment_to_an_unknown_address_is_not_matched() -> None:
    outcome = propose_matches([seen(1, "bc1qz", 5_000)], [own(7, "bc1qa")])

    assert outcome.unmatched[1].startswith("no open order uses this address")


def test_a_part_proposed_earlier_counts_toward_the_sum() -> None:
    invoice = OpenInvoice(
        7, "P7", "bc1qa", 120_000, T0, T0 + timedelta(hours=1), earlier_parts=(100_000,)
    )

    outcome = propose_matches([seen(2, "bc1qa", 20_000)], [invoice])

    assert outcome.proposals[0].words.endswith(
        "pays 100,000 + 20,000 = 120,000 of 120,000 sat: paid in full (the first "
        "one proposed or matched earlier)"
    )
