"""The public names of our systems and how their states add up for customers.

Pure rules, no I/O. Customers do not know our payment nodes or database
standbys; they know what they can do. Each public service is made of
*needs*, and each need is met by one or more kinds of component that back
each other up:

==================  ==========================================  =============
public service      needs (kinds that back each other up)        promise
==================  ==========================================  =============
Ordering            web shop; order database primary | standby   order
Payments            payment nodes (any region); payment tracker  pay
Pickup and          route scheduler                              know
delivery planning
Driver updates      driver-app backend                           know
Text messages       SMS gateway                                  know
==================  ==========================================  =============

A need is as bad as its best component when one of them still works (then
"degraded performance": a fallback carries it), else as bad as its worst.
A service is as bad as its worst need. The status site itself is not
listed: a visitor reading it can see that it works.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from controlroom.health.models import ComponentKind, ComponentState

# Worst last: the order in which a status page ranks trouble.
SEVERITY = (
    ComponentState.OPERATIONAL,
    ComponentState.UNDER_MAINTENANCE,
    ComponentState.DEGRADED_PERFORMANCE,
    ComponentState.PARTIAL_OUTAGE,
    ComponentState.MAJOR_OUTAGE,
)

PUBLIC_SERVICES: tuple[tuple[str, str, tuple[frozenset[ComponentKind], ...]], ...] = (
    (
        "Ordering",
        "Ordering a pickup on the web shop.",
        (
            frozenset({ComponentKind.WEB_SHOP}),
            frozenset({ComponentKind.ORDER_DB_PRIMARY, ComponentKind.ORDER_DB_STANDBY}),
        ),
    ),
    (
        "Payments",
        "Paying for an order in Bitcoin, on-chain or with Lightning.",
        (
            frozenset({ComponentKind.PAYMENT_NODE}),
            frozenset({ComponentKind.PAYMENT_TRACKER}),
        ),
    ),
    (
        "Pickup and delivery planning",
        "Planning the drivers' routes.",
        (frozenset({ComponentKind.ROUTE_SCHEDULER}),),
    ),
    (
        "Driver updates",
        "Drivers reporting pickups and deliveries as they happen.",
        (frozenset({ComponentKind.DRIVER_APP}),),
    ),
    (
        "Text messages",
        "Text messages to senders and recipients.",
        (frozenset({ComponentKind.SMS_GATEWAY}),),
    ),
)

STATE_WORDS = {
    ComponentState.OPERATIONAL: "Working normally",
    ComponentState.DEGRADED_PERFORMANCE: "Slower than usual",
    ComponentState.PARTIAL_OUTAGE: "Partly unavailable",
    ComponentState.MAJOR_OUTAGE: "Unavailable",
    ComponentState.UNDER_MAINTENANCE: "Under maintenance",
}


@dataclass(frozen=True)
class ComponentReading:
    """One internal component's kind, name and state, as read from health."""

    kind: ComponentKind
    name: str
    state: ComponentState
    since: datetime


@dataclass(frozen=True)
class PublicService:
    """One line of the public component list."""

    name: str
    description: str
    state: ComponentState

    @property
    def words(self) -> str:
        """The state as a customer reads it."""
        return STATE_WORDS[self.state]


def _worst(states: Iterable[ComponentState]) -> ComponentState:
    return max(states, key=SEVERITY.index, default=ComponentState.OPERATIONAL)


def _need_state(states: list[ComponentState]) -> ComponentState:
    if not states:
        return ComponentState.OPERATIONAL
    worst = _worst(states)
    if ComponentState.OPERATIONAL in states:
        # A component of the need still works: customers are served by it,
        # more slowly or by a fallback, but served.
        return min((worst, ComponentState.DEGRADED_PERFORMANCE), key=SEVERITY.index)
    return worst


def public_services(readings: Iterable[ComponentReading]) -> list[PublicService]:
    """Return every public service with the state its components add up to."""
    readings = list(readings)
    services = []
    for name, description, needs in PUBLIC_SERVICES:
        need_states = [
            _need_state([r.state for r in readings if r.kind in kinds])
            for kinds in needs
        ]
        services.append(PublicService(name, description, _worst(need_states)))
    return services


def public_service_of(kind: ComponentKind) -> str | None:
    """Return the public service a kind of component belongs to, if any."""
    for name, _, needs in PUBLIC_SERVICES:
        if any(kind in kinds for kinds in needs):
            return name
    return None
