"""The gap between issued and paid addresses of an HD fallback wallet.

Wallet software finds an HD wallet's payments by scanning its receive
addresses in order and stops after a run of unused ones, the *gap limit*
(BIP44, "Address gap limit": 20, which most wallets keep). The control room
issues one address per order, and unpaid orders leave unused addresses
behind, so a payment to a later address can be invisible in the wallet ops
open to look -- while the money is there. This module says, per wallet,
which indexes are past that horizon, before it happens and when it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from controlroom.words import counted

STANDARD_GAP_LIMIT = 20
# Warn while there is still room: a few more unpaid orders and the next
# address is past a standard wallet's horizon.
AMBER_FROM = 15


class GapLevel(StrEnum):
    """How close the wallet is to hiding payments."""

    CLEAR = "clear"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True)
class GapReport:
    """The issued-but-unpaid run of one wallet and what it means.

    ``unpaid_run`` counts the issued addresses past the last paid one a
    wallet can see; ``invisible_paid`` names paid indexes a wallet with
    the standard gap limit never reaches; ``hidden_from`` is the first
    index such a wallet does not look at.
    """

    issued: int
    last_seen_paid: int | None
    unpaid_run: int
    unpaid_indexes: tuple[int, ...]
    invisible_paid: tuple[int, ...]
    hidden_from: int
    needed_gap_limit: int
    level: GapLevel
    words: str


def gap_report(
    issued_indexes: Iterable[int],
    paid_indexes: Iterable[int],
    *,
    gap_limit: int = STANDARD_GAP_LIMIT,
) -> GapReport:
    """Report the unpaid run of one HD wallet against ``gap_limit``.

    A wallet that has seen a payment at index ``f`` looks at ``f + 1`` to
    ``f + gap_limit``; a payment there moves ``f`` on, one beyond is never
    found (and nothing after it either).
    """
    issued = sorted(set(issued_indexes))
    paid = sorted(set(paid_indexes))

    frontier = -1
    invisible: list[int] = []
    for index in paid:
        if invisible or index - frontier > gap_limit:
            invisible.append(index)
        else:
            frontier = index
    hidden_from = frontier + gap_limit + 1

    paid_set = set(paid)
    unpaid = tuple(i for i in issued if i > frontier and i not in paid_set)
    last_issued = issued[-1] if issued else -1
    # Seeing every issued address needs a limit longer than every run of
    # unpaid indexes before a paid one, and than the run still open.
    runs = [b - a - 1 for a, b in zip([-1, *paid], paid, strict=False)]
    needed = max([*runs, last_issued - (paid[-1] if paid else -1) - 1, 0]) + 1
    last_seen = frontier if frontier >= 0 else None

    level = GapLevel.CLEAR
    if invisible or len(unpaid) >= gap_limit:
        level = GapLevel.RED
    elif len(unpaid) >= AMBER_FROM:
        level = GapLevel.AMBER
    report = GapReport(
        issued=len(issued),
        last_seen_paid=last_seen,
        unpaid_run=len(unpaid),
        unpaid_indexes=unpaid,
        invisible_paid=tuple(invisible),
        hidden_from=hidden_from,
        needed_gap_limit=max(needed, gap_limit),
        level=level,
        words="",
    )
    return _with_words(report, gap_limit)


def _with_words(report: GapReport, gap_limit: int) -> GapReport:
    if report.level is GapLevel.CLEAR:
        words = (
            f"{counted(report.unpaid_run, 'unpaid address', 'unpaid addresses')} "
            "past the last paid one; "
            f"a wallet with gap limit {gap_limit} sees up to index "
            f"{report.hidden_from - 1}."
        )
        return _replace_words(report, words)

    # Enough to see what was paid, or room for another gap limit's worth
    # of unpaid orders while the fallback lasts.
    wanted = (
        report.needed_gap_limit
        if report.invisible_paid
        else report.unpaid_run + gap_limit
    )
    advice = f"raise the gap limit in your wallet software to at least {wanted}"
    unpaid = _ranges(report.unpaid_indexes)
    if report.invisible_paid:
        words = (
            f"Payments to index ≥ {report.hidden_from} are invisible to a wallet "
            f"with gap limit {gap_limit}: index {_ranges(report.invisible_paid)} "
            f"was paid after the unpaid indexes {unpaid}. The control room saw it; "
            f"to see it in the wallet, {advice}."
        )
    elif report.level is GapLevel.RED:
        words = (
            f"{report.unpaid_run} issued addresses in a row are unpaid (index "
            f"{unpaid}): payments to index ≥ {report.hidden_from} are invisible "
            f"to a wallet with gap limit {gap_limit}; {advice}."
        )
    else:
        room = report.hidden_from - 1 - max(report.unpaid_indexes)
        words = (
            f"{report.unpaid_run} issued addresses in a row are unpaid (index "
            f"{unpaid}); after {room} more unpaid, payments to index ≥ "
            f"{report.hidden_from} are invisible to a wallet with gap limit "
            f"{gap_limit}; {advice}."
        )
    return _replace_words(report, words)


def _replace_words(report: GapReport, words: str) -> GapReport:
    return GapReport(**{**report.__dict__, "words": words})


def _ranges(indexes: tuple[int, ...]) -> str:
    """Name indexes compactly: ``0–14, 16``."""
    spans: list[list[int]] = []
    for index in indexes:
        if spans and index == spans[-1][1] + 1:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    return ", ".join(
        str(start) if start == end else f"{start}–{end}" for start, end in spans
    )
