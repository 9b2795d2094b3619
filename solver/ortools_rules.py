"""Side constraints of the OR-Tools model: the re-planning rules.

``solver.ortools_model`` builds the routing model (nodes, matrices,
capacity, windows, the pickup-and-delivery pairs) and adds these. With it,
this is the only module that knows OR-Tools indices.

Re-planning rules (the costs form one hierarchy, each level larger than
everything below it can gain):

* **Who stays unserved when capacity is short: oldest promise first.** Each
  shipment's drop penalty is ``drop_cost * (1 + rank / ranks)``, where
  ``rank`` counts how many distinct promise times are newer than its own
  (``Shipment.promised_at``; none counts as the newest). Every penalty lies
  in ``[drop_cost, 2 * drop_cost)``, so serving more shipments always wins
  (dropping two costs more than dropping any one), and among plans serving
  as many, the search drops the newest promises: a customer who ordered
  first is kept first, which is the rule a dispatcher can explain.
* **Minimal change on re-plan.** With a warm start, putting a shipment on
  another vehicle than the warm start did costs
  ``solver.ortools_model.MOVE_PENALTY_SHIFTS``
  times the longest shift (in distance units). One move can save at most
  the detour of that shipment, which is shorter than a shift, so no move is
  made to shorten routes; a move still beats dropping a shipment, and
  using a spare vehicle (``vehicle_cost``, two shifts) is preferred to
  moving two or more of another driver's stops. Shipments whose warm-start
  vehicle is gone (a breakdown) move freely. The count of moves is a
  dimension whose per-vehicle transit is 1 at each pickup that vehicle did
  not have, and its span cost is the penalty: OR-Tools filters dimension
  costs incrementally, which a Python callback per arc would not.
* **Locks to a sequence.** A vehicle's ``locked_sequence`` visits may only
  ride it, in that relative order, enforced on a ``rank`` dimension that
  counts visits; an under-way stop must have rank 1 (first after the
  start) and may only be dropped at the on-board penalty.
* **Driver breaks** are OR-Tools break intervals on the time dimension
  (``SetBreakIntervalsOfVehicle``): they may not overlap a service and
  pause travel, the model ``solver.plan.schedule_route`` times.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from ortools.constraint_solver import pywrapcp

from solver.problem import Shipment, StopKind, StopRef, Vehicle


def warm_indices(
    vehicles: Sequence[Vehicle],
    warm_routes: Mapping[str, Sequence[StopRef]],
    index_of: Mapping[StopRef, int],
) -> list[list[int]]:
    """Map a previous plan's visits onto this model, dropping half-known pairs."""
    indices: list[list[int]] = []
    for vehicle in vehicles:
        visits = [v for v in warm_routes.get(vehicle.id, ()) if v in index_of]
        parcels = [v[0] for v in visits]
        # A shipment whose other half is gone (or moved) cannot be replayed;
        # leave it for the search to re-insert.
        kept = [
            v
            for v in visits
            if parcels.count(v[0]) == 2
            or (v[1] is StopKind.DELIVERY and (v[0], StopKind.PICKUP) not in index_of)
        ]
        indices.append([index_of[v] for v in kept])
    return indices


def drop_penalties(shipments: Sequence[Shipment], drop_cost: int) -> dict[str, int]:
    """Oldest promise first: older promises cost more to drop, all < 2x."""
    newest_first = sorted(
        {s.promised_at for s in shipments if s.promised_at is not None},
        reverse=True,
    )
    # Rank 0 is "no promise time" and the newest promise; older ranks grow.
    rank = {when: number + 1 for number, when in enumerate(newest_first)}
    ranks = len(newest_first) + 1
    return {
        s.id: drop_cost
        + (drop_cost * (rank[s.promised_at] if s.promised_at is not None else 0))
        // ranks
        for s in shipments
    }


