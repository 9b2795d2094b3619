"""The seeded world's parameters, recorded as ``DemoDaySeeded`` and read back.

No table holds the demo world: its parameters (instance, seed, day, and the
ids of the customers and vans the seeding created) are the payload of one
journal event, and the day plan follows from them and the data files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.demo.datafiles import (
    Disruption,
    load_day_script,
    load_instance,
    load_watch_only_account,
)
from controlroom.demo.day import OSLO, DayPlan, OrderPlan, build_day_plan
from controlroom.demo.incident_script import IncidentScript, load_incident_script
from controlroom.errors import DemoWorldError
from controlroom.health.models import ComponentState
from controlroom.journal.models import JournalEvent
from controlroom.payments.models import PaymentMethod

SEEDED_EVENT = "DemoDaySeeded"


@dataclass(frozen=True)
class DemoWorld:
    """The seeded world's parameters and the day plan they give."""

    plan: DayPlan
    script: tuple[Disruption, ...]
    account_key: str
    fallback_key: str
    senders: dict[int, int]
    recipients: dict[int, int]
    vehicles: tuple[int, ...]
    story: IncidentScript
    orders: dict[int, OrderPlan] = field(init=False)
    address_index: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        orders = {order.pickup.id: order for order in self.plan.orders}
        onchain = [o for o in self.plan.orders if o.method is PaymentMethod.ONCHAIN]
        object.__setattr__(self, "orders", orders)
        object.__setattr__(
            self,
            "address_index",
            {order.pickup.id: index for index, order in enumerate(onchain)},
        )

    def scripted_state(self, key: str, at: datetime) -> tuple[ComponentState, str]:
        """Return the state the day script gives component ``key`` at ``at``."""
        local = at.astimezone(OSLO)
        for disruption in self.script:
            if disruption.component != key:
                continue
            if disruption.start <= local.time() < disruption.end:
                return disruption.state, disruption.note
        return ComponentState.OPERATIONAL, ""


def world_parameters(world: DemoWorld) -> dict[str, Any]:
    """Return the payload of ``DemoDaySeeded`` that rebuilds ``world``."""
    plan = world.plan
    return {
        "instance": plan.instance.name,
        "seed": plan.seed,
        "day": plan.day_start.astimezone(OSLO).date().isoformat(),
        "day_start": plan.day_start,
        "sim_start": plan.sim_start,
        "day_end": plan.day_end,
        "minutes_per_unit": plan.clock.minutes_per_unit,
        "senders": {str(k): v for k, v in world.senders.items()},
        "recipients": {str(k): v for k, v in world.recipients.items()},
        "vehicles": list(world.vehicles),
    }


def build_world(
    *,
    instance: str,
    seed: int,
    day: date,
    senders: dict[int, int],
    recipients: dict[int, int],
    vehicles: tuple[int, ...],
) -> DemoWorld:
    """Build the world from its parameters, reading the demo data files."""
    problem, solution = load_instance(instance)
    account = load_watch_only_account()
    return DemoWorld(
        plan=build_day_plan(problem, solution, seed=seed, day=day),
        script=load_day_script(),
        account_key=account.vpub,
        fallback_key=account.fallback_vpub,
        senders=senders,
        recipients=recipients,
        vehicles=vehicles,
        story=load_incident_script(),
    )


def load_world(session: Session) -> DemoWorld:
    """Rebuild the world from the newest ``DemoDaySeeded`` event."""
    event = session.scalar(
        select(JournalEvent)
        .where(JournalEvent.kind == SEEDED_EVENT)
        .order_by(JournalEvent.seq.desc())
        .limit(1)
    )
    if event is None:
        raise DemoWorldError(
            "This database has no demo world. Seed one with 'controlroom demo seed'."
        )
    raw = json.loads(event.payload)
    return build_world(
        instance=raw["instance"],
        seed=int(raw["seed"]),
        day=date.fromisoformat(raw["day"]),
        senders={int(k): int(v) for k, v in raw["senders"].items()},
        recipients={int(k): int(v) for k, v in raw["recipients"].items()},
        vehicles=tuple(int(v) for v in raw["vehicles"]),
    )
