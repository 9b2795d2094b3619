"""The planner's input: plain, immutable data, checked when it is built.

Times are plain numbers on one clock (the benchmarks use minutes from the start
of the day); a travel time is also the distance the plan reports, as in the Li &
Lim and Solomon sets. Every identifier is a string so the control room can pass
its own keys through unchanged.

Re-planning data lives here too, all optional: a vehicle's breaks, the stops
locked to it in sequence (the first one possibly under way), each shipment's
promise time (who stays unserved when capacity is short, see
``solver.ortools_model``), closed locations and closed roads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from solver.errors import ProblemDataError, UnknownReferenceError


def _require(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ProblemDataError(message, field=field_name)


def _finite(value: float, field_name: str) -> None:
    _require(math.isfinite(value), field_name, f"must be a finite number, got {value}")


class StopKind(StrEnum):
    """What a vehicle does at a stop."""

    PICKUP = "pickup"
    DELIVERY = "delivery"


# One visit named by ids: (shipment or on-board parcel id, pickup or delivery).
StopRef = tuple[str, StopKind]


@dataclass(frozen=True)
class Break:
    """A driver's break: ``duration`` long, starting in ``[earliest, latest]``.

    The break pauses the clock between two stops (while driving or waiting),
    never during a service; it must lie inside the shift.
    """

    id: str
    duration: float
    earliest_start: float
    latest_start: float

    def __post_init__(self) -> None:
        where = f"Break({self.id})"
        _require(bool(self.id), "Break.id", "must not be empty")
        for name in ("duration", "earliest_start", "latest_start"):
            _finite(getattr(self, name), f"{where}.{name}")
        _require(self.duration >= 0, f"{where}.duration", "must not be negative")
        _require(
            self.earliest_start <= self.latest_start,
            f"{where}.latest_start",
            "the window to start the break closes before it opens",
        )


@dataclass(frozen=True)
class Location:
    """A point a vehicle can be at, with planar coordinates."""

    id: str
    x: float
    y: float

    def __post_init__(self) -> None:
        _require(bool(self.id), "Location.id", "must not be empty")
        _finite(self.x, f"Location({self.id}).x")
        _finite(self.y, f"Location({self.id}).y")


@dataclass(frozen=True)
class Depot:
    """A place routes end at (and usually start from)."""

    id: str
    location_id: str

    def __post_init__(self) -> None:
        _require(bool(self.id), "Depot.id", "must not be empty")


@dataclass(frozen=True)
class Stop:
    """A visit to a location: service starts inside ``[ready, due]``.

    A vehicle that arrives before ``ready`` waits; service lasts ``service``
    and may run past ``due``.
    """

    location_id: str
    ready: float
    due: float
    service: float = 0.0

    def __post_init__(self) -> None:
        for name in ("ready", "due", "service"):
            _finite(getattr(self, name), f"Stop.{name}")
        _require(
            self.ready <= self.due,
            "Stop.due",
            f"the window closes ({self.due}) before it opens ({self.ready})",
        )
        _require(self.service >= 0, "Stop.service", "must not be negative")


@dataclass(frozen=True)
class OnBoardParcel:
    """A parcel already on a vehicle; only its delivery is left to plan."""

    id: str
    delivery: Stop
    load: int

    def __post_init__(self) -> None:
        _require(bool(self.id), "OnBoardParcel.id", "must not be empty")
        _require(self.load > 0, f"OnBoardParcel({self.id}).load", "must be positive")


@dataclass(frozen=True)
class Vehicle:
    """A vehicle and its driver's shift.

    ``start_location_id`` is where the vehicle is when the plan begins: the
    depot at the start of the day, its current position mid-route. It leaves
    there at ``shift_start`` and must be at ``end_depot_id`` by ``shift_end``.
    """

    id: str
    capacity: int
    shift_start: float
    shift_end: float
    start_location_id: str
    end_depot_id: str
    on_board: tuple[OnBoardParcel, ...] = ()
    breaks: tuple[Break, ...] = ()
    locked_sequence: tuple[StopRef, ...] = ()
    under_way: bool = False

    def __post_init__(self) -> None:
        where = f"Vehicle({self.id})"
        _require(bool(self.id), "Vehicle.id", "must not be empty")
        _require(self.capacity > 0, f"{where}.capacity", "must be positive")
        _finite(self.shift_start, f"{where}.shift_start")
        _finite(self.shift_end, f"{where}.shift_end")
        _require(
            self.shift_start <= self.shift_end,
            f"{where}.shift_end",
            "the shift ends before it starts",
        )
        _require(
            self.on_board_load <= self.capacity,
            f"{where}.on_board",
            f"carries {self.on_board_load}, more than its capacity {self.capacity}",
        )
        _unique([b.id for b in self.breaks], f"{where}.breaks")
        for item in self.breaks:
            _require(
                self.shift_start <= item.earliest_start
                and item.latest_start + item.duration <= self.shift_end,
                f"{where}.breaks",
                f"break {item.id} must start and end inside the shift",
            )
        _require(
            len(set(self.locked_sequence)) == len(self.locked_sequence),
            f"{where}.locked_sequence",
            "a visit appears twice",
        )
        _require(
            not self.under_way or bool(self.locked_sequence),
            f"{where}.under_way",
            "a vehicle under way needs the stop it drives to first in locked_sequence",
        )

    @property
    def on_board_load(self) -> int:
        """The load the vehicle carries when the plan begins."""
        return sum(parcel.load for parcel in self.on_board)


@dataclass(frozen=True)
class Shipment:
    """A parcel to collect at ``pickup`` and bring to ``delivery``.

    A shipment is served completely, by one vehicle, pickup first, or not at
    all. ``locked_vehicle_id`` pins it to one vehicle. ``promised_at`` is when
    the order was promised (on the problem's clock); when capacity is short,
    older promises are kept first and a shipment without one counts as the
    newest.
    """

    id: str
    pickup: Stop
    delivery: Stop
    load: int
    locked_vehicle_id: str | None = None
    promised_at: float | None = None

    def __post_init__(self) -> None:
        _require(bool(self.id), "Shipment.id", "must not be empty")
        _require(self.load > 0, f"Shipment({self.id}).load", "must be positive")


@dataclass(frozen=True)
class Problem:
    """Everything the planner needs: places, vehicles and shipments.

    ``travel_times`` is a square matrix in the order of ``locations``; when it
    is left out, travel time is the Euclidean distance between coordinates
    (the Li & Lim convention). ``closed_location_ids`` are places no stop may
    be at (an area closed); ``closed_roads`` are direct arcs ``(from, to)``
    that may not be driven: their travel time becomes the shortest detour
    through other locations, or infinite when none is left.

    Raises
    ------
    ProblemDataError
        If an id repeats, the matrix has the wrong shape or a negative entry.
    UnknownReferenceError
        If a stop, vehicle or depot names a location or depot that is not here.
    """

    locations: tuple[Location, ...]
    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    shipments: tuple[Shipment, ...]
    travel_times: tuple[tuple[float, ...], ...] | None = None
    closed_location_ids: frozenset[str] = frozenset()
    closed_roads: tuple[tuple[str, str], ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _shipments: dict[str, Shipment] = field(init=False, repr=False, compare=False)
    _on_board: dict[str, OnBoardParcel] = field(init=False, repr=False, compare=False)
    # Lookups by id: a 1,000-shipment day asks them millions of times.
    _vehicles: dict[str, Vehicle] = field(init=False, repr=False, compare=False)
    _depots: dict[str, Depot] = field(init=False, repr=False, compare=False)
    _carriers: dict[str, Vehicle] = field(init=False, repr=False, compare=False)
    _owners: dict[str, Vehicle] = field(init=False, repr=False, compare=False)
    # The travel matrix twice: an array for whole-matrix work (the search
    # models) and nested lists, whose items Python reads fastest.
    _array: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _matrix: list[list[float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _unique([loc.id for loc in self.locations], "Problem.locations")
        _unique([depot.id for depot in self.depots], "Problem.depots")
        _unique([vehicle.id for vehicle in self.vehicles], "Problem.vehicles")
        parcel_ids = [s.id for s in self.shipments] + [
            p.id for v in self.vehicles for p in v.on_board
        ]
        _unique(parcel_ids, "Problem.shipments")
        index = {loc.id: i for i, loc in enumerate(self.locations)}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_shipments", {s.id: s for s in self.shipments})
        on_board = {p.id: p for v in self.vehicles for p in v.on_board}
        object.__setattr__(self, "_on_board", on_board)
        object.__setattr__(self, "_vehicles", {v.id: v for v in self.vehicles})
        object.__setattr__(self, "_depots", {d.id: d for d in self.depots})
        carriers = {p.id: v for v in self.vehicles for p in v.on_board}
        object.__setattr__(self, "_carriers", carriers)
        owners: dict[str, Vehicle] = {}
        for vehicle in self.vehicles:
            for parcel_id, _ in vehicle.locked_sequence:
                owners.setdefault(parcel_id, vehicle)
        object.__setattr__(self, "_owners", owners)
        self._check_references()
        if self.travel_times is None:
            array, rows = _euclidean(self.locations)
        else:
            array, rows = self._given_matrix(), None
        if self.closed_roads:
            array, rows = self._close_roads(array), None
        if rows is None:
            array.setflags(write=False)
            rows = array.tolist()
        object.__setattr__(self, "_array", array)
        object.__setattr__(self, "_matrix", rows)

    def _check_references(self) -> None:
        depot_ids = {depot.id for depot in self.depots}

        def known(location_id: str, where: str) -> None:
            if location_id not in self._index:
                raise UnknownReferenceError(f"no location {location_id!r}", field=where)

        for depot in self.depots:
            known(depot.location_id, f"Depot({depot.id}).location_id")
        for vehicle in self.vehicles:
            known(vehicle.start_location_id, f"Vehicle({vehicle.id}).start_location_id")
            if vehicle.end_depot_id not in depot_ids:
                raise UnknownReferenceError(
                    f"no depot {vehicle.end_depot_id!r}",
                    field=f"Vehicle({vehicle.id}).end_depot_id",
                )
            for parcel in vehicle.on_board:
                known(parcel.delivery.location_id, f"OnBoardParcel({parcel.id})")
        for shipment in self.shipments:
            known(shipment.pickup.location_id, f"Shipment({shipment.id}).pickup")
            known(shipment.delivery.location_id, f"Shipment({shipment.id}).delivery")
        for location_id in sorted(self.closed_location_ids):
            known(location_id, "Problem.closed_location_ids")
        for a, b in self.closed_roads:
            known(a, "Problem.closed_roads")
            known(b, "Problem.closed_roads")
        self._check_sequences()

    def _check_sequences(self) -> None:
        owner: dict[str, str] = {}
        for vehicle in self.vehicles:
            where = f"Vehicle({vehicle.id}).locked_sequence"
            carried = {parcel.id for parcel in vehicle.on_board}
            for parcel_id, kind in vehicle.locked_sequence:
                shipment = self._shipments.get(parcel_id)
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

    def _given_matrix(self) -> npt.NDArray[np.float64]:
        size = len(self.locations)
        assert self.travel_times is not None
        _require(
            len(self.travel_times) == size
            and all(len(row) == size for row in self.travel_times),
            "Problem.travel_times",
            f"must be {size} x {size}, one row and column per location",
        )
        array = np.array(self.travel_times, dtype=np.float64).reshape(size, size)
        _require(
            bool(np.all(np.isfinite(array)) and np.all(array >= 0)),
            "Problem.travel_times",
            "every entry must be a finite, non-negative number",
        )
        return array

    def _close_roads(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Replace each closed arc by the shortest detour that avoids every one.

        Only closed arcs change: every other direct arc is still open and a
        travel matrix is read as direct-arc times. Dijkstra on the dense
        matrix, one source per closed road's start, each step relaxing a
        whole row at once.
        """
        closed = {(self._index[a], self._index[b]) for a, b in self.closed_roads}
        size = len(matrix)
        open_arcs = np.ones((size, size), dtype=bool)
        for a, b in closed:
            open_arcs[a, b] = False
        costs = np.where(open_arcs, matrix, np.inf)
        detours = matrix.copy()
        for source in sorted({a for a, _ in closed}):
            best = np.full(size, np.inf)
            best[source] = 0.0
            done = np.zeros(size, dtype=bool)
            for _ in range(size):
                here = int(np.argmin(np.where(done, np.inf, best)))
                if done[here] or best[here] == np.inf:
                    break
                done[here] = True
                best = np.minimum(best, best[here] + costs[here])
            for a, b in closed:
                if a == source:
                    detours[a, b] = best[b]
        return detours

    def travel(self, from_location: str, to_location: str) -> float:
        """Return the travel time (= distance) between two locations."""
        return self._matrix[self._index[from_location]][self._index[to_location]]

    def location_index(self, location_id: str) -> int:
        """Return the position of ``location_id`` in ``locations``."""
        return self._index[location_id]

    def travel_array(self) -> npt.NDArray[np.float64]:
        """Return the whole travel matrix (read-only), in location order."""
        return self._array

    def depot(self, depot_id: str) -> Depot:
        """Return the depot with ``depot_id``.

        Raises
        ------
        KeyError
            If there is no such depot.
        """
        return self._depots[depot_id]

    def vehicle(self, vehicle_id: str) -> Vehicle | None:
        """Return the vehicle with ``vehicle_id``, or None if there is none."""
        return self._vehicles.get(vehicle_id)

    def stop_of(self, parcel_id: str, kind: StopKind) -> tuple[Stop, int]:
        """Return the stop of a shipment or on-board parcel and its load change.

        Raises
        ------
        KeyError
            If no shipment or on-board parcel has ``parcel_id``, or an
            on-board parcel is asked for its pickup.
        """
        shipment = self._shipments.get(parcel_id)
        if shipment is not None:
            if kind is StopKind.PICKUP:
                return shipment.pickup, shipment.load
            return shipment.delivery, -shipment.load
        parcel = self._on_board.get(parcel_id)
        if parcel is None or kind is StopKind.PICKUP:
            raise KeyError(f"no {kind} stop for parcel {parcel_id!r}")
        return parcel.delivery, -parcel.load

    def shipment(self, shipment_id: str) -> Shipment | None:
        """Return the shipment with ``shipment_id``, or None."""
        return self._shipments.get(shipment_id)

    def carrier_of(self, parcel_id: str) -> Vehicle | None:
        """Return the vehicle an on-board parcel is on, or None."""
        return self._carriers.get(parcel_id)

    def end_location(self, vehicle: Vehicle) -> str:
        """Return the location id of the depot ``vehicle`` must end at."""
        return self.depot(vehicle.end_depot_id).location_id

    def sequence_owner(self, parcel_id: str) -> Vehicle | None:
        """Return the vehicle whose ``locked_sequence`` names ``parcel_id``."""
        return self._owners.get(parcel_id)


@lru_cache(maxsize=4)
def _euclidean(
    locations: tuple[Location, ...],
) -> tuple[npt.NDArray[np.float64], list[list[float]]]:
    """Euclidean distances between ``locations``, shared by equal problems.

    A re-plan builds several problems over the same places (``state_at``,
    ``without_vehicle``, ...); for a 1,000-shipment day the matrix has four
    million entries, so it is computed once. On integer coordinates (Li &
    Lim) ``sqrt(dx*dx + dy*dy)`` is exact before its one rounding, so it
    equals ``math.hypot`` to the last bit.
    """
    xs = np.array([loc.x for loc in locations], dtype=np.float64)
    ys = np.array([loc.y for loc in locations], dtype=np.float64)
    dx = xs[:, None] - xs[None, :]
    dy = ys[:, None] - ys[None, :]
    array = np.sqrt(dx * dx + dy * dy)
    array.setflags(write=False)
    return array, array.tolist()


def _unique(ids: Sequence[str], field_name: str) -> None:
    seen: set[str] = set()
    for item in ids:
        _require(item not in seen, field_name, f"the id {item!r} appears twice")
        seen.add(item)
