"""Follow the chain across several payment nodes and hand payments to invoices.

One round, :func:`track_once`, given a session the caller commits:

1. check every node (tip, hashes at each other's tips, speed), judge them
   (:mod:`.trust`), record the checks and each node's health component;
2. keep following the current node while it is trusted, otherwise fail
   over to the best trusted one and log it;
3. from the last fully processed block onwards, fetch, check and scan each
   block: outputs against the invoices' addresses, inputs against the
   outpoints unsettled payments spent; notice a reorganisation and unwind it;
4. scan the followed node's mempool for payments not yet in a block;
5. re-derive confirmations from the tip and let the invoices move on.

A node that fails or lies in the middle of step 3 or 4 is untrusted on the
spot and the round continues on the next trusted node from the last fully
processed block, so no block is skipped. A block is fetched and checked
before anything is written and is then applied in a savepoint, so the
database never holds half of one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from controlroom.errors import NodeMisbehaving, PaymentError, PaymentNodeError
from controlroom.health.models import ComponentState
from controlroom.health.service import report_health
from controlroom.journal import append_event
from controlroom.payments import service as invoices
from controlroom.payments.nodes.base import PaymentNode
from controlroom.payments.tracking.chain import (
    TRACKER_SUBJECT,
    Round,
    follow_chain,
)
from controlroom.payments.tracking.checks import check_nodes
from controlroom.payments.tracking.models import (
    PROGRESS_ROW,
    TrackerFailover,
    TrackerProgress,
)
from controlroom.payments.tracking.node_health import (
    TRACKER_KEY,
    fit,
    record_check,
    report_node,
    tracker_component,
)
from controlroom.payments.tracking.trust import (
    DEFAULT_MAX_LAG,
    DEFAULT_SLOW_MS,
    Distrust,
    NodeVerdict,
    TrustJudgement,
)

__all__ = ["TRACKER_KEY", "TRACKER_SUBJECT", "TrackReport", "track_once"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackReport:
    """What one round of tracking found and did."""

    judgement: TrustJudgement
    followed: str | None
    height: int | None
    blocks_processed: int
    payments_seen: int
    reorganised_blocks: int
    failovers: tuple[str, ...]
    stopped_because: str = ""

    @property
    def tracking(self) -> bool:
        """Whether the round followed a trusted node."""
        return self.followed is not None


def track_once(
    session: Session,
    *,
    nodes: Sequence[PaymentNode],
    now: datetime,
    actor: str,
    max_lag: int = DEFAULT_MAX_LAG,
    slow_ms: float = DEFAULT_SLOW_MS,
    start_height: int | None = None,
) -> TrackReport:
    """Check the nodes, follow a trusted one to its tip and record what paid.

    ``start_height`` only matters on the very first round: the first block
    scanned (default: the followed node's tip). Later rounds resume after
    the last fully processed block.
    """
    if not nodes:
        raise PaymentError("Configure at least one payment node to track payments.")
    by_key = {node.config.key: node for node in nodes}

    judgement = check_nodes(nodes, max_lag=max_lag, slow_ms=slow_ms)
    for verdict in judgement.verdicts:
        record_check(session, node=by_key[verdict.key], verdict=verdict, at=now)
        report_node(session, by_key[verdict.key], verdict, at=now, actor=actor)

    # Locked: two control-room servers on one PostgreSQL cluster must not
    # both walk the same blocks; the second waits and resumes after the
    # first (SQLite's BEGIN IMMEDIATE already queues writers).
    progress = session.get(TrackerProgress, PROGRESS_ROW, with_for_update=True)
    current = progress.node_key if progress is not None else None
    candidates = _ranked(judgement.trusted)
    failovers: list[str] = []
    if current in candidates:
        candidates.remove(current)
        candidates.insert(0, current)
    elif progress is not None and candidates:
        reason = _why_not(judgement, current)
        _fail_over(session, progress, candidates[0], reason, now, actor)
        failovers.append(candidates[0])

    counts = Round()
    while candidates:
        key = candidates[0]
        verdict = judgement.verdict(key)
        try:
            progress = follow_chain(
                session,
                node=by_key[key],
                progress=progress,
                tip_height=verdict.height or 0,
                start_height=start_height,
                counts=counts,
                now=now,
                actor=actor,
            )
            break
        except PaymentNodeError as exc:
            reason = f"failed while tracking: {exc}"
            logger.warning("payment node failed mid-scan node=%s: %s", key, exc)
            problem = (
                Distrust.MISBEHAVING
                if isinstance(exc, NodeMisbehaving)
                else Distrust.DOWN
            )
            failed = NodeVerdict(key, False, reason, problem)
            record_check(session, node=by_key[key], verdict=failed, at=now)
            report_node(session, by_key[key], failed, at=now, actor=actor)
            candidates.pop(0)
            if progress is not None:
                to_node = candidates[0] if candidates else None
                _fail_over(session, progress, to_node, reason, now, actor)
                failovers.append(to_node or "none")

    if not candidates:
        return _stop(session, judgement, progress, failovers, counts, now, actor)

    assert progress is not None  # _follow created it
    invoices.update_confirmations(
        session, tip_height=progress.height, at=now, actor=actor
    )
    invoices.refresh_invoices(session, now=now, actor=actor)
    tracker = tracker_component(session, now=now, actor=actor)
    report_health(
        session,
        component=tracker,
        state=ComponentState.OPERATIONAL,
        at=now,
        actor=actor,
        detail=f"Following {candidates[0]} at height {progress.height:,}.",
    )
    return TrackReport(
        judgement,
        candidates[0],
        progress.height,
        counts.blocks,
        counts.payments,
        counts.orphaned,
        tuple(failovers),
    )


def _ranked(trusted: Sequence[NodeVerdict]) -> list[str]:
    # Prefer a node that answers promptly, then the one furthest ahead; ties
    # keep the configured order, so operators can list their favourite first.
    order = sorted(
        enumerate(trusted),
        key=lambda item: (item[1].degraded, -(item[1].height or 0), item[0]),
    )
    return [verdict.key for _, verdict in order]


def _why_not(judgement: TrustJudgement, key: str | None) -> str:
    if key is None:
        return "tracking resumes: a node is trusted again"
    known = {v.key: v for v in judgement.verdicts}
    if key not in known:
        return f"{key} is no longer configured"
    return f"{key} {known[key].reason}"


def _fail_over(
    session: Session,
    progress: TrackerProgress,
    to_node: str | None,
    reason: str,
    now: datetime,
    actor: str,
) -> None:
    from_node = progress.node_key
    progress.node_key = to_node
    session.add(
        TrackerFailover(
            at=now, from_node=from_node, to_node=to_node, reason=fit(reason)
        )
    )
    append_event(
        session,
        kind="PaymentTrackingFailedOver",
        subject=TRACKER_SUBJECT,
        actor=actor,
        occurred_at=now,
        payload={"from": from_node, "to": to_node, "reason": reason},
    )
    logger.warning("payment tracking failed over from=%s to=%s", from_node, to_node)


def _stop(
    session: Session,
    judgement: TrustJudgement,
    progress: TrackerProgress | None,
    failovers: list[str],
    counts: Round,
    now: datetime,
    actor: str,
) -> TrackReport:
    reasons = "; ".join(f"{v.key} {v.reason}" for v in judgement.verdicts)
    because = f"No payment node is trusted: {reasons}"
    if progress is not None and progress.node_key is not None:
        _fail_over(session, progress, None, because, now, actor)
        failovers.append("none")
    tracker = tracker_component(session, now=now, actor=actor)
    report_health(
        session,
        component=tracker,
        state=ComponentState.MAJOR_OUTAGE,
        at=now,
        actor=actor,
        detail=fit(because),
    )
    return TrackReport(
        judgement,
        None,
        progress.height if progress is not None else None,
        counts.blocks,
        counts.payments,
        counts.orphaned,
        tuple(failovers),
        stopped_because=because,
    )
