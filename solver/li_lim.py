"""Turning a Li & Lim benchmark instance into a planner ``Problem``."""

from __future__ import annotations

from solver.benchmarks import PdptwInstance, Task
from solver.problem import Depot, Location, Problem, Shipment, Stop, Vehicle

DEPOT_ID = "depot"


def problem_from_li_lim(instance: PdptwInstance) -> Problem:
    """Build the ``Problem`` a Li & Lim instance describes.

    Parameters
    ----------
    instance
        The instance, as read by ``solver.benchmarks.read_pdptw``.

    Returns
    -------
    Problem
        One location per task (id ``"t<task id>"``, the depot ``"t0"``), one
        depot, ``instance.vehicle_count`` identical vehicles (``"v1"``...) whose
        shift is the depot's window, and one shipment per pickup/delivery pair
        named after the pickup's task id. Travel time is Euclidean distance,
        as the published results assume.
    """
    depot_task = instance.depot
    tasks = (depot_task, *instance.tasks)
    locations = tuple(Location(f"t{task.id}", task.x, task.y) for task in tasks)

    def stop(task: Task) -> Stop:
        return Stop(f"t{task.id}", task.ready, task.due, task.service)

    shipments = tuple(
        Shipment(str(pickup.id), stop(pickup), stop(delivery), pickup.demand)
        for pickup, delivery in instance.pairs()
    )
    vehicles = tuple(
        Vehicle(
            id=f"v{number}",
            capacity=instance.capacity,
            shift_start=depot_task.ready,
            shift_end=depot_task.due,
            start_location_id="t0",
            end_depot_id=DEPOT_ID,
        )
        for number in range(1, instance.vehicle_count + 1)
    )
    return Problem(
        locations=locations,
        depots=(Depot(DEPOT_ID, "t0"),),
        vehicles=vehicles,
        shipments=shipments,
    )
