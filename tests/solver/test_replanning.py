"""Re-planning rules: minimal change, locks, promise order, breaks, closures."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from solver import (
    Break,
    Depot,
    Location,
    OnBoardParcel,
    Plan,
    Problem,
    ProblemDataError,
    Stop,
    StopKind,
    UnservedReason,
    Vehicle,
    ViolationKind,
    plan_routes,
    schedule_route,
    validate,
)
from solver.degradations import (
    locations_in_box,
    state_at,
    with_area_closed,
    with_depot_lost,
    with_roads_closed,
    without_vehicle,
)
from solver.repair import repair_plan
from tests.solver.conftest import parcel, street

SOLUTIONS = 20


def riders(plan: Plan) -> dict[str, str]:
    """Which vehicle serves each parcel."""
    return {s.parcel_id: r.vehicle_id for r in plan.routes for s in r.stops}


# 1. Minimal change on re-plan ------------------------------------------------


def test_breakdown_with_a_spare_moves_only_the_lost_drivers_stops(
    lilim_lc101: Problem,
) -> None:
    # Eleven vans: the day needs ten, v11 is the spare. v1 carries a parcel.
    vans = list(lilim_lc101.vehicles[:11])
    vans[0] = replace(
        vans[0], on_board=(OnBoardParcel("b1", Stop("t50", 0, 1236, 10), 10),)
    )
    day = replace(lilim_lc101, vehicles=tuple(vans))
    # A single-solution plan is far from optimal, so an unpenalised re-plan
    # would improve it by moving other drivers' stops (one moves without the
    # penalty, with seed 1 and 50 solutions).
    first = plan_routes(day, seed=1, max_solutions=1)
    lost = first.route_of("v1")
    assert lost is not None and first.route_of("v11") is None
    after = without_vehicle(day, "v1", position=lost.stops[0].location_id, at=0)

    second = plan_routes(after, seed=1, max_solutions=50, warm_start=first)

    before, now = riders(first), riders(second)
    lost_work = {s.parcel_id for s in lost.stops}
    moved = {p for p, vehicle in before.items() if now.get(p) != vehicle}
    assert second.unserved == ()
    assert moved == lost_work
    assert all(now[p] == before[p] for p in before if p not in lost_work)
    assert "v11" in set(now.values())
    assert validate(after, second) == []


def test_a_broken_down_vehicles_parcels_are_collected_where_it_stopped() -> None:
    problem = street(on_board=(OnBoardParcel("b1", Stop("h7", 0, 1000), 3),))

    after = without_vehicle(problem, "van1", position="h4", at=100)

    collected = after.shipment("b1")
    assert [v.id for v in after.vehicles] == ["van2"]
    assert collected is not None
    assert (collected.pickup.location_id, collected.pickup.ready) == ("h4", 100)
    assert collected.delivery.location_id == "h7"


def test_a_breakdown_between_two_places_adds_where_it_stopped() -> None:
    problem = street(on_board=(OnBoardParcel("b1", Stop("h7", 0, 1000), 3),))

    after = without_vehicle(problem, "van1", position=Location("x", 45, 5), at=50)

    assert after.travel("x", "h7") == pytest.approx(math.hypot(25, 5))


def test_a_new_breakdown_place_without_travel_times_is_refused() -> None:
    base = triangle()
    matrix = tuple(
        tuple(base.travel(a.id, b.id) for b in base.locations) for a in base.locations
    )
    problem = replace(base, travel_times=matrix)

    with pytest.raises(ProblemDataError, match="a new location needs travel times"):
        without_vehicle(problem, "van", position=Location("x", 1, 1), at=0)


def test_a_breakdown_at_an_unknown_place_is_refused() -> None:
    with pytest.raises(ProblemDataError, match="no location 'nowhere'"):
        without_vehicle(street(), "van1", position="nowhere", at=0)


# 2. Locks to a sequence and under-way stops ---------------------------------


def sequenced_street() -> Problem:
    base = street(tuple(parcel(f"s{n}", f"h{n}", f"h{n + 1}") for n in range(1, 6)))
    van1 = replace(
        base.vehicles[0],
        locked_sequence=(("s5", StopKind.PICKUP), ("s1", StopKind.DELIVERY)),
        under_way=True,
    )
    return replace(base, vehicles=(van1, base.vehicles[1]))


def test_an_under_way_stop_stays_first_and_locked_stops_keep_order() -> None:
    problem = sequenced_street()

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    route = plan.route_of("van1")
    assert route is not None
    visits = [(s.parcel_id, s.kind) for s in route.stops]
    assert visits[0] == ("s5", StopKind.PICKUP)
    assert visits.index(("s1", StopKind.DELIVERY)) > 0
    assert plan.unserved == ()
    assert validate(problem, plan) == []


def test_the_validator_rejects_an_under_way_stop_that_is_not_first() -> None:
    problem = sequenced_street()
    visits = [
        (sid, kind) for n in range(1, 6) for sid, kind in _pair(f"s{n}")
    ]  # s1 first, s5 last: breaks both the under-way stop and the order
    plan = Plan.from_routes([schedule_route(problem, "van1", visits)], [])

    found = {v.kind for v in validate(problem, plan)}

    assert ViolationKind.SEQUENCE_BROKEN in found


def test_the_validator_rejects_a_locked_stop_on_another_vehicle() -> None:
    problem = sequenced_street()
    van1 = [("s5", StopKind.PICKUP), ("s5", StopKind.DELIVERY)]
    van2 = [v for n in range(1, 5) for v in _pair(f"s{n}")]
    plan = Plan.from_routes(
        [
            schedule_route(problem, "van1", van1),
            schedule_route(problem, "van2", van2),
        ],
        [],
    )

    found = {v.kind for v in validate(problem, plan)}

    assert ViolationKind.LOCK_BROKEN in found


def _pair(shipment_id: str) -> list[tuple[str, StopKind]]:
    return [(shipment_id, StopKind.PICKUP), (shipment_id, StopKind.DELIVERY)]


# 3. Who stays unserved: oldest promise first --------------------------------


def test_when_capacity_is_short_the_newest_promises_stay_unserved() -> None:
    # Two vans of capacity 2, six interchangeable shipments of load 2 that
    # must all ride at once: only two fit. s0 was promised first.
    shipments = tuple(
        replace(
            parcel(f"s{n}", "h1", "h9", load=2, pickup_window=(0, 20)),
            promised_at=float(n),
        )
        for n in range(6)
    )
    problem = street(tuple(reversed(shipments)), capacity=2)

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert {u.shipment_id for u in plan.unserved} == {"s2", "s3", "s4", "s5"}


# 4. Driver breaks -----------------------------------------------------------


def test_a_thirty_minute_break_leaves_no_feasible_shipment_unserved() -> None:
    shipments = tuple(
        parcel(f"s{n}", f"h{n}", f"h{n + 1}", delivery_window=(0, 300))
        for n in range(1, 8)
    )
    base = street(shipments)
    van = replace(base.vehicles[0], breaks=(Break("lunch", 30, 40, 120),))
    problem = replace(base, vehicles=(van,))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    route = plan.route_of("van1")
    assert route is not None
    assert plan.unserved == ()
    assert [b.break_id for b in route.breaks] == ["lunch"]
    assert 40 <= route.breaks[0].start <= 120
    assert validate(problem, plan) == []


def test_the_validator_rejects_a_route_that_skips_its_break() -> None:
    base = street((parcel("s1", "h1", "h2"),))
    van = replace(base.vehicles[0], breaks=(Break("lunch", 30, 40, 120),))
    problem = replace(base, vehicles=(van,))
    timed = schedule_route(problem, "van1", _pair("s1"))
    plan = Plan.from_routes([replace(timed, breaks=())], [])

    found = validate(problem, plan)

    assert any(
        v.kind is ViolationKind.BREAK_MISSED
        and "takes break lunch 0 times" in v.message
        for v in found
    )


def test_the_validator_rejects_a_break_outside_its_window() -> None:
    base = street((parcel("s1", "h1", "h2"),))
    van = replace(base.vehicles[0], breaks=(Break("lunch", 30, 40, 120),))
    problem = replace(base, vehicles=(van,))
    timed = schedule_route(problem, "van1", _pair("s1"))
    early = replace(timed.breaks[0], start=0, end=30)
    plan = Plan.from_routes([replace(timed, breaks=(early,))], [])

    found = validate(problem, plan)

    assert any(
        v.kind is ViolationKind.BREAK_MISSED and "outside its window" in v.message
        for v in found
    )


def test_a_break_outside_the_shift_is_refused() -> None:
    with pytest.raises(ProblemDataError, match="inside the shift"):
        Vehicle("v", 1, 0, 100, "depot", "main", breaks=(Break("b", 30, 80, 90),))


# 5. Area, road and depot closures -------------------------------------------


def test_a_shipment_in_a_closed_area_is_unserved_with_that_reason() -> None:
    base = street((parcel("in", "h3", "h8"), parcel("out", "h5", "h6")))
    problem = with_area_closed(base, locations_in_box(base, 25, -1, 35, 1))

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert [(u.shipment_id, u.reason) for u in plan.unserved] == [
        ("in", UnservedReason.AREA_CLOSED)
    ]
    assert set(riders(plan)) == {"out"}


def test_the_validator_rejects_a_stop_in_a_closed_area() -> None:
    base = street((parcel("in", "h3", "h8"),))
    plan = Plan.from_routes([schedule_route(base, "van1", _pair("in"))], [])

    found = {v.kind for v in validate(with_area_closed(base, {"h3"}), plan)}

    assert found == {ViolationKind.AREA_CLOSED}


def triangle() -> Problem:
    locations = (Location("d", 0, 0), Location("a", 3, 0), Location("b", 0, 4))
    return Problem(
        locations,
        (Depot("main", "d"),),
        (Vehicle("van", 5, 0, 100, "d", "main"),),
        (parcel("s", "a", "b"),),
    )


def test_a_closed_road_takes_the_shortest_detour() -> None:
    problem = with_roads_closed(triangle(), [("d", "a")])

    assert problem.travel("d", "a") == pytest.approx(9.0)
    assert problem.travel("a", "d") == pytest.approx(3.0)


def test_a_stop_no_open_road_reaches_is_unreachable_in_shift() -> None:
    problem = with_roads_closed(triangle(), [("d", "a"), ("b", "a")])

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert math.isinf(problem.travel("d", "a"))
    assert [(u.shipment_id, u.reason) for u in plan.unserved] == [
        ("s", UnservedReason.UNREACHABLE_IN_SHIFT)
    ]


def test_a_plan_whose_vehicles_end_at_another_depot_validates() -> None:
    base = street(
        (parcel("s1", "h2", "h4"), parcel("s2", "h3", "h5")),
    )
    base = replace(base, depots=(*base.depots, Depot("north", "h9")))
    problem = with_depot_lost(base, "main", fallback_depot_id="north")

    plan = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert {v.end_depot_id for v in problem.vehicles} == {"north"}
    assert plan.unserved == ()
    assert validate(problem, plan) == []
    assert all(route.distance == 90 for route in plan.routes)


# 6. The first answer: repair without search ---------------------------------


def test_a_repair_after_a_breakdown_keeps_every_other_stop_in_place(
    lilim_lc101: Problem,
) -> None:
    vans = list(lilim_lc101.vehicles[:11])
    vans[0] = replace(
        vans[0], on_board=(OnBoardParcel("b1", Stop("t50", 0, 1236, 10), 10),)
    )
    day = replace(lilim_lc101, vehicles=tuple(vans))
    first = plan_routes(day, seed=1, max_solutions=1)
    lost = first.route_of("v1")
    assert lost is not None
    after = without_vehicle(day, "v1", position=lost.stops[0].location_id, at=0)

    repaired = repair_plan(after, first)

    assert repaired is not None
    assert validate(after, repaired) == []
    assert repaired.unserved == ()
    for route in first.routes:
        if route.vehicle_id == "v1":
            continue
        now = repaired.route_of(route.vehicle_id)
        assert now is not None
        kept = [(s.parcel_id, s.kind) for s in now.stops]
        old = [(s.parcel_id, s.kind) for s in route.stops]
        assert [v for v in kept if v in old] == old


def test_a_repair_declines_when_drivers_take_breaks() -> None:
    base = street((parcel("s1", "h1", "h2"),))
    van = replace(base.vehicles[0], breaks=(Break("lunch", 30, 40, 120),))
    problem = replace(base, vehicles=(van,))
    first = plan_routes(problem, seed=1, max_solutions=SOLUTIONS)

    assert repair_plan(problem, first) is None


# The state mid-day: what is done, on board and under way --------------------


def test_mid_day_the_driven_part_is_done_and_the_next_stop_under_way() -> None:
    # van1: pick s1 at h1 (t=10..15), deliver at h3 (35..40), pick s2 at h5
    # (60..65), deliver at h6 (75..80). At t=50 it drives from h3 to h5.
    problem = street((parcel("s1", "h1", "h3"), parcel("s2", "h5", "h6")))
    visits = [*_pair("s1"), ("s2", StopKind.PICKUP), ("s2", StopKind.DELIVERY)]
    plan = Plan.from_routes([schedule_route(problem, "van1", visits)], [])

    now = state_at(problem, plan, 50)

    van1 = now.vehicle("van1")
    assert van1 is not None
    assert [s.id for s in now.shipments] == ["s2"]
    assert (van1.start_location_id, van1.shift_start) == ("h3", 40)
    assert van1.locked_sequence == (("s2", StopKind.PICKUP),)
    assert van1.under_way


def test_mid_day_a_collected_parcel_rides_on_board() -> None:
    problem = street((parcel("s1", "h1", "h3"),))
    plan = Plan.from_routes([schedule_route(problem, "van1", _pair("s1"))], [])

    now = state_at(problem, plan, 20)

    van1 = now.vehicle("van1")
    assert van1 is not None
    assert now.shipments == ()
    assert [(p.id, p.load) for p in van1.on_board] == [("s1", 1)]
    assert van1.locked_sequence == (("s1", StopKind.DELIVERY),)


def test_a_mid_day_breakdown_moves_only_the_lost_drivers_stops(
    lilim_lc101: Problem,
) -> None:
    day = replace(lilim_lc101, vehicles=lilim_lc101.vehicles[:11])
    first = plan_routes(day, seed=1, max_solutions=1)
    now = state_at(day, first, 300)
    stopped = now.vehicle("v1")
    assert stopped is not None
    after = without_vehicle(now, "v1", position=stopped.start_location_id, at=300)

    second = plan_routes(after, seed=1, max_solutions=SOLUTIONS, warm_start=first)

    before, then = riders(first), riders(second)
    lost_work = {p for p, vehicle in before.items() if vehicle == "v1"}
    assert {p for p, vehicle in then.items() if before[p] != vehicle} <= lost_work
    assert second.unserved == ()
    assert validate(after, second) == []
    heading = {v.id: v.locked_sequence[0] for v in after.vehicles if v.under_way}
    firsts = {
        r.vehicle_id: (r.stops[0].parcel_id, r.stops[0].kind)
        for r in second.routes
        if r.vehicle_id in heading
    }
    assert heading
    assert firsts == heading
