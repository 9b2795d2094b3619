"""Which payment nodes to trust: pure rules over what each node reported.

A node is trusted unless one of these holds, checked in this order (the
first that holds is the reason given):

1. **down** -- it did not answer, or answered with an error;
2. **on another chain** -- at a height where the majority of the nodes that
   reported a hash agrees on one, it reports another;
3. **still syncing** -- its headers are more than ``max_lag`` ahead of its
   blocks (it knows the chain goes on but has not fetched the blocks);
4. **lagging** -- its tip is more than ``max_lag`` blocks below the best tip;
5. **ahead of the others** -- its tip is more than ``max_lag`` blocks above
   the best tip: blocks nobody else has are no chain we can cross-check.

A node that answers more slowly than ``slow_ms`` stays trusted but is
*degraded*: the tracker prefers a faster one when it has to choose.

The majority defines the active chain. At each compared height the hash
reported by strictly more nodes than any other is the active one. Two
special cases:

* **a tie** (say two nodes, one hash each, or 2 against 2): no hash wins,
  so every node taking part in the tie is untrusted -- we cannot tell which
  chain is right, and following the wrong one would confirm payments that
  are not in the active chain. With no trusted node left the tracker stops
  and the posture falls back to the static wallets.
* **a single reachable node** is its own majority: it is trusted, with the
  note that nothing cross-checks it. The tracker still checks every block it
  serves (hash, merkle root, proof of work), so it cannot invent blocks, only
  withhold them.

The *best tip* is the highest height that at least half of the reachable,
same-chain nodes have reached, so one node claiming a far higher tip cannot
make the honest majority look as if it lagged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from controlroom.payments.nodes.base import ChainTip

DEFAULT_MAX_LAG = 2
# Esplora and Core answer a tip query in tens of milliseconds on a healthy
# host; two seconds means the node or its network is struggling.
DEFAULT_SLOW_MS = 2000.0


class Distrust(StrEnum):
    """Why a node is not trusted (or, for ``SLOW``, why it is degraded)."""

    DOWN = "down"
    OTHER_CHAIN = "other_chain"
    TIE = "tie"
    SYNCING = "syncing"
    LAGGING = "lagging"
    AHEAD = "ahead"
    MISBEHAVING = "misbehaving"  # served data that failed its own checks
    SLOW = "slow"


@dataclass(frozen=True)
class NodeReading:
    """What one node told us in one round of checks.

    ``tip`` is None when the node did not answer; ``error`` then says why.
    ``hashes`` maps the heights we asked about to the hash the node gave.
    """

    key: str
    tip: ChainTip | None
    error: str = ""
    hashes: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeVerdict:
    """Whether to trust one node, and the reason in words."""

    key: str
    trusted: bool
    reason: str
    problem: Distrust | None = None
    tip: ChainTip | None = None

    @property
    def height(self) -> int | None:
        """The node's tip height, if it answered."""
        return None if self.tip is None else self.tip.height

    @property
    def response_ms(self) -> float | None:
        """How long the node took to tell its tip, if it answered."""
        return None if self.tip is None else self.tip.response_ms

    @property
    def degraded(self) -> bool:
        """Whether the node is trusted but slow."""
        return self.trusted and self.problem is Distrust.SLOW


@dataclass(frozen=True)
class TrustJudgement:
    """Every node's verdict and the active chain the majority agrees on."""

    verdicts: tuple[NodeVerdict, ...]
    best_height: int | None
    active_hashes: Mapping[int, str]

    def verdict(self, key: str) -> NodeVerdict:
        """Return the verdict on node ``key``."""
        return next(v for v in self.verdicts if v.key == key)

    @property
    def trusted(self) -> tuple[NodeVerdict, ...]:
        """The trusted nodes, in the order they were read."""
        return tuple(v for v in self.verdicts if v.trusted)


def comparison_heights(tips: Sequence[ChainTip]) -> list[int]:
    """Return the heights at which every node is asked for its hash: each tip."""
    return sorted({tip.height for tip in tips})


