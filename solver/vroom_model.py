"""VROOM as a peer: fast construction and local search for shipments.

VROOM (pyvroom bindings) models a pickup-and-delivery pair as a shipment:
both steps on one vehicle, pickup first. It minimises unassigned tasks
first and then cost; a fixed cost per vehicle above any route's distance
makes it use few vehicles. VROOM has no seed: with one thread and no
timeout, its search is a fixed amount of work for an exploration level.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import vroom

from solver.peers import (
    PeerBudget,
    PeerRoutes,
    UnsupportedByPeer,
    check_in_scope,
    matrices,
    ticks_down,
    ticks_up,
    time_origin,
)
from solver.problem import Problem, Shipment, Stop, StopKind

NAME = "vroom"

# VROOM's matrices and time windows are unsigned 32-bit integers.
_LARGEST = 2**32 - 2

# The deepest search VROOM offers (levels 0..5).
EXPLORATION = 5

_PROFILE = "car"


def solve(
    problem: Problem, shipments: Sequence[Shipment], budget: PeerBudget
) -> PeerRoutes:
    """Route ``shipments`` with VROOM and return each vehicle's visits.

    Parameters
    ----------
    problem
        Vehicles, depots and travel times; it must be in the peers' scope.
    shipments
        The shipments to place (those our checks did not rule out).
    budget
        ``time_limit`` becomes VROOM's timeout; ``iterations`` is ignored
        (VROOM's work is fixed by its exploration level) and ``seed`` too.

    Returns
    -------
    PeerRoutes
        Visits per vehicle id, in order; shipments left out are dropped.

    Raises
    ------
    UnsupportedByPeer
        If the problem uses a feature VROOM cannot model exactly here, or its
        times do not fit VROOM's 32-bit integers.
    """
    check_in_scope(problem, NAME)
    origin = time_origin(problem)
    distance, duration = matrices(problem)
    horizon = max((v.shift_end for v in problem.vehicles), default=origin)
    if ticks_down(horizon - origin) > _LARGEST or any(
        t > _LARGEST for row in duration for t in row
    ):
        raise UnsupportedByPeer(NAME, "times exceed 32-bit integer ticks")

    task = vroom.Input()
    task.set_durations_matrix(_PROFILE, duration)
    task.set_costs_matrix(_PROFILE, distance)
    longest = max((v.shift_end - v.shift_start for v in problem.vehicles), default=0)
    fixed = vroom.VehicleCosts(fixed=2 * ticks_up(longest) + 1)
    for number, vehicle in enumerate(problem.vehicles):
        task.add_vehicle(
            vroom.Vehicle(
                number,
                start=problem.location_index(vehicle.start_location_id),
                end=problem.location_index(problem.end_location(vehicle)),
                capacity=[vehicle.capacity],
                time_window=(
                    ticks_up(vehicle.shift_start - origin),
                    ticks_down(vehicle.shift_end - origin),
                ),
                costs=fixed,
            )
        )

    def step(number: int, stop: Stop) -> vroom.ShipmentStep:
        window = vroom.TimeWindow(
            max(ticks_up(stop.ready - origin), 0),
            ticks_down(stop.due - origin),
        )
        return vroom.ShipmentStep(
            number,
            problem.location_index(stop.location_id),
            default_service=ticks_up(stop.service),
            time_windows=[window],
        )

    for number, shipment in enumerate(shipments):
        task.add_shipment(
            step(number, shipment.pickup),
            step(number, shipment.delivery),
            amount=vroom.Amount([shipment.load]),
        )

    timeout = None
    if budget.time_limit is not None:
        timeout = timedelta(seconds=max(budget.time_limit, 0.0))
    solution = task.solve(exploration_level=EXPLORATION, nb_threads=1, timeout=timeout)

    routes: PeerRoutes = {}
    steps = solution.routes
    for row in steps.itertuples(index=False):
        kind = _KINDS.get(str(row.type))
        if kind is None:
            continue
        vehicle_id = problem.vehicles[int(row.vehicle_id)].id
        shipment_id = shipments[int(row.id)].id
        routes.setdefault(vehicle_id, []).append((shipment_id, kind))
    return routes


_KINDS = {"pickup": StopKind.PICKUP, "delivery": StopKind.DELIVERY}
