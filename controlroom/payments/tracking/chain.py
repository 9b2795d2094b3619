"""Walk the followed node's chain block by block, and unwind reorganisations.

Each block is fetched and checked (hash, merkle root, proof of work) before
anything is written, then applied in a savepoint together with the
tracker's progress, so the database never holds half of a block. A node
error escapes to the caller, which fails over and calls again: the walk
resumes after the last block applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.errors import NodeMisbehaving, NodeUnavailable, PaymentError
from controlroom.journal import append_event
from controlroom.payments import service as invoices
from controlroom.payments.blocks import ParsedBlock, parse_block, parse_transaction
from controlroom.payments.models import Payment
from controlroom.payments.nodes.base import PaymentNode
from controlroom.payments.tracking.models import (
    PROGRESS_ROW,
    TrackedBlock,
    TrackerProgress,
)
from controlroom.payments.tracking.scan import scan_transactions

logger = logging.getLogger(__name__)

TRACKER_SUBJECT = "tracker:payments"


@dataclass
class Round:
    """Counters of one tracking round, filled in as blocks are applied."""

    blocks: int = 0
    payments: int = 0
    orphaned: int = 0


def follow_chain(
    session: Session,
    *,
    node: PaymentNode,
    progress: TrackerProgress | None,
    tip_height: int,
    start_height: int | None,
    counts: Round,
    now: datetime,
    actor: str,
) -> TrackerProgress:
    """Apply ``node``'s blocks up to ``tip_height``, then scan its mempool.

    Without ``progress`` (the very first round) tracking starts at
    ``start_height``, or at the tip.
    """
    key = node.config.key
    if progress is None:
        first = tip_height if start_height is None else start_height
        progress = _start(session, node, first, now, actor)
    elif progress.node_key != key:
        progress.node_key = key

    if tip_height >= progress.height and (
        node.block_hash(progress.height) != progress.block_hash
    ):
        counts.orphaned += _reorganise(session, node, progress, now, actor)

    height = progress.height + 1
    while height <= tip_height:
        block_hash = node.block_hash(height)
        block = _fetch_block(node, block_hash)
        if block.prev_hash != progress.block_hash:
            counts.orphaned += _reorganise(session, node, progress, now, actor)
            height = progress.height + 1
            continue
        with session.begin_nested():
            counts.payments += _apply_block(
                session, node, block, height, progress, now, actor
            )
        counts.blocks += 1
        height += 1

    counts.payments += _scan_mempool(session, node, now=now, actor=actor)
    return progress


def _start(
    session: Session, node: PaymentNode, height: int, now: datetime, actor: str
) -> TrackerProgress:
    # The block before the first one scanned is stored too, so a reorg that
    # replaces the first scanned block is noticed like any other.
    if height < 1:
        raise PaymentError("Tracking starts at height 1 or later, after genesis.")
    before = _fetch_block(node, node.block_hash(height - 1))
    session.add(_tracked(before, height - 1, node.config.key, now))
    progress = TrackerProgress(
        id=PROGRESS_ROW,
        height=height - 1,
        block_hash=before.block_hash,
        node_key=node.config.key,
        updated_at=now,
    )
    session.add(progress)
    append_event(
        session,
        kind="PaymentTrackingStarted",
        subject=TRACKER_SUBJECT,
        actor=actor,
        occurred_at=now,
        payload={"node": node.config.key, "from_height": height},
    )
    return progress


def _fetch_block(node: PaymentNode, block_hash: str) -> ParsedBlock:
    return parse_block(
        node.raw_block(block_hash),
        network=node.config.network,
        expected_hash=block_hash,
        node=node.config.key,
    )


def _tracked(
    block: ParsedBlock, height: int, node_key: str, now: datetime
) -> TrackedBlock:
    return TrackedBlock(
        height=height,
        block_hash=block.block_hash,
        prev_hash=block.prev_hash,
        time=block.time,
        active=True,
        node_key=node_key,
        processed_at=now,
    )


def _apply_block(
    session: Session,
    node: PaymentNode,
    block: ParsedBlock,
    height: int,
    progress: TrackerProgress,
    now: datetime,
    actor: str,
) -> int:
    seen = scan_transactions(
        session,
        block.transactions,
        network=node.config.network,
        seen_at=min(block.time, now),
        actor=actor,
    )
    txids = [tx.txid for tx in block.transactions]
    for txid in _payment_txids(session, txids):
        invoices.confirm_in_block(
            session,
            txid=txid,
            block_height=height,
            block_hash=block.block_hash,
            at=now,
            actor=actor,
        )

    # A block orphaned earlier can come back when the chain reorganises
    # back to it; its row is revived rather than stored twice.
    stored = session.scalar(
        select(TrackedBlock).where(TrackedBlock.block_hash == block.block_hash)
    )
    if stored is None:
        session.add(_tracked(block, height, node.config.key, now))
    else:
        stored.active, stored.height, stored.processed_at = True, height, now
        stored.node_key = node.config.key
    progress.height = height
    progress.block_hash = block.block_hash
    progress.updated_at = now
    session.flush()
    return seen


def _payment_txids(session: Session, txids: Sequence[str]) -> list[str]:
    # Chunked: a mainnet block holds thousands of transactions, more than
    # some drivers take as bound parameters in one statement.
    found: set[str] = set()
    for start in range(0, len(txids), 500):
        chunk = txids[start : start + 500]
        rows = session.scalars(
            select(Payment.txid).where(Payment.txid.in_(chunk)).distinct()
        )
        found.update(txid for txid in rows if txid is not None)
    return [txid for txid in txids if txid in found]


def _reorganise(
    session: Session,
    node: PaymentNode,
    progress: TrackerProgress,
    now: datetime,
    actor: str,
) -> int:
    """Walk back to the common ancestor and unwind the orphaned blocks."""
    height = progress.height
    orphaned: list[TrackedBlock] = []
    while True:
        stored = _active_block(session, height)
        if stored is None:
            raise PaymentError(
                f"The chain reorganised below height {height + 1:,}, the first "
                "block the tracker kept. Restart tracking from an earlier height."
            )
        if node.block_hash(height) == stored.block_hash:
            break
        orphaned.append(stored)
        height -= 1
    if not orphaned:
        raise NodeMisbehaving(
            f"{node.config.key} serves a block whose parent is not the block "
            f"it names at height {height:,}: its answers contradict each other.",
            node=node.config.key,
        )

    with session.begin_nested():
        for block in orphaned:
            block.active = False
            invoices.unconfirm_block(
                session, block_hash=block.block_hash, at=now, actor=actor
            )
        ancestor = _active_block(session, height)
        assert ancestor is not None
        progress.height = height
        progress.block_hash = ancestor.block_hash
        progress.updated_at = now
        append_event(
            session,
            kind="PaymentChainReorganised",
            subject=TRACKER_SUBJECT,
            actor=actor,
            occurred_at=now,
            payload={
                "node": node.config.key,
                "common_ancestor": height,
                "orphaned": [b.block_hash for b in reversed(orphaned)],
            },
        )
    logger.warning(
        "chain reorganised node=%s ancestor=%s depth=%s",
        node.config.key,
        height,
        len(orphaned),
    )
    return len(orphaned)


def _active_block(session: Session, height: int) -> TrackedBlock | None:
    return session.scalar(
        select(TrackedBlock).where(
            TrackedBlock.height == height, TrackedBlock.active.is_(True)
        )
    )


def _scan_mempool(
    session: Session, node: PaymentNode, *, now: datetime, actor: str
) -> int:
    # Every round re-reads the whole mempool. The lab nodes hold a handful of
    # transactions; a mainnet mempool would want a cache of txids already
    # scanned, which this first version does not keep.
    seen = 0
    key = node.config.key
    for txid in node.mempool_txids():
        try:
            raw = node.raw_transaction(txid)
        except NodeUnavailable as exc:
            # A transaction can leave the mempool (mined, replaced, evicted)
            # between the two questions; a node that is really gone fails
            # the next round's checks instead.
            logger.info("mempool transaction gone node=%s txid=%s: %s", key, txid, exc)
            continue
        tx = parse_transaction(raw, expected_txid=txid, node=key)
        seen += scan_transactions(
            session, [tx], network=node.config.network, seen_at=now, actor=actor
        )
    return seen
