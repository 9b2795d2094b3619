"""The planner's input: plain, immutable data, checked when it is built.

Times are plain numbers on one clock (the benchmarks use minutes from the start
of the day); a travel time is also the distance the plan reports, as in the Li &
Lim and Solomon sets. Every identifier is a string so the control room can pass
its own keys through unchanged.

Re-planning data lives here too, all optional: a vehicle's breaks, the stops
locked to it in sequence (the first one possibly under way), each shipment's
promise time (who stays unserved when capacity is short, see
``solver.ortools_rules``), closed locations and closed roads. The travel
matrix is built by ``solver.travel`` and the cross-references are checked by
``solver.references`` when a ``Problem`` is constructed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from solver.errors import ProblemDataError
from solver.references import check_references
from solver.stops import StopKind, StopRef
from solver.travel import close_roads, euclidean_matrix, given_matrix

__all__ = [
    "Break",
    "Depot",
    "Location",
    "OnBoardParcel",
    "Problem",
    "Shipment",
    "Stop",
    "StopKind",
    "StopRef",
    "Vehicle",
]


def _require(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ProblemDataError(message, field=field_name)


def _finite(value: float, field_name: str) -> None:
    _require(math.isfinite(value), field_name, f"must be a finite number, got {value}")


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
        check_references(self)
        if self.travel_times is None:
            array, rows = euclidean_matrix(self.locations)
        else:
            array, rows = given_matrix(self.travel_times, len(self.locations)), None
        if self.closed_roads:
            closed = {(index[a], index[b]) for a, b in self.closed_roads}
            array, rows = close_roads(array, closed), None
        if rows is None:
            array.setflags(write=False)
            rows = array.tolist()
        object.__setattr__(self, "_array", array)
        object.__setattr__(self, "_matrix", rows)

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


def _unique(ids: Sequence[str], field_name: str) -> None:
    seen: set[str] = set()
    for item in ids:
        _require(item not in seen, field_name, f"the id {item!r} appears twice")
        seen.add(item)
