"""The demo day as a plan, with no I/O: what happens when, from one seed.

Li & Lim time 0 is 07:00 in Oslo on the demo day. The lc1 instances' horizon
of 1236 units becomes a working day of 10 h 18 min, so one unit is half a
minute and lc101's depot closes at 17:18; other instances are stretched to
the same working day. Travel takes as long as the distance (the benchmark's
rule), so every route of the best-known solution gives each of its stops an
ETA: service starts at ``max(ready, previous departure + travel)``.

Each pickup/delivery pair is one parcel. Its order is released some time
before the pickup window opens; its payment follows a behaviour drawn from
the seed (most pay on time; a few partly, late, too much, or never). The
whole plan is a function of (instance, seed, day), so a simulator that stops
and starts again finds the same day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from controlroom.payments.models import PaymentMethod
from solver import BestKnownSolution, PdptwInstance, Task, route_schedule

OSLO = ZoneInfo("Europe/Oslo")
DAY_OPENS = time(7, 0)
SIMULATION_OPENS = time(6, 30)
WORKING_DAY_MINUTES = 618.0
AFTER_CLOSING = timedelta(minutes=30)

INVOICE_LIFETIME = timedelta(minutes=30)
BASE_PRICE_SAT = 20_000
PRICE_PER_LOAD_UNIT_SAT = 400
LIGHTNING_SHARE = 0.30
REGULAR_SHARE = 0.45
NEVER_PAY_SHARE = 0.03
PARTIAL_PAYERS = 3
LATE_PAYERS = 2
OVERPAYERS = 1
BLOCK_INTERVAL_MINUTES = 10.0
FIRST_BLOCK_HEIGHT = 927_000


class PaymentBehaviour(StrEnum):
    ON_TIME = "on_time"
    PARTIAL = "partial"
    LATE = "late"
    OVERPAID = "overpaid"
    NEVER = "never"


@dataclass(frozen=True)
class DemoClock:
    """Turns benchmark time units into times on the demo day."""

    day_start: datetime
    minutes_per_unit: float

    def at(self, units: float) -> datetime:
        """Return the moment ``units`` after the day's start."""
        return self.day_start + timedelta(minutes=units * self.minutes_per_unit)

    def minutes(self, units: float) -> int:
        """Return a duration of ``units`` in whole minutes."""
        return round(units * self.minutes_per_unit)


@dataclass(frozen=True)
class PlannedPayment:
    """One payment a customer will make: when, how much, with which txid."""

    at: datetime
    amount_sat: int
    txid: str | None


@dataclass(frozen=True)
class OrderPlan:
    """One parcel of the day: its tasks, its place in a route, its payment."""

    pickup: Task
    delivery: Task
    route: int
    pickup_sequence: int
    delivery_sequence: int
    pickup_eta: datetime
    delivery_eta: datetime
    release: datetime
    price_sat: int
    method: PaymentMethod
    behaviour: PaymentBehaviour
    payments: tuple[PlannedPayment, ...]
    payment_hash: str | None
    regular_sender: bool
    pickup_delay: timedelta
    delivery_delay: timedelta

    @property
    def expires_at(self) -> datetime:
        """When the order's invoice expires unpaid."""
        return self.release + INVOICE_LIFETIME


@dataclass(frozen=True)
class DayPlan:
    """Everything the demo day will bring, in time order."""

    instance: PdptwInstance
    solution: BestKnownSolution
    seed: int
    clock: DemoClock
    sim_start: datetime
    day_end: datetime
    orders: tuple[OrderPlan, ...]
    blocks: tuple[datetime, ...]

    @property
    def day_start(self) -> datetime:
        """07:00 in Oslo on the demo day, when the vans leave the depot."""
        return self.clock.day_start

    def order_for(self, pickup_id: int) -> OrderPlan:
        """Return the order whose pickup is task ``pickup_id``."""
        for order in self.orders:
            if order.pickup.id == pickup_id:
                return order
        raise KeyError(f"no order picks up at task {pickup_id}")

    def block_height(self, index: int) -> int:
        """Return the height of the day's ``index``-th block."""
        return FIRST_BLOCK_HEIGHT + index


