"""How sure we must be of an on-chain payment before a parcel ships on it.

Each order falls into a class by its amount, and each class asks for a
number of confirmations. The thresholds weigh what a double spend would cost
us (one delivery done for nothing) against how long a customer waits at the
door (a block takes ten minutes on average, an hour for six).

=============  ==================  =============
order class    amount (sat)        confirmations
=============  ==================  =============
small          below 20,000        0
standard       below 1,000,000     1
large          below 10,000,000    2
high value     10,000,000 and up   6
=============  ==================  =============

A payment that signals replaceability (BIP 125) can be swapped for one that
pays someone else while it waits in the mempool, so it never counts at zero
confirmations: it needs one. Not signalling is no guarantee either: since
Bitcoin Core 28 nodes relay full-RBF replacements by default, which is why
zero confirmations are kept to the small class.
"""

from __future__ import annotations

from enum import StrEnum

# Below the cheapest delivery (20,000 sat): surcharges and top-ups, where a
# double spend costs less than making the customer wait ten minutes for a
# block. Parcels themselves wait for one.
SMALL_BELOW_SAT = 20_000
# A pallet or an urgent courier run; one block makes a double spend need a
# miner's help.
STANDARD_BELOW_SAT = 1_000_000
# Beyond this a reorg of one block would already hurt; at 10,000,000 sat
# (0.1 BTC) we ask for the six blocks exchanges traditionally wait for.
LARGE_BELOW_SAT = 10_000_000

# Confirmations are counted this deep and no deeper: below it the payment
# is final for every class, and a reorg that deep is not one we plan for.
TRACKED_DEPTH = 6

# BTCPay Server's default is to watch an address for a day after expiry;
# a parcel courier cannot wait that long for an answer, so an hour.
MONITORING_MINUTES = 60

# No tolerance by default: an underpayment goes to a person, who may accept
# it by hand. Basis points, so that 3 % is the integer 300.
DEFAULT_TOLERANCE_BP = 0
FULL_TOLERANCE_BP = 10_000


class OrderClass(StrEnum):
    """How much trust an order's amount asks for before it ships."""

    SMALL = "small"
    STANDARD = "standard"
    LARGE = "large"
    HIGH_VALUE = "high_value"


REQUIRED_CONFIRMATIONS = {
    OrderClass.SMALL: 0,
    OrderClass.STANDARD: 1,
    OrderClass.LARGE: 2,
    OrderClass.HIGH_VALUE: 6,
}


def order_class(amount_sat: int) -> OrderClass:
    """Return the class of an order asking for ``amount_sat``."""
    if amount_sat < SMALL_BELOW_SAT:
        return OrderClass.SMALL
    if amount_sat < STANDARD_BELOW_SAT:
        return OrderClass.STANDARD
    if amount_sat < LARGE_BELOW_SAT:
        return OrderClass.LARGE
    return OrderClass.HIGH_VALUE


def confirmations_needed(required: int, *, signals_rbf: bool) -> int:
    """Return the confirmations one payment needs under its invoice's rule.

    A zero-confirmation acceptance is only as good as the payer's promise
    not to replace the transaction; one that signals BIP 125 replaceability
    has made no such promise, so it waits for a block.
    """
    if required == 0 and signals_rbf:
        return 1
    return required


def shortfall_forgiven_sat(amount_sat: int, tolerance_bp: int) -> int:
    """Return how many sat short of ``amount_sat`` still count as paid.

    Rounded down, so a tolerance never forgives more than it says.
    """
    return amount_sat * tolerance_bp // FULL_TOLERANCE_BP
