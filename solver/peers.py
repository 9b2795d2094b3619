"""What the peer solvers (PyVRP, VROOM) share: scope, scaling, the way back.

A peer sees only the part of a problem it can model exactly: identical
semantics for windows, service, capacity and shifts. Anything more (a vehicle
lock, a parcel already on board, a field this module does not know) makes the
adapter raise ``UnsupportedByPeer`` instead of solving a different problem.
What a peer returns is only a visiting order; the times, loads and totals are
rebuilt here with ``schedule_route`` and checked by the validator like any
other plan.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from solver.plan import Plan, Unserved, UnservedReason, schedule_route
from solver.problem import (
    Depot,
    Location,
    OnBoardParcel,
    Problem,
    Shipment,
    Stop,
    StopKind,
    Vehicle,
)

# Peers work on integers: times and distances are scaled by this factor, as
# in ``solver.ortools_model``. Travel and service round up and windows close
# rounding down, so a sequence the peer finds on time is also on time when it
# is re-timed in floating point.
SCALE = 1000

Visit = tuple[str, StopKind]
PeerRoutes = dict[str, list[Visit]]

# The fields whose meaning every peer reproduces exactly. A field that is
# not listed here (a newer feature of the problem) must keep its default,
# or the problem is out of a peer's scope.
_UNDERSTOOD: dict[type, frozenset[str]] = {
    Problem: frozenset(
        {"locations", "depots", "vehicles", "shipments", "travel_times"}
    ),
    Vehicle: frozenset(
        {
            "id",
            "capacity",
            "shift_start",
            "shift_end",
            "start_location_id",
            "end_depot_id",
        }
    ),
    Shipment: frozenset({"id", "pickup", "delivery", "load"}),
    Stop: frozenset({"location_id", "ready", "due", "service"}),
    Location: frozenset({"id", "x", "y"}),
    Depot: frozenset({"id", "location_id"}),
    OnBoardParcel: frozenset(),
}


class UnsupportedByPeer(ValueError):
    """A peer solver cannot model this problem exactly, so it does not try.

    ``peer`` names the solver and ``feature`` what it cannot express.
    """

    def __init__(self, peer: str, feature: str) -> None:
        super().__init__(f"{peer} cannot model this problem: {feature}")
        self.peer = peer
        self.feature = feature

    def __reduce__(self) -> tuple[type[UnsupportedByPeer], tuple[str, str]]:
        # Rebuilt from its fields when it comes back from a worker process.
        return (UnsupportedByPeer, (self.peer, self.feature))


@dataclass(frozen=True)
class PeerBudget:
    """How long a peer may search, and with which seed.

    ``iterations`` bounds the search by work (repeatable); ``time_limit``
    in seconds is the safety net. At least one must be given.
    """

    seed: int
    time_limit: float | None = None
    iterations: int | None = None

    def __post_init__(self) -> None:
        if self.time_limit is None and self.iterations is None:
            raise ValueError("a peer budget needs a time limit or an iteration bound")


PeerSolve = Callable[[Problem, Sequence[Shipment], PeerBudget], PeerRoutes]


@dataclass(frozen=True)
class Peer:
    """A named solver that routes the shipments it is given, or refuses.

    ``solve`` returns each vehicle's visits in order, or raises
    ``UnsupportedByPeer``.
    """

    name: str
    solve: PeerSolve


def check_in_scope(problem: Problem, peer: str) -> None:
    """Raise ``UnsupportedByPeer`` if ``problem`` uses a feature peers lack.

    Raises
    ------
    UnsupportedByPeer
        For a vehicle lock, a parcel already on board, or any field of the
        problem's data that this module does not know and that is not left
        at its default.
    """
    _check_fields(problem, peer)
    for location in problem.locations:
        _check_fields(location, peer)
    for depot in problem.depots:
        _check_fields(depot, peer)
    for vehicle in problem.vehicles:
        if vehicle.on_board:
            raise UnsupportedByPeer(
                peer, f"vehicle {vehicle.id} already carries parcels"
            )
        _check_fields(vehicle, peer)
    for shipment in problem.shipments:
        if shipment.locked_vehicle_id is not None:
            raise UnsupportedByPeer(
                peer, f"shipment {shipment.id} is locked to a vehicle"
            )
        _check_fields(shipment, peer)
        _check_fields(shipment.pickup, peer)
        _check_fields(shipment.delivery, peer)


def _check_fields(item: object, peer: str) -> None:
    known = frozenset().union(
        *(_UNDERSTOOD.get(cls, frozenset()) for cls in type(item).__mro__)
    )
    for field in dataclasses.fields(item):  # type: ignore[arg-type]
        if field.name in known or field.name.startswith("_") or not field.init:
            continue
        if _has_default_value(item, field):
            continue
        raise UnsupportedByPeer(peer, f"{type(item).__name__}.{field.name} is set")


def _has_default_value(item: object, field: dataclasses.Field[object]) -> bool:
    value = getattr(item, field.name)
    if field.default is not dataclasses.MISSING:
        return bool(value == field.default)
    if field.default_factory is not dataclasses.MISSING:
        return bool(value == field.default_factory())
    return False


def time_origin(problem: Problem) -> float:
    """Return the earliest time in ``problem``; peers count from it."""
    times = [v.shift_start for v in problem.vehicles]
    times += [s.pickup.ready for s in problem.shipments]
    times += [s.delivery.ready for s in problem.shipments]
    return min(times, default=0.0)


def ticks_up(value: float) -> int:
    """Scale a duration to integer ticks, rounding up (never optimistic)."""
    # A hair above an integer is float noise, not a whole extra tick.
    return math.ceil(value * SCALE - 1e-6)


def ticks_down(value: float) -> int:
    """Scale a deadline to integer ticks, rounding down (never optimistic)."""
    return math.floor(value * SCALE + 1e-6)


def matrices(problem: Problem) -> tuple[list[list[int]], list[list[int]]]:
    """Return the scaled (distance, duration) matrices in location order.

    Distance rounds to nearest (it is only the objective); duration rounds up.
    """
    # numpy rounds half to even like ``round`` and ceils like ``ticks_up``,
    # so the integers are the same as a loop in Python would give.
    scaled = problem.travel_array() * SCALE
    distance = np.rint(scaled).astype(np.int64).tolist()
    duration = np.ceil(scaled - 1e-6).astype(np.int64).tolist()
    return distance, duration


def plan_from_routes(
    problem: Problem,
    routes: Mapping[str, Sequence[Visit]],
    impossible: Mapping[str, Unserved],
) -> Plan:
    """Re-time a peer's visiting orders into a ``Plan`` (not yet validated).

    Shipments that appear in no route and are not in ``impossible`` are
    listed as ``no_room_found``.
    """
    scheduled = [
        schedule_route(problem, vehicle_id, visits)
        for vehicle_id, visits in routes.items()
        if visits
    ]
    served = {parcel for visits in routes.values() for parcel, _ in visits}
    unserved = list(impossible.values())
    unserved += [
        Unserved(
            shipment.id,
            UnservedReason.NO_ROOM_FOUND,
            "It passes every feasibility check, but the search found no "
            "route with room for it.",
        )
        for shipment in problem.shipments
        if shipment.id not in served and shipment.id not in impossible
    ]
    return Plan.from_routes(scheduled, unserved)
