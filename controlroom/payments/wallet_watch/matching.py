"""Which observed payment belongs to which order: proposals for a person.

Two rules, both cautious, because a person ships on what they confirm:

* **exact address** -- an HD fallback wallet gives every order its own
  address, so a payment to that address is that order's;
* **unique amount in the window** -- a single reused address cannot tell
  orders apart, so a payment is proposed for the one open order on that
  address, ordered before it and not long expired, that asks for exactly
  that amount. If two orders ask for it, or two payments of it arrive for
  one order, nothing is proposed and the reason says why.

No observation is ever proposed for two orders. Several observations for
one order (a partial payment and its top-up) are each proposed, and each
proposal shows the sum, so no one confirms half a payment believing it whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A payment to a shared address may arrive a little after the order expired
# (a slow wallet, a fee bump); BTCPay Server's default monitoring window
# after expiry is an hour, and ours is the same.
LATE_WINDOW = timedelta(hours=1)
# Explorer and wallet clocks are not ours: a payment stamped a few minutes
# before the order was issued is still plausibly for it.
CLOCK_SLACK = timedelta(minutes=5)

_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six")


class MatchRule(StrEnum):
    """Why an observation was proposed for an order."""

    EXACT_ADDRESS = "exact_address"
    UNIQUE_AMOUNT = "unique_amount"
    BY_HAND = "by_hand"


@dataclass(frozen=True)
class OpenInvoice:
    """An order still waiting for its on-chain payment.

    ``earlier_parts`` are the amounts of observations already proposed or
    matched for it; ``shared_address`` is true when its address is reused.
    """

    invoice_id: int
    label: str
    address: str
    amount_sat: int
    created_at: datetime
    expires_at: datetime
    shared_address: bool = False
    earlier_parts: tuple[int, ...] = ()

    @property
    def matched_sat(self) -> int:
        """What earlier observations for it add up to."""
        return sum(self.earlier_parts)

    @property
    def due_sat(self) -> int:
        """What is still to pay."""
        return max(self.amount_sat - self.matched_sat, 0)


@dataclass(frozen=True)
class ObservedPayment:
    """A payment someone saw arrive in a wallet or an explorer."""

    observation_id: int
    address: str
    amount_sat: int
    observed_at: datetime


@dataclass(frozen=True)
class Proposal:
    """One observation proposed for one order, in words a person checks."""

    observation_id: int
    invoice_id: int
    rule: MatchRule
    words: str


@dataclass(frozen=True)
class Outcome:
    """The proposals, and for every other observation why it has none."""

    proposals: tuple[Proposal, ...]
    unmatched: dict[int, str]


def propose_matches(
    observations: Sequence[ObservedPayment],
    invoices: Sequence[OpenInvoice],
    *,
    refused: Iterable[tuple[int, int]] = (),
) -> Outcome:
    """Propose an order for each observation, or say why there is none.

    ``refused`` holds ``(observation_id, invoice_id)`` pairs a person
    already rejected; they are never proposed again.
    """
    refused_pairs = frozenset(refused)
    by_address: dict[str, list[OpenInvoice]] = defaultdict(list)
    for invoice in invoices:
        by_address[invoice.address].append(invoice)

    chosen: dict[int, tuple[OpenInvoice, MatchRule]] = {}
    unmatched: dict[int, str] = {}
    for observed in observations:
        on_address = by_address.get(observed.address, [])
        candidates = [
            invoice
            for invoice in on_address
            if (observed.observation_id, invoice.invoice_id) not in refused_pairs
        ]
        found: tuple[OpenInvoice, MatchRule] | str = (
            _candidate(observed, candidates)
            if candidates or not on_address
            else "a person rejected the order proposed for it; match it by hand "
            "if you know whose"
        )
        if isinstance(found, str):
            unmatched[observed.observation_id] = found
        else:
            chosen[observed.observation_id] = found

    _refuse_repeated_amounts(observations, chosen, unmatched)
    proposals = _with_sums(observations, chosen)
    return Outcome(proposals, unmatched)


def _candidate(
    observed: ObservedPayment, candidates: list[OpenInvoice]
) -> tuple[OpenInvoice, MatchRule] | str:
    if not candidates:
        return "no open order uses this address; match it by hand if you know whose"
    own = [invoice for invoice in candidates if not invoice.shared_address]
    if len(own) == 1 and len(candidates) == 1:
        return own[0], MatchRule.EXACT_ADDRESS
    if own:
        return (
            f"ambiguous: the address was given to {_number(len(candidates))} "
            f"orders ({_labels(candidates)}); leave it to a person"
        )

    in_window = [
        invoice
        for invoice in candidates
        if invoice.created_at - CLOCK_SLACK
        <= observed.observed_at
        <= invoice.expires_at + LATE_WINDOW
    ]
    asking = [i for i in in_window if i.due_sat == observed.amount_sat]
    amount = _sat(observed.amount_sat)
    if len(asking) == 1:
        return asking[0], MatchRule.UNIQUE_AMOUNT
    if len(asking) > 1:
        return (
            f"ambiguous: {_number(len(asking))} orders ask for {amount} "
            f"({_labels(asking)}); leave it to a person"
        )
    if in_window:
        asked = ", ".join(sorted({_sat(i.due_sat) for i in in_window}))
        return (
            f"no open order on this shared address asks for {amount} at that "
            f"time (they ask for {asked}); match it by hand if you know whose"
        )
    return (
        "no order on this shared address was open at that time; match it by "
        "hand if you know whose"
    )


def _refuse_repeated_amounts(
    observations: Sequence[ObservedPayment],
    chosen: dict[int, tuple[OpenInvoice, MatchRule]],
    unmatched: dict[int, str],
) -> None:
    # Two payments of the asked amount to a shared address for one order:
    # one of them is someone else's, and no rule can tell which.
    by_invoice: dict[int, list[int]] = defaultdict(list)
    for observation_id, (invoice, rule) in chosen.items():
        if rule is MatchRule.UNIQUE_AMOUNT:
            by_invoice[invoice.invoice_id].append(observation_id)
    amounts = {o.observation_id: o.amount_sat for o in observations}
    for observation_ids in by_invoice.values():
        if len(observation_ids) < 2:
            continue
        invoice = chosen[observation_ids[0]][0]
        words = (
            f"ambiguous: {_number(len(observation_ids))} payments of "
            f"{_sat(amounts[observation_ids[0]])} and one order asking for it "
            f"({invoice.label}); leave it to a person"
        )
        for observation_id in observation_ids:
            del chosen[observation_id]
            unmatched[observation_id] = words


def _with_sums(
    observations: Sequence[ObservedPayment],
    chosen: dict[int, tuple[OpenInvoice, MatchRule]],
) -> tuple[Proposal, ...]:
    amounts = {o.observation_id: o.amount_sat for o in observations}
    together: dict[int, list[int]] = defaultdict(list)
    for observation_id, (invoice, _rule) in chosen.items():
        together[invoice.invoice_id].append(observation_id)

    proposals = []
    for observed in observations:
        if observed.observation_id not in chosen:
            continue
        invoice, rule = chosen[observed.observation_id]
        parts = [amounts[i] for i in together[invoice.invoice_id]]
        words = f"{_rule_words(rule)}; {_sum_words(invoice, parts)}"
        if observed.observed_at > invoice.expires_at:
            words += "; arrived after the order expired"
        proposals.append(
            Proposal(observed.observation_id, invoice.invoice_id, rule, words)
        )
    return tuple(proposals)


def _rule_words(rule: MatchRule) -> str:
    if rule is MatchRule.EXACT_ADDRESS:
        return "exact address (given to this order only)"
    return "the only open order on this shared address asking for this amount"


def _sum_words(invoice: OpenInvoice, parts: list[int]) -> str:
    words = "pays " + payment_sum(invoice.amount_sat, [*invoice.earlier_parts, *parts])
    if invoice.earlier_parts:
        earlier = len(invoice.earlier_parts)
        words += f" (the first {_number(earlier)} proposed or matched earlier)"
    return words


def payment_sum(asked_sat: int, parts: Sequence[int]) -> str:
    """Say what payments add up to against what the order asks."""
    paid = sum(parts)
    total = " + ".join(_plain(part) for part in parts)
    if len(parts) > 1:
        total += f" = {_plain(paid)}"
    if paid == asked_sat:
        return f"{total} of {_sat(asked_sat)}: paid in full"
    if paid < asked_sat:
        return f"{total} of {_sat(asked_sat)}: {_sat(asked_sat - paid)} still due"
    return f"{total} of {_sat(asked_sat)}: overpaid by {_sat(paid - asked_sat)}"


def _labels(invoices: Iterable[OpenInvoice]) -> str:
    # Two invoices of one parcel share its code; their numbers tell them apart.
    chosen = list(invoices)
    codes = [invoice.label for invoice in chosen]
    return ", ".join(
        sorted(
            invoice.label
            if codes.count(invoice.label) == 1
            else f"{invoice.label} (invoice {invoice.invoice_id})"
            for invoice in chosen
        )
    )


def _number(count: int) -> str:
    return _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)


def _plain(amount_sat: int) -> str:
    return f"{amount_sat:,}"


def _sat(amount_sat: int) -> str:
    return f"{amount_sat:,} sat"
