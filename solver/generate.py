"""Generated delivery days in the style of the Li & Lim sets, any size.

Li & Lim built their pickup-and-delivery instances from Solomon's customer
sets (H. Li & A. Lim, "A metaheuristic for the pickup and delivery problem
with time windows", 2001): clustered (``lc``), random (``lr``) or mixed
(``lrc``) customers on a 0..100 grid, one depot, vehicles of capacity 200,
and a short horizon in the type-1 classes. Solomon drew the time windows
around routes that work (Solomon 1987), which is why a good plan chains
many stops per vehicle; pairs with independent random windows chain badly
and need a vehicle for every two or three shipments.

To measure a 1,000-shipment day this module draws one of any size from a
seed the same way. It drives hidden routes through the day: each vehicle
leaves the depot at 0 and, while its shift allows, collects a new parcel
near where it is (the nearest of a few points drawn from the class's mix of
clusters and open grid) or delivers one it carries, within capacity. Each
stop's time window is drawn around the moment the hidden route serves it.
The hidden routes are therefore a valid plan, so the fleet (their number
plus spares) is enough to serve everything, and every pair is feasible on
its own (in Euclidean space the direct way is never longer than the hidden
route's, so a vehicle with nothing else to do is never later).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from solver.errors import ProblemDataError
from solver.problem import Depot, Location, Problem, Shipment, Stop, Vehicle

DEPOT_ID = "depot"
GRID = 100
CAPACITY = 200

# A new stop is the nearest of this many points drawn from the mix: a
# hidden route wanders through its neighbourhood instead of zig-zagging
# across the grid, as routes of a good Solomon solution do.
NEAREST_OF = 4

# Spare vehicles on top of the hidden routes, as a share of them.
SPARE_SHARE = 0.1


@dataclass(frozen=True)
class DayStyle:
    """The shape of a generated day, after one Li & Lim class.

    ``clustered_share`` of the points lie in clusters, the rest uniformly on
    the grid; ``window`` bounds a time window's width; ``load`` bounds a
    shipment's load, drawn in steps of ``load_step``.
    """

    name: str
    horizon: int
    service: int
    window: tuple[int, int]
    clustered_share: float
    load: tuple[int, int]
    load_step: int


# Horizons, service times and window widths are those of lc101, lr101 and
# lrc101 (mean widths 60, 10 and 30); loads as in lc1 and lrc1.
STYLES = {
    "lc1": DayStyle("lc1", 1236, 90, (40, 80), 1.0, (10, 40), 10),
    "lr1": DayStyle("lr1", 230, 10, (10, 10), 0.0, (1, 40), 1),
    "lrc1": DayStyle("lrc1", 240, 10, (30, 30), 0.5, (10, 40), 10),
}


@dataclass
class _Parcel:
    number: int
    pickup: Location
    delivery: Location
    load: int
    collected_at: float = 0.0


def generated_day(
    shipment_count: int,
    *,
    seed: int,
    style: str = "lrc1",
    spare_vehicles: int | None = None,
) -> Problem:
    """Draw a Li & Lim-style day of ``shipment_count`` shipments.

    Parameters
    ----------
    shipment_count
        How many pickup-and-delivery pairs.
    seed
        The same seed (and arguments) gives the same day.
    style
        ``"lc1"``, ``"lr1"`` or ``"lrc1"`` (see ``STYLES``).
    spare_vehicles
        Vehicles beyond the hidden routes' count; by default a tenth of it,
        at least one.

    Returns
    -------
    Problem
        A depot ``"depot"`` in the middle of the grid, locations ``"p<n>"``
        and ``"d<n>"`` for shipment ``"s<n>"`` (numbered from 1, zero-padded,
        in random order), identical vehicles ``"v<n>"`` of capacity 200
        working the horizon, Euclidean travel times.

    Raises
    ------
    ProblemDataError
        If a count is not positive (spares may be 0) or the style is unknown.
    """
    if shipment_count <= 0:
        raise ProblemDataError("must be positive", field="shipment_count")
    if spare_vehicles is not None and spare_vehicles < 0:
        raise ProblemDataError("must not be negative", field="spare_vehicles")
    if style not in STYLES:
        raise ProblemDataError(
            f"unknown style {style!r}; choose one of {sorted(STYLES)}", field="style"
        )
    day = STYLES[style]
    rng = random.Random(seed)
    depot = Location(DEPOT_ID, GRID / 2, GRID / 2)
    # About a hundred stops per cluster, as in the clustered Li & Lim sets.
    centres = [
        (rng.uniform(10, GRID - 10), rng.uniform(10, GRID - 10))
        for _ in range(max(4, shipment_count // 50))
    ]

    def draw() -> tuple[float, float]:
        if rng.random() < day.clustered_share:
            x, y = rng.choice(centres)
            return _on_grid(rng.gauss(x, 4)), _on_grid(rng.gauss(y, 4))
        return _on_grid(rng.uniform(0, GRID)), _on_grid(rng.uniform(0, GRID))

    def near(here: Location, location_id: str) -> Location:
        points = [draw() for _ in range(NEAREST_OF)]
        x, y = min(points, key=lambda p: math.hypot(p[0] - here.x, p[1] - here.y))
        return Location(location_id, x, y)

    # Shipment numbers are shuffled so that ids say nothing of the hidden
    # routes.
    numbers = list(range(1, shipment_count + 1))
    rng.shuffle(numbers)
    width = len(str(shipment_count))
    locations = [depot]
    shipments: list[Shipment] = []
    routes, idle = 0, 0
    while numbers:
        before = len(numbers)
        for parcel, collect, drop in _hidden_route(
            rng, day, depot, numbers, near, width
        ):
            locations += [parcel.pickup, parcel.delivery]
            shipments.append(
                Shipment(
                    f"s{parcel.number:0{width}d}",
                    Stop(parcel.pickup.id, *_around(rng, day, collect), day.service),
                    Stop(parcel.delivery.id, *_around(rng, day, drop), day.service),
                    parcel.load,
                )
            )
        # A route whose first draw did not fit the shift is driven again.
        routes, idle = (routes + 1, 0) if len(numbers) < before else (routes, idle + 1)
        if idle > 100:
            raise ProblemDataError(
                "no hidden route fits the horizon", field="style"
            )  # pragma: no cover

    spares = max(1, round(SPARE_SHARE * routes))
    fleet = routes + (spares if spare_vehicles is None else spare_vehicles)
    digits = len(str(fleet))
    vehicles = tuple(
        Vehicle(f"v{n:0{digits}d}", CAPACITY, 0, day.horizon, DEPOT_ID, DEPOT_ID)
        for n in range(1, fleet + 1)
    )
    shipments.sort(key=lambda s: s.id)
    return Problem(
        locations=(depot, *sorted(locations[1:], key=_location_order)),
        depots=(Depot(DEPOT_ID, DEPOT_ID),),
        vehicles=vehicles,
        shipments=tuple(shipments),
    )


def _hidden_route(
    rng: random.Random,
    day: DayStyle,
    depot: Location,
    numbers: list[int],
    near: Callable[[Location, str], Location],
    width: int,
) -> Iterator[tuple[_Parcel, float, float]]:
    """Drive one vehicle through the day; yield each parcel and its two times.

    Takes shipment numbers from the end of ``numbers`` (named with
    ``width`` digits). The vehicle always
    keeps a way home in time: deliver what it carries, nearest first, and
    return to the depot. A parcel is collected only if that way still fits
    the shift afterwards, and a delivery is always the first step of that
    way, so the route ends within the horizon.
    """
    here, clock, load = depot, 0.0, 0
    carried: list[_Parcel] = []
    while numbers or carried:
        if numbers and not (carried and rng.random() < 0.5):
            name = f"{numbers[-1]:0{width}d}"
            pickup = near(here, f"p{name}")
            low, high = day.load
            parcel = _Parcel(
                numbers[-1],
                pickup,
                near(pickup, f"d{name}"),
                rng.randrange(low, high + 1, day.load_step),
                collected_at=clock + _far(here, pickup),
            )
            after = parcel.collected_at + day.service
            if load + parcel.load <= CAPACITY and _home_by(
                day, pickup, after, [*carried, parcel], depot
            ):
                numbers.pop()
                carried.append(parcel)
                here, clock, load = pickup, after, load + parcel.load
                continue
            if not carried:
                return
        nearest = min(carried, key=lambda c: _far(here, c.delivery))
        clock += _far(here, nearest.delivery)
        yield nearest, nearest.collected_at, clock
        carried.remove(nearest)
        here, clock, load = nearest.delivery, clock + day.service, load - nearest.load


def _home_by(
    day: DayStyle,
    here: Location,
    clock: float,
    carried: list[_Parcel],
    depot: Location,
) -> bool:
    """Whether delivering ``carried`` nearest first gets home by the horizon."""
    left = list(carried)
    while left:
        nearest = min(left, key=lambda c: _far(here, c.delivery))
        clock += _far(here, nearest.delivery) + day.service
        here = nearest.delivery
        left.remove(nearest)
    return clock + _far(here, depot) <= day.horizon


def _far(a: Location, b: Location) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)


def _on_grid(value: float) -> int:
    # Li & Lim coordinates are integers on the grid.
    return min(max(round(value), 0), GRID)


def _location_order(location: Location) -> tuple[str, bool]:
    # Shipment by shipment, pickup ("p...") before delivery ("d...").
    return location.id[1:], location.id.startswith("d")


def _around(rng: random.Random, day: DayStyle, time: float) -> tuple[int, int]:
    """A window of the style's width with ``time`` at a random place inside."""
    width = rng.randint(*day.window)
    before = rng.uniform(0, width)
    ready = max(0, math.floor(time - before))
    return ready, min(day.horizon, max(math.ceil(time - before + width), ready))