def day_start_in_oslo(day: date) -> datetime:
    """Return 07:00 Oslo time on ``day``, in UTC.

    Arithmetic on the day is done in UTC: adding minutes to an Oslo wall-clock
    time would be off by an hour across a daylight-saving change.
    """
    return datetime.combine(day, DAY_OPENS, tzinfo=OSLO).astimezone(UTC)


def price_for(load: int) -> int:
    """Return the price in sat of a parcel with ``load`` units."""
    return BASE_PRICE_SAT + PRICE_PER_LOAD_UNIT_SAT * load


def build_day_plan(
    instance: PdptwInstance, solution: BestKnownSolution, *, seed: int, day: date
) -> DayPlan:
    """Lay the instance and its best-known routes over one day in Oslo."""
    clock = DemoClock(
        day_start_in_oslo(day), WORKING_DAY_MINUTES / max(instance.horizon, 1)
    )
    sim_start = datetime.combine(day, SIMULATION_OPENS, tzinfo=OSLO).astimezone(UTC)
    rng = random.Random(seed)

    places = _route_places(instance, solution)
    pairs = instance.pairs()
    regular = set(
        pickup.id for pickup, _ in rng.sample(pairs, round(REGULAR_SHARE * len(pairs)))
    )
    regulars = sorted(regular)
    lightning = set(
        rng.sample(regulars, min(len(regulars), round(LIGHTNING_SHARE * len(pairs))))
    )
    leads = {pickup.id: rng.uniform(45, 240) for pickup, _ in pairs}
    behaviours = _draw_behaviours(rng, pairs, lightning, leads)

    orders = []
    for pickup, delivery in pairs:
        route, pickup_sequence, pickup_start = places[pickup.id]
        _, delivery_sequence, delivery_start = places[delivery.id]
        release = clock.at(pickup.ready) - timedelta(minutes=leads[pickup.id])
        pickup_eta = clock.at(pickup_start)
        method = (
            PaymentMethod.LIGHTNING if pickup.id in lightning else PaymentMethod.ONCHAIN
        )
        price = price_for(pickup.demand)
        payer = random.Random(f"{seed}:payer:{pickup.id}")
        orders.append(
            OrderPlan(
                pickup=pickup,
                delivery=delivery,
                route=route,
                pickup_sequence=pickup_sequence,
                delivery_sequence=delivery_sequence,
                pickup_eta=pickup_eta,
                delivery_eta=clock.at(delivery_start),
                release=release,
                price_sat=price,
                method=method,
                behaviour=behaviours[pickup.id],
                payments=_payments(
                    payer, behaviours[pickup.id], method, price, release, pickup_eta
                ),
                payment_hash=(
                    payer.randbytes(32).hex()
                    if method is PaymentMethod.LIGHTNING
                    else None
                ),
                regular_sender=pickup.id in regular,
                pickup_delay=_driver_delay(seed, pickup.id),
                delivery_delay=_driver_delay(seed, delivery.id),
            )
        )
    orders.sort(key=lambda order: (order.release, order.pickup.id))

    day_end = clock.at(instance.horizon) + AFTER_CLOSING
    return DayPlan(
        instance=instance,
        solution=solution,
        seed=seed,
        clock=clock,
        sim_start=sim_start,
        day_end=day_end,
        orders=tuple(orders),
        blocks=_block_times(seed, orders[0].release - timedelta(hours=1), day_end),
    )


def _route_places(
    instance: PdptwInstance, solution: BestKnownSolution
) -> dict[int, tuple[int, int, float]]:
    """Map each task to (route index, 1-based position, service start)."""
    places = {}
    for route_index, route in enumerate(solution.routes):
        for position, visit in enumerate(route_schedule(instance, route), start=1):
            places[visit.task_id] = (route_index, position, visit.start)
    missing = [task.id for task in instance.tasks if task.id not in places]
    if missing:
        raise ValueError(
            f"the solution of {instance.name} leaves tasks {missing[:5]} unrouted"
        )
    return places