def judge_nodes(
    readings: Sequence[NodeReading],
    *,
    max_lag: int = DEFAULT_MAX_LAG,
    slow_ms: float = DEFAULT_SLOW_MS,
) -> TrustJudgement:
    """Decide for every node whether it is trusted, and why not."""
    reachable = [r for r in readings if r.tip is not None]
    active, split = _majority_hashes(reachable)
    off_chain = {r.key: _disagreement(r, active, split) for r in reachable}
    on_chain = [r for r in reachable if off_chain[r.key] is None]
    best = _best_height([r.tip.height for r in on_chain if r.tip is not None])

    verdicts = []
    for reading in readings:
        verdicts.append(
            _judge(
                reading,
                off_chain.get(reading.key),
                best,
                alone=len(reachable) == 1,
                max_lag=max_lag,
                slow_ms=slow_ms,
            )
        )
    return TrustJudgement(tuple(verdicts), best, active)


def _majority_hashes(
    readings: Sequence[NodeReading],
) -> tuple[dict[int, str], set[int]]:
    """Return the winning hash per height and the heights no hash wins."""
    votes: dict[int, Counter[str]] = {}
    for reading in readings:
        for height, block_hash in reading.hashes.items():
            votes.setdefault(height, Counter())[block_hash] += 1
    active: dict[int, str] = {}
    split: set[int] = set()
    for height, counter in votes.items():
        ranked = counter.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            split.add(height)
        else:
            active[height] = ranked[0][0]
    return active, split


def _disagreement(
    reading: NodeReading, active: Mapping[int, str], split: set[int]
) -> tuple[Distrust, str] | None:
    for height in sorted(reading.hashes):
        if height in split:
            return (
                Distrust.TIE,
                f"disagrees with the other nodes at height {height:,} and no "
                "majority decides which chain is right",
            )
        if reading.hashes[height] != active[height]:
            return (
                Distrust.OTHER_CHAIN,
                f"is on another chain: at height {height:,} it has block "
                f"{reading.hashes[height][:16]}…, the majority has "
                f"{active[height][:16]}…",
            )
    return None


def _best_height(heights: Sequence[int]) -> int | None:
    # The highest height reached by at least half of the nodes: with three
    # nodes the second highest tip, with one or two the highest.
    if not heights:
        return None
    ranked = sorted(heights, reverse=True)
    return ranked[(len(ranked) + 1) // 2 - 1]


def _judge(
    reading: NodeReading,
    off_chain: tuple[Distrust, str] | None,
    best: int | None,
    *,
    alone: bool,
    max_lag: int,
    slow_ms: float,
) -> NodeVerdict:
    tip = reading.tip
    if tip is None:
        reason = f"is down: {reading.error}" if reading.error else "is down"
        return NodeVerdict(reading.key, False, reason, Distrust.DOWN)

    def untrusted(problem: Distrust, reason: str) -> NodeVerdict:
        return NodeVerdict(reading.key, False, reason, problem, tip)

    if off_chain is not None:
        return untrusted(*off_chain)
    if tip.headers - tip.height > max_lag:
        return untrusted(
            Distrust.SYNCING,
            f"is still syncing: it has headers to {tip.headers:,} but blocks "
            f"only to {tip.height:,}",
        )
    if best is not None and best - tip.height > max_lag:
        return untrusted(
            Distrust.LAGGING,
            f"lags the best tip by {best - tip.height} blocks (at "
            f"{tip.height:,}, the others at {best:,}; at most {max_lag} allowed)",
        )
    if best is not None and tip.height - best > max_lag:
        return untrusted(
            Distrust.AHEAD,
            f"claims {tip.height - best} blocks no other node has (at "
            f"{tip.height:,}, the others at {best:,})",
        )

    if tip.response_ms > slow_ms:
        reason = (
            f"answers slowly ({tip.response_ms:,.0f} ms, more than {slow_ms:,.0f} ms)"
        )
        problem: Distrust | None = Distrust.SLOW
    else:
        reason, problem = "is in step with the others", None
    if alone:
        reason += "; the only node that answered, so nothing cross-checks it"
    return NodeVerdict(reading.key, True, reason, problem, tip)
