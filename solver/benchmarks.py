"""Readers for the routing benchmarks: Li & Lim PDPTW, Solomon VRPTW, BKS routes.

The formats are those of the published sets (H. Li & A. Lim, "A metaheuristic
for the pickup and delivery problem with time windows", 2001; M. M. Solomon,
"Algorithms for the vehicle routing and scheduling problems with time window
constraints", 1987). Files may have Windows line endings. The conventions the
benchmark results are measured under: distance is plain Euclidean distance in
double precision, travel time equals distance, a vehicle that arrives early
waits until ``ready``, and ``due`` is the latest start of service.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from solver.errors import InstanceFormatError

_ROUTE_LINE = re.compile(r"^\s*Route\s+(\d+)\s*:(.*)$")


@dataclass(frozen=True)
class Task:
    """One Li & Lim task: the depot (id 0), a pickup or a delivery.

    A pickup has positive ``demand`` and names its delivery in ``delivery_id``;
    a delivery has the negative demand and names its pickup in ``pickup_id``.
    """

    id: int
    x: int
    y: int
    demand: int
    ready: int
    due: int
    service: int
    pickup_id: int
    delivery_id: int

    @property
    def is_pickup(self) -> bool:
        """Whether a vehicle loads here."""
        return self.demand > 0

    @property
    def is_delivery(self) -> bool:
        """Whether a vehicle unloads here."""
        return self.demand < 0


@dataclass(frozen=True)
class Customer:
    """One Solomon node: the depot (id 0) or a customer to deliver to."""

    id: int
    x: int
    y: int
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class PdptwInstance:
    """A Li & Lim pickup-and-delivery instance with time windows."""

    name: str
    vehicle_count: int
    capacity: int
    depot: Task
    tasks: tuple[Task, ...]
    _by_id: dict[int, Task] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {self.depot.id: self.depot}
        by_id.update((task.id, task) for task in self.tasks)
        object.__setattr__(self, "_by_id", by_id)

    @property
    def horizon(self) -> int:
        """The time by which every vehicle must be back at the depot."""
        return self.depot.due

    def task(self, task_id: int) -> Task:
        """Return the task (or the depot, id 0) with ``task_id``."""
        try:
            return self._by_id[task_id]
        except KeyError:
            raise KeyError(f"{self.name} has no task {task_id}") from None

    def pairs(self) -> tuple[tuple[Task, Task], ...]:
        """Return every ``(pickup, delivery)`` pair, ordered by pickup id."""
        return tuple(
            (task, self._by_id[task.delivery_id])
            for task in self.tasks
            if task.is_pickup
        )

    def travel(self, from_id: int, to_id: int) -> float:
        """Return the Euclidean distance (= travel time) between two tasks."""
        a, b = self._by_id[from_id], self._by_id[to_id]
        return math.hypot(a.x - b.x, a.y - b.y)


@dataclass(frozen=True)
class VrptwInstance:
    """A Solomon vehicle-routing instance with time windows."""

    name: str
    vehicle_count: int
    capacity: int
    depot: Customer
    customers: tuple[Customer, ...]

    @property
    def horizon(self) -> int:
        """The time by which every vehicle must be back at the depot."""
        return self.depot.due


@dataclass(frozen=True)
class BestKnownSolution:
    """A published route list: task ids in visiting order, depot left out."""

    name: str
    routes: tuple[tuple[int, ...], ...]

    def covered(self) -> list[int]:
        """Return every task id the routes visit, in route order."""
        return [task_id for route in self.routes for task_id in route]


@dataclass(frozen=True)
class Visit:
    """When a vehicle reaches a task and serves it, under the benchmark rules."""

    task_id: int
    arrival: float
    start: float
    departure: float
    load: int


def _numbers(
    path: Path, number: int, text: str, count: int | None = None
) -> tuple[int, ...]:
    fields = text.split()
    try:
        values = tuple(int(value) for value in fields)
    except ValueError:
        raise InstanceFormatError(
            f"expected whitespace-separated integers, found {text.strip()!r}",
            path=path,
            line=number,
        ) from None
    if count is not None and len(values) != count:
        raise InstanceFormatError(
            f"expected {count} numbers, found {len(values)} in {text.strip()!r}",
            path=path,
            line=number,
        )
    return values


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise InstanceFormatError("no such file", path=path) from None
    except UnicodeDecodeError:
        raise InstanceFormatError(
            "not a plain-text benchmark file", path=path
        ) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def read_pdptw(path: Path | str) -> PdptwInstance:
    """Read a Li & Lim PDPTW instance.

    Parameters
    ----------
    path
        The instance file: a ``K Q S`` header (vehicles, capacity, speed --
        the speed is ignored, as in the published results), then one line
        ``id x y demand ready due service pickup_id delivery_id`` per task,
        the depot first with id 0.

    Returns
    -------
    PdptwInstance
        Named after the file's stem (``lc101``).

    Raises
    ------
    InstanceFormatError
        If a line is not numeric, has the wrong number of fields, or the
        pickup/delivery pairs do not point at each other with opposite demand.
    """
    path = Path(path)
    lines = list(_lines(path))
    if not lines:
        raise InstanceFormatError("the file is empty", path=path)

    header_line, header = lines[0]
    vehicle_count, capacity, _speed = _numbers(path, header_line, header, 3)
    if vehicle_count <= 0 or capacity <= 0:
        raise InstanceFormatError(
            "the vehicle count and capacity must be positive",
            path=path,
            line=header_line,
        )

    tasks: list[Task] = []
    where: dict[int, int] = {}
    for number, text in lines[1:]:
        task = Task(*_numbers(path, number, text, 9))
        if task.id in where:
            raise InstanceFormatError(
                f"task {task.id} appears twice (first on line {where[task.id]})",
                path=path,
                line=number,
            )
        if task.due < task.ready:
            raise InstanceFormatError(
                f"task {task.id}'s time window ends before it starts",
                path=path,
                line=number,
            )
        where[task.id] = number
        tasks.append(task)

    if not tasks or tasks[0].id != 0:
        raise InstanceFormatError(
            "the first task must be the depot, id 0",
            path=path,
            line=lines[1][0] if len(lines) > 1 else header_line,
        )
    _check_pairs(path, tasks, where)
    return PdptwInstance(path.stem, vehicle_count, capacity, tasks[0], tuple(tasks[1:]))


def _check_pairs(path: Path, tasks: Sequence[Task], where: dict[int, int]) -> None:
    by_id = {task.id: task for task in tasks}
    for task in tasks[1:]:
        line = where[task.id]
        if task.is_pickup:
            partner = by_id.get(task.delivery_id)
            if task.pickup_id != 0 or partner is None or partner.pickup_id != task.id:
                raise InstanceFormatError(
                    f"pickup {task.id} names delivery {task.delivery_id}, which "
                    "does not name it back",
                    path=path,
                    line=line,
                )
            if partner.demand != -task.demand:
                raise InstanceFormatError(
                    f"pickup {task.id} loads {task.demand} but delivery "
                    f"{partner.id} unloads {-partner.demand}",
                    path=path,
                    line=line,
                )
        elif task.is_delivery:
            partner = by_id.get(task.pickup_id)
            if task.delivery_id != 0 or partner is None:
                raise InstanceFormatError(
                    f"delivery {task.id} names pickup {task.pickup_id}, which "
                    "does not exist",
                    path=path,
                    line=line,
                )
        else:
            raise InstanceFormatError(
                f"task {task.id} has zero demand: it is neither pickup nor delivery",
                path=path,
                line=line,
            )


def read_vrptw(path: Path | str) -> VrptwInstance:
    """Read a Solomon VRPTW instance.

    Parameters
    ----------
    path
        The instance file: the name, a ``VEHICLE`` block with ``NUMBER
        CAPACITY``, a ``CUSTOMER`` block with one row ``cust_no x y demand
        ready due service`` per node, node 0 being the depot.

    Raises
    ------
    InstanceFormatError
        If a block is missing or a row is malformed.
    """
    path = Path(path)
    lines = list(_lines(path))
    if not lines:
        raise InstanceFormatError("the file is empty", path=path)
    name = lines[0][1].strip()
    words = [text.split()[0].upper() for _, text in lines]

    try:
        vehicle_at = words.index("VEHICLE")
        customer_at = words.index("CUSTOMER")
    except ValueError:
        raise InstanceFormatError(
            "expected a VEHICLE block and a CUSTOMER block", path=path
        ) from None
    if vehicle_at + 2 >= len(lines):
        raise InstanceFormatError("the VEHICLE block is cut off", path=path)
    number, text = lines[vehicle_at + 2]
    vehicle_count, capacity = _numbers(path, number, text, 2)

    nodes = [
        Customer(*_numbers(path, number, text, 7))
        for number, text in lines[customer_at + 2 :]
    ]
    if not nodes or nodes[0].id != 0:
        raise InstanceFormatError(
            "the first customer row must be the depot, 0", path=path
        )
    ids = [node.id for node in nodes]
    if len(set(ids)) != len(ids):
        raise InstanceFormatError("a customer number appears twice", path=path)
    return VrptwInstance(
        name.lower(), vehicle_count, capacity, nodes[0], tuple(nodes[1:])
    )


def read_best_known(path: Path | str) -> BestKnownSolution:
    """Read a Li & Lim best-known-solution route file.

    Parameters
    ----------
    path
        Header lines (instance, authors, date, reference) followed by one
        ``Route k : id id ...`` line per route. The instance name is the part
        of the file name before the first dot (``lc101.10_828.9369.txt``).

    Raises
    ------
    InstanceFormatError
        If there is no route, or a route line holds something other than ids.
    """
    path = Path(path)
    routes: list[tuple[int, ...]] = []
    for number, text in _lines(path):
        match = _ROUTE_LINE.match(text)
        if match is None:
            if text.lstrip().lower().startswith("route"):
                raise InstanceFormatError(
                    f"expected 'Route k : id id ...', found {text.strip()!r}",
                    path=path,
                    line=number,
                )
            continue
        route = _numbers(path, number, match.group(2))
        if not route:
            raise InstanceFormatError("a route visits no task", path=path, line=number)
        routes.append(route)
    if not routes:
        raise InstanceFormatError("the file lists no route", path=path)
    return BestKnownSolution(path.name.split(".")[0], tuple(routes))


def best_known_file(directory: Path | str, name: str) -> Path:
    """Return the route file of instance ``name`` in ``directory``.

    Raises
    ------
    FileNotFoundError
        If there is none, or more than one.
    """
    matches = sorted(Path(directory).glob(f"{name}.*_*.txt"))
    if len(matches) != 1:
        raise FileNotFoundError(
            f"expected one best-known solution file {name}.<vehicles>_<distance>.txt "
            f"in {directory}, found {len(matches)}"
        )
    return matches[0]


def route_distance(instance: PdptwInstance, route: Sequence[int]) -> float:
    """Return a route's length from the depot through ``route`` and back."""
    stops = [0, *route, 0]
    return sum(instance.travel(a, b) for a, b in itertools.pairwise(stops))


def solution_distance(instance: PdptwInstance, solution: BestKnownSolution) -> float:
    """Return the total length of every route of ``solution``."""
    return sum(route_distance(instance, route) for route in solution.routes)


def route_schedule(instance: PdptwInstance, route: Sequence[int]) -> tuple[Visit, ...]:
    """Return when each task of ``route`` is reached, served and left.

    The vehicle leaves the depot at time 0; service starts at
    ``max(arrival, ready)`` (early vehicles wait) and lasts ``service``.
    The schedule is computed, not checked: a start after ``due`` is returned
    as it is.
    """
    visits: list[Visit] = []
    here, clock, load = 0, 0.0, 0
    for task_id in route:
        task = instance.task(task_id)
        arrival = clock + instance.travel(here, task_id)
        start = max(arrival, float(task.ready))
        load += task.demand
        clock = start + task.service
        visits.append(Visit(task_id, arrival, start, clock, load))
        here = task_id
    return tuple(visits)
