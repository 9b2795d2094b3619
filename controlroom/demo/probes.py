"""Health probes of the demo's components: plausible latencies, scripted states."""

from __future__ import annotations

import random
from datetime import datetime

from controlroom.health.models import Component, ComponentKind, ComponentState

# Typical probe round trips in ms, by kind; the scripted disruptions slow or
# silence them.
_LATENCY_MS = {
    ComponentKind.WEB_SHOP: 180,
    ComponentKind.PAYMENT_NODE: 120,
    ComponentKind.PAYMENT_TRACKER: 45,
    ComponentKind.ORDER_DB_PRIMARY: 4,
    ComponentKind.ORDER_DB_STANDBY: 5,
    ComponentKind.ROUTE_SCHEDULER: 70,
    ComponentKind.DRIVER_APP: 150,
    ComponentKind.SMS_GATEWAY: 320,
    ComponentKind.STATUS_SITE: 90,
}
_SLOWDOWN = {
    ComponentState.OPERATIONAL: 1.0,
    ComponentState.DEGRADED_PERFORMANCE: 6.0,
    ComponentState.PARTIAL_OUTAGE: 3.0,
}


def probe_latency(
    seed: int, component: Component, state: ComponentState, at: datetime
) -> int | None:
    """Return a probe's round trip in ms, or None when the probe timed out."""
    slowdown = _SLOWDOWN.get(state)
    if slowdown is None:
        return None  # down or in maintenance: no answer
    rng = random.Random(f"{seed}:{component.key}:{at:%H%M}")
    typical = _LATENCY_MS.get(component.kind, 100)
    return max(1, round(typical * slowdown * rng.lognormvariate(0, 0.3)))