def add_sequences(
    routing: pywrapcp.RoutingModel,
    vehicles: Sequence[Vehicle],
    index_of: Mapping[StopRef, int],
) -> None:
    """Locked visits ride their vehicle in order; an under-way one comes first."""
    if not any(v.locked_sequence for v in vehicles):
        return
    size = routing.Size() + routing.vehicles()
    routing.AddDimension(
        routing.RegisterUnaryTransitVector([1] * size), 0, size, True, "rank"
    )
    rank = routing.GetDimensionOrDie("rank")
    solver = routing.solver()
    for number, vehicle in enumerate(vehicles):
        indices = [index_of[v] for v in vehicle.locked_sequence if v in index_of]
        for index in indices:
            routing.VehicleVar(index).SetValues([-1, number])
        for before, after in itertools.pairwise(indices):
            both = routing.ActiveVar(before) * routing.ActiveVar(after)
            # Only binds when both are served; otherwise it is slack by size.
            solver.Add(
                rank.CumulVar(before) + 1 <= rank.CumulVar(after) + size * (1 - both)
            )
        first = vehicle.locked_sequence[0] if vehicle.under_way else None
        if first is not None and first in index_of:
            index = index_of[first]
            active = routing.ActiveVar(index)
            solver.Add(rank.CumulVar(index) <= 1 + size * (1 - active))


def add_move_penalty(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    vehicles: Sequence[Vehicle],
    shipments: Sequence[Shipment],
    warm_routes: Mapping[str, Sequence[StopRef]],
    index_of: Mapping[StopRef, int],
    move_cost: int,
) -> None:
    """Charge ``move_cost`` per shipment placed off its warm-start vehicle."""
    present = {v.id for v in vehicles}
    was_on: dict[int, str] = {}
    for vehicle_id, visits in warm_routes.items():
        if vehicle_id not in present:
            continue
        for parcel_id, kind in visits:
            if kind is StopKind.PICKUP and (parcel_id, kind) in index_of:
                was_on[index_of[(parcel_id, kind)]] = vehicle_id
    if not was_on or not shipments:
        return
    size = routing.Size() + routing.vehicles()
    # Unary transit vectors are indexed by node, not by routing index.
    owner = np.full(size, "", dtype=object)
    for index, previous in was_on.items():
        owner[manager.IndexToNode(index)] = previous
    tracked = owner != ""
    transits = []
    for vehicle in vehicles:
        moved = (tracked & (owner != vehicle.id)).astype(np.int64)
        transits.append(routing.RegisterUnaryTransitVector(moved.tolist()))
    routing.AddDimensionWithVehicleTransits(transits, 0, size, True, "moved")
    routing.GetDimensionOrDie("moved").SetSpanCostCoefficientForAllVehicles(move_cost)


def add_breaks(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    time: pywrapcp.RoutingDimension,
    vehicles: Sequence[Vehicle],
    service: Sequence[int],
    tick: Callable[[float], int],
    floor_tick: Callable[[float], int],
    span: Callable[[float], int],
) -> None:
    """Give each vehicle's breaks to OR-Tools as break intervals.

    ``tick`` and ``floor_tick`` scale a time of day rounding up and down,
    ``span`` a duration rounding up (the model's integer units).
    """
    if not any(v.breaks for v in vehicles):
        return
    solver = routing.solver()
    # A break may not overlap a service: the visit's own transit is its
    # service time (the rest of a transit is travel, which a break pauses).
    visit_transit = [
        service[manager.IndexToNode(index)] for index in range(routing.Size())
    ]
    for number, vehicle in enumerate(vehicles):
        intervals = [
            solver.FixedDurationIntervalVar(
                tick(item.earliest_start),
                floor_tick(item.latest_start),
                span(item.duration),
                False,
                f"break {vehicle.id}/{item.id}",
            )
            for item in vehicle.breaks
        ]
        if intervals:
            time.SetBreakIntervalsOfVehicle(intervals, number, visit_transit)
