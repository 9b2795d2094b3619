"""Ranking a plan's routes by how easily the others take their shipments."""

from __future__ import annotations

from solver import Plan, Problem, StopKind, pyvrp_model, schedule_route, validate
from solver.peers import PeerBudget
from solver.route_elimination import rank_routes
from tests.solver.conftest import parcel, street

PICKUP, DELIVERY = StopKind.PICKUP, StopKind.DELIVERY


def test_a_route_on_the_way_of_another_is_ranked_first_and_absorbed() -> None:
    problem = street(
        (parcel("s1", "h1", "h2"), parcel("s2", "h5", "h9"), parcel("s3", "h6", "h8"))
    )
    routes = [
        ("van1", [("s1", PICKUP), ("s1", DELIVERY)]),
        (
            "van2",
            [("s2", PICKUP), ("s3", PICKUP), ("s3", DELIVERY), ("s2", DELIVERY)],
        ),
    ]

    ranked = rank_routes(problem, routes)

    first = ranked[0]
    assert (first.route, first.left_over, first.extra) == (0, (), 0.0)
    assert first.others == {
        "van2": [
            ("s1", PICKUP),
            ("s1", DELIVERY),
            ("s2", PICKUP),
            ("s3", PICKUP),
            ("s3", DELIVERY),
            ("s2", DELIVERY),
        ]
    }
    plan = Plan.from_routes([schedule_route(problem, "van2", first.others["van2"])], [])
    assert validate(problem, plan) == []


def test_a_shipment_no_other_route_can_take_is_left_over() -> None:
    # Both vans are full from h1 to h9 and both deliveries are due by 100,
    # so neither van can carry the other's parcel, at once or after.
    problem = street(
        tuple(
            parcel(name, "h1", "h9", load=10, delivery_window=(0, 100))
            for name in ("s1", "s2")
        )
    )
    routes = [
        ("van1", [("s1", PICKUP), ("s1", DELIVERY)]),
        ("van2", [("s2", PICKUP), ("s2", DELIVERY)]),
    ]

    ranked = rank_routes(problem, routes)

    assert [(e.route, e.left_over) for e in ranked] == [(0, ("s1",)), (1, ("s2",))]
    assert ranked[0].others == {"van2": [("s2", PICKUP), ("s2", DELIVERY)]}


def test_pyvrp_cuts_lc103_to_its_best_known_nine_vehicles_in_300_iterations(
    lilim_lc103: Problem,
) -> None:
    # Taking out the shortest route first needed 600 iterations for this.
    shipments = list(lilim_lc103.shipments)

    routes = pyvrp_model.solve(lilim_lc103, shipments, PeerBudget(1, iterations=300))

    assert sum(1 for visits in routes.values() if visits) == 9
    assert sum(len(visits) for visits in routes.values()) == 2 * len(shipments)