def _draw_behaviours(
    rng: random.Random,
    pairs: tuple[tuple[Task, Task], ...],
    lightning: set[int],
    leads: dict[int, float],
) -> dict[int, PaymentBehaviour]:
    behaviours = {pickup.id: PaymentBehaviour.ON_TIME for pickup, _ in pairs}
    ids = sorted(behaviours)
    never = rng.sample(ids, max(1, round(NEVER_PAY_SHARE * len(ids))))
    for pickup_id in never:
        behaviours[pickup_id] = PaymentBehaviour.NEVER

    # Lightning invoices are paid in full or not at all, so the on-chain
    # exceptions (partial, late, over) go to on-chain orders only. A late
    # payer needs a long lead, or the pickup would come before the money.
    onchain = [
        i
        for i in ids
        if i not in lightning and behaviours[i] is PaymentBehaviour.ON_TIME
    ]
    patient = [i for i in onchain if leads[i] >= 90]
    late = rng.sample(patient, min(LATE_PAYERS, len(patient)))
    rest = [i for i in onchain if i not in late]
    partial = rng.sample(rest, min(PARTIAL_PAYERS, len(rest)))
    rest = [i for i in rest if i not in partial]
    over = rng.sample(rest, min(OVERPAYERS, len(rest)))
    for chosen, behaviour in (
        (late, PaymentBehaviour.LATE),
        (partial, PaymentBehaviour.PARTIAL),
        (over, PaymentBehaviour.OVERPAID),
    ):
        for pickup_id in chosen:
            behaviours[pickup_id] = behaviour
    return behaviours


def _payments(
    rng: random.Random,
    behaviour: PaymentBehaviour,
    method: PaymentMethod,
    price: int,
    ordered: datetime,
    pickup_eta: datetime,
) -> tuple[PlannedPayment, ...]:
    def after(low: float, high: float) -> datetime:
        # Every payment lands at least 15 minutes before the van arrives.
        moment = ordered + timedelta(minutes=rng.uniform(low, high))
        return min(moment, pickup_eta - timedelta(minutes=15))

    def txid() -> str | None:
        return rng.randbytes(32).hex() if method is PaymentMethod.ONCHAIN else None

    if behaviour is PaymentBehaviour.NEVER:
        return ()
    if behaviour is PaymentBehaviour.PARTIAL:
        first = int(price * rng.uniform(0.5, 0.9))
        return (
            PlannedPayment(after(1, 8), first, txid()),
            PlannedPayment(after(12, 22), price - first, txid()),
        )
    if behaviour is PaymentBehaviour.LATE:
        lifetime = INVOICE_LIFETIME.total_seconds() / 60
        return (PlannedPayment(after(lifetime + 2, lifetime + 10), price, txid()),)
    if behaviour is PaymentBehaviour.OVERPAID:
        extra = rng.randrange(500, 5_000)
        return (PlannedPayment(after(1, 12), price + extra, txid()),)
    return (PlannedPayment(after(1, 12), price, txid()),)


def _driver_delay(seed: int, task_id: int) -> timedelta:
    """Return how far from its ETA a driver starts serving a task.

    Most stops are within a few minutes of the plan; about one in six meets
    traffic, a missing recipient or a long queue and runs 12-35 minutes late.
    """
    rng = random.Random(f"{seed}:driver:{task_id}")
    if rng.random() < 0.17:
        return timedelta(minutes=rng.uniform(12, 35))
    return timedelta(minutes=rng.uniform(-3, 6))


def _block_times(seed: int, start: datetime, end: datetime) -> tuple[datetime, ...]:
    """Return block times on a Poisson rhythm of one per ten minutes."""
    rng = random.Random(f"{seed}:blocks")
    blocks = []
    moment = start
    while moment < end:
        moment += timedelta(minutes=rng.expovariate(1 / BLOCK_INTERVAL_MINUTES))
        blocks.append(moment)
    return tuple(blocks)
