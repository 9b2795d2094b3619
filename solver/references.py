"""Cross-reference checks of a problem: every id it names exists, once.

``solver.problem.Problem`` runs ``check_references`` when it is built, so a
stop at an unknown place or a parcel locked to two vehicles is refused with
the field to fix, before any search sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from solver.errors import ProblemDataError, UnknownReferenceError
from solver.stops import StopKind

if TYPE_CHECKING:
    from solver.problem import Problem


def check_references(problem: Problem) -> None:
    """Check that every location, depot and parcel ``problem`` names exists.

    Raises
    ------
    UnknownReferenceError
        If a depot, vehicle, stop, closure or locked sequence names a
        location, depot or parcel that is not in ``problem``.
    ProblemDataError
        If a locked sequence picks up a parcel already on board, locks a
        parcel to two vehicles, or its stop under way delivers a parcel
        that is not on board.
    """
    location_ids = {location.id for location in problem.locations}
    depot_ids = {depot.id for depot in problem.depots}

    def known(location_id: str, where: str) -> None:
        if location_id not in location_ids:
            raise UnknownReferenceError(f"no location {location_id!r}", field=where)

    for depot in problem.depots:
        known(depot.location_id, f"Depot({depot.id}).location_id")
    for vehicle in problem.vehicles:
        known(vehicle.start_location_id, f"Vehicle({vehicle.id}).start_location_id")
        if vehicle.end_depot_id not in depot_ids:
            raise UnknownReferenceError(
                f"no depot {vehicle.end_depot_id!r}",
                field=f"Vehicle({vehicle.id}).end_depot_id",
            )
        for parcel in vehicle.on_board:
            known(parcel.delivery.location_id, f"OnBoardParcel({parcel.id})")
    for shipment in problem.shipments:
        known(shipment.pickup.location_id, f"Shipment({shipment.id}).pickup")
        known(shipment.delivery.location_id, f"Shipment({shipment.id}).delivery")
    for location_id in sorted(problem.closed_location_ids):
        known(location_id, "Problem.closed_location_ids")
    for a, b in problem.closed_roads:
        known(a, "Problem.closed_roads")
        known(b, "Problem.closed_roads")
    _check_sequences(problem)


def _require(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ProblemDataError(message, field=field_name)


def _check_sequences(problem: Problem) -> None:
    owner: dict[str, str] = {}
    for vehicle in problem.vehicles:
        where = f"Vehicle({vehicle.id}).locked_sequence"
        carried = {parcel.id for parcel in vehicle.on_board}
        for parcel_id, kind in vehicle.locked_sequence:
            shipment = problem.shipment(parcel_id)
            if shipment is None and parcel_id not in carried:
                raise UnknownReferenceError(
                    f"{parcel_id!r} is no shipment and not on board",
                    field=where,
                )
            _require(
                shipment is not None or kind is StopKind.DELIVERY,
                where,
                f"{parcel_id} is already on board; only its delivery is left",
            )
            _require(
                owner.setdefault(parcel_id, vehicle.id) == vehicle.id,
                where,
                f"{parcel_id} is locked to {owner[parcel_id]} as well",
            )
            lock = shipment.locked_vehicle_id if shipment else None
            _require(
                lock in (None, vehicle.id),
                where,
                f"shipment {parcel_id} is locked to vehicle {lock}",
            )
        if vehicle.under_way:
            parcel_id, kind = vehicle.locked_sequence[0]
            _require(
                kind is StopKind.PICKUP or parcel_id in carried,
                f"Vehicle({vehicle.id}).under_way",
                f"the stop under way delivers {parcel_id}, which is not on board",
            )
