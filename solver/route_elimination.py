"""Which route to take out first when a plan tries to do with one vehicle fewer.

Fleet minimisation removes one route and asks the search to place its
shipments elsewhere (the route-elimination step of Nagata & Bräysy, "A
powerful route minimization heuristic for the vehicle routing problem with
time windows", Operations Research Letters 2009). Which route goes matters
more than how long the search tries: on Li & Lim's lc103 one route is gone
within a few hundredths of a second, for three seeds, while for another the
search finds no feasible plan within a second. ``rank_routes`` predicts the
easy ones with our own insertion check (``solver.repair``): it moves each
route's shipments into the other routes, the most constrained first, each
where it lengthens the plan least, and counts what fits nowhere. The fewer
left over, the more promising the route; a route whose shipments all fit
gives a plan with one vehicle fewer outright.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solver.problem import Problem, Shipment, StopKind, StopRef
from solver.repair import _insertion, _Route, _state


@dataclass(frozen=True)
class Elimination:
    """What taking out one route leaves for the search to do.

    ``route`` is its position in the routes given; ``left_over`` the
    shipments that fit into no other route; ``extra`` the distance the
    others gain by taking the ones that fit; ``others`` every other route
    with those shipments inserted (visits per vehicle id, in order).
    """

    route: int
    left_over: tuple[str, ...]
    extra: float
    others: dict[str, list[StopRef]]


def rank_routes(
    problem: Problem, routes: Sequence[tuple[str, Sequence[StopRef]]]
) -> list[Elimination]:
    """Rank the routes of a plan by how easily the others absorb each one.

    Parameters
    ----------
    problem
        The problem the plan is for; its vehicles must have no breaks,
        parcels on board or locks (the peers' scope).
    routes
        The plan's routes as (vehicle id, visits), each visit a shipment's
        pickup or delivery.

    Returns
    -------
    list[Elimination]
        One per route, fewest shipments left over first, then least extra
        distance, then the order given.
    """
    states = []
    for vehicle_id, visits in routes:
        vehicle = problem.vehicle(vehicle_id)
        assert vehicle is not None, f"no vehicle {vehicle_id} in the problem"
        states.append(_state(problem, vehicle, list(visits)))
    ranked = [_eliminate(problem, states, number) for number in range(len(states))]
    return sorted(ranked, key=lambda e: (len(e.left_over), e.extra, e.route))


def _eliminate(problem: Problem, states: Sequence[_Route], number: int) -> Elimination:
    others = {i: state for i, state in enumerate(states) if i != number}
    pending: list[Shipment] = []
    for parcel_id, kind in states[number].visits:
        shipment = problem.shipment(parcel_id)
        if kind is StopKind.PICKUP and shipment is not None:
            pending.append(shipment)

    # Insertions are cached per (shipment, route) and only the route that
    # just took a shipment is asked again.
    found: dict[tuple[str, int], tuple[float, int, int] | None] = {
        (s.id, i): _insertion(problem, state, s, 0.0)
        for s in pending
        for i, state in others.items()
    }
    left_over: list[str] = []
    extra = 0.0
    while pending:
        # Most constrained first (fewest routes that could take it), as in
        # regret insertion: the easy shipments still fit afterwards.
        options = {
            s.id: [(f, i) for i in others if (f := found[(s.id, i)]) is not None]
            for s in pending
        }
        shipment = min(pending, key=lambda s: (len(options[s.id]), s.id))
        pending.remove(shipment)
        if not options[shipment.id]:
            left_over.append(shipment.id)
            continue
        (cost, p, q), target = min(options[shipment.id], key=lambda o: o[0][0])
        extra += cost
        visits = list(others[target].visits)
        visits.insert(q, (shipment.id, StopKind.DELIVERY))
        visits.insert(p, (shipment.id, StopKind.PICKUP))
        others[target] = _state(problem, others[target].vehicle, visits)
        for s in pending:
            found[(s.id, target)] = _insertion(problem, others[target], s, 0.0)

    return Elimination(
        number,
        tuple(sorted(left_over)),
        extra,
        {state.vehicle.id: state.visits for state in others.values()},
    )
