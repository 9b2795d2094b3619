"""The run of issued-but-unpaid addresses against a wallet's gap limit."""

from __future__ import annotations

from controlroom.payments.wallet_watch.gap import GapLevel, gap_report


def test_a_few_unpaid_addresses_are_clear() -> None:
    report = gap_report(range(10), [3, 5])

    assert report.level is GapLevel.CLEAR
    assert report.unpaid_indexes == (6, 7, 8, 9)
    assert report.hidden_from == 26


def test_fifteen_unpaid_in_a_row_warn_amber_before_the_limit() -> None:
    report = gap_report(range(15), [])

    assert report.level is GapLevel.AMBER
    assert report.words.startswith(
        "15 issued addresses in a row are unpaid (index 0–14); after 5 more "
        "unpaid, payments to index ≥ 20 are invisible to a wallet with gap limit 20"
    )
    assert "raise the gap limit in your wallet software" in report.words


def test_twenty_unpaid_in_a_row_are_red() -> None:
    report = gap_report(range(20), [])

    assert report.level is GapLevel.RED
    assert "payments to index ≥ 20 are invisible" in report.words


def test_a_payment_past_the_gap_is_named_invisible_with_the_limit_needed() -> None:
    report = gap_report(range(26), [25])

    assert report.level is GapLevel.RED
    assert report.invisible_paid == (25,)
    assert report.needed_gap_limit == 26
    assert report.words == (
        "Payments to index ≥ 20 are invisible to a wallet with gap limit 20: "
        "index 25 was paid after the unpaid indexes 0–24. The control room saw "
        "it; to see it in the wallet, raise the gap limit in your wallet "
        "software to at least 26."
    )


def test_a_paid_address_within_the_gap_moves_the_horizon_on() -> None:
    report = gap_report(range(40), [19, 38])

    assert report.invisible_paid == ()
    assert report.last_seen_paid == 38
    assert report.hidden_from == 59
    assert report.level is GapLevel.CLEAR


def test_everything_after_an_invisible_payment_is_invisible_too() -> None:
    report = gap_report(range(60), [30, 45])

    assert report.invisible_paid == (30, 45)
    assert report.hidden_from == 20
