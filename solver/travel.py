"""The travel matrix of a problem: given, or Euclidean, with closed roads.

A travel time is also the distance a plan reports (the Li & Lim and Solomon
convention). ``solver.problem.Problem`` builds its matrix here once, when it
is constructed; the search models read it as an array, the insertion checks
as nested lists.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from solver.errors import ProblemDataError

if TYPE_CHECKING:
    from solver.problem import Location

Matrix = npt.NDArray[np.float64]


def given_matrix(travel_times: Sequence[Sequence[float]], size: int) -> Matrix:
    """Return ``travel_times`` as an array after checking its shape and values.

    Raises
    ------
    ProblemDataError
        If it is not ``size`` x ``size`` or has a negative or infinite entry.
    """
    if len(travel_times) != size or any(len(row) != size for row in travel_times):
        raise ProblemDataError(
            f"must be {size} x {size}, one row and column per location",
            field="Problem.travel_times",
        )
    array = np.array(travel_times, dtype=np.float64).reshape(size, size)
    if not (np.all(np.isfinite(array)) and np.all(array >= 0)):
        raise ProblemDataError(
            "every entry must be a finite, non-negative number",
            field="Problem.travel_times",
        )
    return array


@lru_cache(maxsize=4)
def euclidean_matrix(
    locations: tuple[Location, ...],
) -> tuple[Matrix, list[list[float]]]:
    """Euclidean distances between ``locations``, shared by equal problems.

    A re-plan builds several problems over the same places (``state_at``,
    ``without_vehicle``, ...); for a 1,000-shipment day the matrix has four
    million entries, so it is computed once. On integer coordinates (Li &
    Lim) ``sqrt(dx*dx + dy*dy)`` is exact before its one rounding, so it
    equals ``math.hypot`` to the last bit.

    Returns
    -------
    tuple
        The read-only array and the same values as nested lists.
    """
    xs = np.array([loc.x for loc in locations], dtype=np.float64)
    ys = np.array([loc.y for loc in locations], dtype=np.float64)
    dx = xs[:, None] - xs[None, :]
    dy = ys[:, None] - ys[None, :]
    array = np.sqrt(dx * dx + dy * dy)
    array.setflags(write=False)
    return array, array.tolist()


def close_roads(matrix: Matrix, closed: Collection[tuple[int, int]]) -> Matrix:
    """Replace each closed arc by the shortest detour that avoids every one.

    Only closed arcs change: every other direct arc is still open and a
    travel matrix is read as direct-arc times. Dijkstra on the dense
    matrix, one source per closed road's start, each step relaxing a
    whole row at once. A closed arc with no detour left becomes infinite.

    Parameters
    ----------
    matrix
        Direct-arc travel times.
    closed
        The closed arcs as (from, to) positions in ``matrix``.
    """
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
