"""The confirmation policy: order classes, RBF, tolerance arithmetic."""

from __future__ import annotations

import pytest

from controlroom.payments.policy import (
    REQUIRED_CONFIRMATIONS,
    OrderClass,
    confirmations_needed,
    order_class,
    shortfall_forgiven_sat,
)


@pytest.mark.parametrize(
    ("amount", "kind", "confirmations"),
    [
        (19_999, OrderClass.SMALL, 0),
        (20_000, OrderClass.STANDARD, 1),
        (120_000, OrderClass.STANDARD, 1),
        (1_000_000, OrderClass.LARGE, 2),
        (9_999_999, OrderClass.LARGE, 2),
        (10_000_000, OrderClass.HIGH_VALUE, 6),
    ],
)
def test_an_order_class_follows_the_amount(
    amount: int, kind: OrderClass, confirmations: int
) -> None:
    assert order_class(amount) is kind
    assert REQUIRED_CONFIRMATIONS[kind] == confirmations


@pytest.mark.parametrize(
    ("required", "rbf", "needed"),
    [(0, False, 0), (0, True, 1), (1, True, 1), (6, True, 6)],
)
def test_only_a_zero_conf_payment_signalling_rbf_needs_one_more_block(
    required: int, rbf: bool, needed: int
) -> None:
    assert confirmations_needed(required, signals_rbf=rbf) == needed


def test_a_tolerance_rounds_down_in_the_merchants_favour() -> None:
    assert shortfall_forgiven_sat(120_000, 300) == 3_600
    assert shortfall_forgiven_sat(33_333, 300) == 999
