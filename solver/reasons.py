"""Why a shipment cannot be served, decided by our own checks before any search.

Each check is a necessary condition: a shipment that fails one cannot be in
any feasible plan, whatever the search does, so it is left out of the model
and reported with that reason. The checks run in a fixed order and the first
that fails names the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from solver.plan import Unserved, UnservedReason
from solver.problem import Problem, Shipment, Stop, Vehicle


def unservable(problem: Problem) -> dict[str, Unserved]:
    """Return the shipments no plan can serve, keyed by shipment id.

    Parameters
    ----------
    problem
        The problem to check.

    Returns
    -------
    dict[str, Unserved]
        For each shipment that fails a check, the first failing reason:
        ``locked_vehicle_unavailable`` (its locked vehicle is not in the
        problem), ``area_closed`` (its pickup or delivery is at a closed
        location: the dispatcher closed the area, so no search may go there),
        ``too_heavy`` (heavier than every vehicle it may use can
        carry), ``window_impossible`` (even collected as early as its window
        allows, it cannot reach its delivery before the delivery window
        closes), ``unreachable_in_shift`` (no vehicle it may use can go from
        its start to the pickup, the delivery and its end depot within its
        shift, even with nothing else to do). A parcel already on board whose
        own vehicle cannot deliver it in time is ``unreachable_in_shift`` too,
        or ``area_closed`` when its delivery is in a closed area. A closed road
        only lengthens travel (``Problem.closed_roads``); when no detour is
        left, the shipment fails ``unreachable_in_shift``.
    """
    found: dict[str, Unserved] = {}
    for shipment in problem.shipments:
        reason = _first_reason(problem, shipment)
        if reason is not None:
            found[shipment.id] = reason
    for vehicle in problem.vehicles:
        for parcel in vehicle.on_board:
            if parcel.delivery.location_id in problem.closed_location_ids:
                found[parcel.id] = Unserved(
                    parcel.id,
                    UnservedReason.AREA_CLOSED,
                    f"It is on board {vehicle.id}, and its delivery at "
                    f"{parcel.delivery.location_id} is in a closed area.",
                )
            elif not _fits_in_shift(problem, vehicle, (parcel.delivery,)):
                found[parcel.id] = Unserved(
                    parcel.id,
                    UnservedReason.UNREACHABLE_IN_SHIFT,
                    f"It is on board {vehicle.id}, which cannot reach its delivery "
                    "in its window and return to its depot within its shift.",
                )
    return found


def _first_reason(problem: Problem, shipment: Shipment) -> Unserved | None:
    candidates = problem.vehicles
    owner = problem.sequence_owner(shipment.id)
    if owner is not None:
        candidates = (owner,)
    elif shipment.locked_vehicle_id is not None:
        locked = problem.vehicle(shipment.locked_vehicle_id)
        if locked is None:
            return Unserved(
                shipment.id,
                UnservedReason.LOCKED_VEHICLE_UNAVAILABLE,
                f"It is locked to vehicle {shipment.locked_vehicle_id}, which is "
                "not available.",
            )
        candidates = (locked,)

    closed = [
        stop.location_id
        for stop in (shipment.pickup, shipment.delivery)
        if stop.location_id in problem.closed_location_ids
    ]
    if closed:
        return Unserved(
            shipment.id,
            UnservedReason.AREA_CLOSED,
            f"Its stop at {closed[0]} is in a closed area.",
        )

    heaviest = max((v.capacity for v in candidates), default=0)
    if shipment.load > heaviest:
        return Unserved(
            shipment.id,
            UnservedReason.TOO_HEAVY,
            f"Its load {shipment.load} exceeds the largest capacity it may use "
            f"({heaviest}).",
        )

    pickup, delivery = shipment.pickup, shipment.delivery
    leg = problem.travel(pickup.location_id, delivery.location_id)
    earliest_delivery = max(pickup.ready + pickup.service + leg, delivery.ready)
    if earliest_delivery > delivery.due:
        return Unserved(
            shipment.id,
            UnservedReason.WINDOW_IMPOSSIBLE,
            f"Collected at the earliest ({pickup.ready:g}), it reaches the "
            f"delivery at {earliest_delivery:g}, after its window closes at "
            f"{delivery.due:g}.",
        )

    able = [v for v in candidates if v.capacity >= shipment.load]
    stops = (shipment.pickup, shipment.delivery)
    if not any(_fits_in_shift(problem, v, stops) for v in able):
        return Unserved(
            shipment.id,
            UnservedReason.UNREACHABLE_IN_SHIFT,
            "No vehicle it may use can reach the pickup and the delivery in "
            "their windows and return to its depot within its shift.",
        )
    return None


def _fits_in_shift(problem: Problem, vehicle: Vehicle, stops: Sequence[Stop]) -> bool:
    """Whether ``vehicle`` with nothing else to do could visit ``stops`` in time."""
    here, clock = vehicle.start_location_id, vehicle.shift_start
    for stop in stops:
        clock = max(clock + problem.travel(here, stop.location_id), stop.ready)
        if clock > stop.due:
            return False
        clock += stop.service
        here = stop.location_id
    end = clock + problem.travel(here, problem.end_location(vehicle))
    return end <= vehicle.shift_end
