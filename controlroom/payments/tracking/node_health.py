"""What one round of tracking tells the health board: node checks, components."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.health.models import Component, ComponentKind, ComponentState
from controlroom.health.service import add_component, report_health
from controlroom.payments.nodes.base import PaymentNode
from controlroom.payments.tracking.models import NodeCheck
from controlroom.payments.tracking.trust import Distrust, NodeVerdict

TRACKER_KEY = "payment-tracker"
_REASON_LENGTH = 240


def record_check(
    session: Session, *, node: PaymentNode, verdict: NodeVerdict, at: datetime
) -> None:
    """Store one node check for the screen's history (telemetry, not journalled)."""
    tip = verdict.tip
    session.add(
        NodeCheck(
            node_key=verdict.key,
            region=node.config.region,
            provider=node.config.provider,
            at=at,
            height=verdict.height,
            block_hash=None if tip is None else tip.block_hash,
            headers=None if tip is None else tip.headers,
            response_ms=(
                None if verdict.response_ms is None else round(verdict.response_ms)
            ),
            trusted=verdict.trusted,
            reason=fit(verdict.reason),
        )
    )


def report_node(
    session: Session,
    node: PaymentNode,
    verdict: NodeVerdict,
    *,
    at: datetime,
    actor: str,
) -> None:
    """Set the node's health component from the verdict, adding it if new.

    Down is a major outage; untrusted for any other reason a partial one
    (it answers, but we do not follow it); slow is degraded performance.
    """
    config = node.config
    component = session.scalar(select(Component).where(Component.key == config.key))
    if component is None:
        label = "Bitcoin Core" if config.kind == "core" else "Esplora"
        component = add_component(
            session,
            key=config.key,
            name=f"{label} {config.region}",
            kind=ComponentKind.PAYMENT_NODE,
            at=at,
            actor=actor,
            region=config.region,
            provider=config.provider,
        )
    if verdict.problem is Distrust.DOWN:
        state = ComponentState.MAJOR_OUTAGE
    elif not verdict.trusted:
        state = ComponentState.PARTIAL_OUTAGE
    elif verdict.degraded:
        state = ComponentState.DEGRADED_PERFORMANCE
    else:
        state = ComponentState.OPERATIONAL
    latency = None if verdict.response_ms is None else round(verdict.response_ms)
    report_health(
        session,
        component=component,
        state=state,
        at=at,
        actor=actor,
        latency_ms=latency,
        detail=fit(f"{config.key} {verdict.reason}"),
    )


def tracker_component(session: Session, *, now: datetime, actor: str) -> Component:
    """Return the payment tracker's health component, adding it if missing."""
    component = session.scalar(
        select(Component)
        .where(Component.kind == ComponentKind.PAYMENT_TRACKER)
        .order_by(Component.id)
    )
    if component is None:
        component = add_component(
            session,
            key=TRACKER_KEY,
            name="Payment tracker",
            kind=ComponentKind.PAYMENT_TRACKER,
            at=now,
            actor=actor,
        )
    return component


def fit(text: str) -> str:
    """Cut ``text`` to the length the reason and note columns hold."""
    if len(text) <= _REASON_LENGTH:
        return text
    return text[: _REASON_LENGTH - 1] + "…"
