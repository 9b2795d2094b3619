"""Reading the day from the database into the planner's ``Snapshot``.

See ``controlroom.dispatch.snapshot`` for what goes in and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from itertools import product
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from controlroom.dispatch.degradations import active_degradations, depot_fallbacks
from controlroom.dispatch.fleet import fleet_settings, travel_model
from controlroom.dispatch.models import (
    DegradationKind,
    Depot,
    Plan,
    Route,
    Stop,
    StopKind,
    StopStatus,
    Vehicle,
    VehicleStatus,
)
from controlroom.dispatch.service import published_plan
from controlroom.dispatch.snapshot import (
    COLLECTING,
    TRANSFER_MINUTES,
    Snapshot,
    as_solver_plan,
    extend_shifts,
    key_id,
    late_stops,
    local_midnight,
    overtime,
    parcel_key,
    vehicle_key,
    widen,
)
from controlroom.errors import DispatchError
from controlroom.orders.models import Parcel, ParcelStatus, Party
from solver import Depot as SolverDepot
from solver import Location, OnBoardParcel, Problem, Shipment
from solver import Stop as SolverStop
from solver import StopKind as SolverKind
from solver import Vehicle as SolverVehicle

# How often a widened window may make a later stop late in its turn.
WIDEN_ROUNDS = 5
# A late stop's window closes this long after the earliest time it can now
# be served: late, but not pushed to the end of the day.
LATE_GRACE_MINUTES = 30.0


def take_snapshot(
    session: Session, *, at: datetime, zone: ZoneInfo, follow: Plan | None = None
) -> Snapshot:
    """Build the problem left to plan at ``at``.

    Parameters
    ----------
    session
        An open session (reads only).
    at
        The moment of the re-plan.
    zone
        The control room's time zone; the shift and the solver's clock are
        local to it.
    follow
        The plan whose next stops the vans are heading for; the published
        plan when None.

    Raises
    ------
    DispatchError
        If the fleet has no settings, or no van is left to plan with.
    """
    settings = fleet_settings(session)
    travel = travel_model(settings)
    origin = local_midnight(at, zone)

    def minutes(moment: datetime) -> float:
        return (moment - origin).total_seconds() / 60

    def local_minute(minute: int) -> float:
        # DST-safe: the shift is wall-clock time on the day of ``at``.
        day = at.astimezone(zone).date()
        wall = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minute)
        return minutes(wall.astimezone(UTC))

    shift_start = local_minute(settings.shift_start_minute)
    shift_end = local_minute(settings.shift_end_minute)
    now = minutes(at)
    degradations = active_degradations(session)

    depots = list(session.scalars(select(Depot).order_by(Depot.id)))
    fallback = depot_fallbacks(degradations)

    plan = follow if follow is not None else published_plan(session)
    pending: dict[int, list[Stop]] = {}
    if plan is not None:
        for route in plan.routes:
            pending[route.vehicle_id] = [
                s for s in route.stops if s.status is StopStatus.PLANNED
            ]

    places: dict[str, tuple[float, float]] = {
        f"depot:{d.id}": (d.lat, d.lon) for d in depots
    }
    promised: dict[tuple[str, SolverKind], datetime] = {}
    parcels: dict[str, Parcel] = {}

    carriers = _carriers(session)
    all_vehicles = list(session.scalars(select(Vehicle).order_by(Vehicle.id)))
    vehicles_by_key = {vehicle_key(v.id): v for v in all_vehicles}
    lost = {v.id: v for v in all_vehicles if v.status is VehicleStatus.LOST}
    lost_at: dict[int, tuple[float, float, datetime]] = {}
    for item in degradations:
        if item.kind is DegradationKind.VEHICLE_LOST:
            vid = _int(item.details["vehicle"])
            lost_at[vid] = (
                _float(item.details["lat"]),
                _float(item.details["lon"]),
                item.declared_at,
            )

    def party_place(party: Party) -> str:
        key = f"party:{party.id}"
        places[key] = (party.lat, party.lon)
        return key

    def window(
        key: str, kind: SolverKind, ready: datetime, due: datetime, keep: bool
    ) -> tuple[float, float]:
        promised[(key, kind)] = due
        low, high = minutes(ready), minutes(due)
        if keep and high < now:
            # A promise already broken is kept as soon as possible: within
            # the grace from now (later rounds widen more if need be).
            low, high = min(low, now), now + LATE_GRACE_MINUTES
        return low, max(low, high)

    # Parcels still to collect from a sender.
    shipments: list[Shipment] = []
    waiting = session.scalars(
        select(Parcel)
        .where(Parcel.status == ParcelStatus.ORDERED)
        .options(joinedload(Parcel.sender), joinedload(Parcel.recipient))
        .order_by(Parcel.id)
    ).all()
    committed = {s.parcel_id for stops in pending.values() for s in stops}
    for parcel in waiting:
        key = parcel_key(parcel.id)
        parcels[key] = parcel
        keep = parcel.id in committed
        p_low, p_high = window(
            key, SolverKind.PICKUP, parcel.pickup_from, parcel.pickup_until, keep
        )
        d_low, d_high = window(
            key, SolverKind.DELIVERY, parcel.deliver_from, parcel.deliver_until, keep
        )
        shipments.append(
            Shipment(
                key,
                SolverStop(
                    party_place(parcel.sender), p_low, p_high, parcel.service_minutes
                ),
                SolverStop(
                    party_place(parcel.recipient), d_low, d_high, parcel.service_minutes
                ),
                parcel.load,
                promised_at=minutes(parcel.ordered_at),
            )
        )

    # Parcels on board: with their van, or to collect from a lost one.
    on_board: dict[int, list[Parcel]] = {}
    transfers: set[str] = set()
    for parcel, vehicle_id in carriers:
        key = parcel_key(parcel.id)
        parcels[key] = parcel
        if vehicle_id not in lost:
            on_board.setdefault(vehicle_id, []).append(parcel)
            continue
        lat, lon, since = lost_at.get(
            vehicle_id,
            (
                lost[vehicle_id].lat,
                lost[vehicle_id].lon,
                lost[vehicle_id].seen_at or at,
            ),
        )
        where = f"lost:{vehicle_id}"
        places[where] = (lat, lon)
        ready = max(minutes(since), 0.0)
        d_low, d_high = window(
            key, SolverKind.DELIVERY, parcel.deliver_from, parcel.deliver_until, True
        )
        shipments.append(
            Shipment(
                key,
                SolverStop(where, ready, max(ready, shift_end), TRANSFER_MINUTES),
                SolverStop(
                    party_place(parcel.recipient),
                    d_low,
                    max(d_high, ready),
                    parcel.service_minutes,
                ),
                parcel.load,
                promised_at=minutes(parcel.ordered_at),
            )
        )
        transfers.add(key)

    known = {s.id for s in shipments}
    vehicles: list[SolverVehicle] = []
    for vehicle in all_vehicles:
        if vehicle.id in lost:
            continue
        vkey = vehicle_key(vehicle.id)
        here = f"vehicle:{vehicle.id}"
        places[here] = (vehicle.lat, vehicle.lon)
        seen = minutes(vehicle.seen_at) if vehicle.seen_at else shift_start
        carried = on_board.get(vehicle.id, [])
        next_stop = next(
            (
                s
                for s in pending.get(vehicle.id, [])
                if parcel_key(s.parcel_id) in known
                or any(p.id == s.parcel_id for p in carried)
            ),
            None,
        )
        under_way = next_stop is not None and now >= shift_start
        clock = max(shift_start, now, seen)
        if under_way and next_stop is not None:
            # On its way since it left its last stop, but never due there
            # before now: a van that has not arrived yet is still driving.
            drive = travel.minutes(places[here], next_stop.place)
            clock = max(shift_start, seen, now - drive)
        clock = min(clock, shift_end)
        deliveries = []
        for parcel in carried:
            key = parcel_key(parcel.id)
            low, high = window(
                key,
                SolverKind.DELIVERY,
                parcel.deliver_from,
                parcel.deliver_until,
                True,
            )
            target = party_place(parcel.recipient)
            earliest = clock + travel.minutes(
                places[here], (parcel.recipient.lat, parcel.recipient.lon)
            )
            if earliest > high:
                # Its van cannot make the window any more: deliver it late,
                # but soon.
                high = earliest + LATE_GRACE_MINUTES
            deliveries.append(
                OnBoardParcel(
                    key,
                    SolverStop(target, low, max(low, high), parcel.service_minutes),
                    parcel.load,
                )
            )
        locked: tuple[tuple[str, SolverKind], ...] = ()
        if under_way and next_stop is not None:
            kind = (
                SolverKind.DELIVERY
                if next_stop.kind is StopKind.DELIVERY
                else SolverKind.PICKUP
            )
            target_key = parcel_key(next_stop.parcel_id)
            carried_keys = {d.id for d in deliveries}
            reachable = (
                target_key in carried_keys
                if kind is SolverKind.DELIVERY
                else target_key in known
            )
            if reachable:
                locked = ((target_key, kind),)
        end = fallback.get(vehicle.depot_id, vehicle.depot_id)
        vehicles.append(
            SolverVehicle(
                vkey,
                vehicle.capacity,
                clock,
                max(clock, shift_end),
                here,
                f"depot:{end}",
                on_board=tuple(deliveries),
                locked_sequence=locked,
                under_way=bool(locked),
            )
        )
    if not vehicles:
        raise DispatchError("No van is left to plan with: every van is declared lost.")

    closed_codes: set[str] = set()
    road_pairs: list[tuple[str, str]] = []
    for item in degradations:
        if item.kind is DegradationKind.AREA_CLOSED:
            closed_codes.update(str(code) for code in _list(item.details["postcodes"]))
        elif item.kind is DegradationKind.ROAD_CLOSED:
            first, second = (str(code) for code in _list(item.details["between"]))
            road_pairs.append((first, second))
    postcode = _postcodes(session, places)
    closed = frozenset(key for key, code in postcode.items() if code in closed_codes)
    roads: list[tuple[str, str]] = []
    for first, second in road_pairs:
        side_a = [k for k, code in postcode.items() if code == first]
        side_b = [k for k, code in postcode.items() if code == second]
        for a, b in product(side_a, side_b):
            roads.extend(((a, b), (b, a)))

    keys = sorted(places)
    problem = Problem(
        locations=tuple(Location(k, places[k][1], places[k][0]) for k in keys),
        depots=tuple(SolverDepot(f"depot:{d.id}", f"depot:{d.id}") for d in depots),
        vehicles=tuple(vehicles),
        shipments=tuple(shipments),
        travel_times=travel.matrix([places[k] for k in keys]),
        closed_location_ids=closed,
        closed_roads=tuple(roads),
    )
    snapshot = Snapshot(
        at=at,
        origin=origin,
        problem=problem,
        places=places,
        transfers=frozenset(transfers),
        promised=promised,
        followed_version=plan.version if plan is not None else None,
        shift_end=shift_end,
        zone=zone,
        vehicles=vehicles_by_key,
        parcels=parcels,
    )
    if plan is None:
        return snapshot
    # Stops the followed plan can now only make late (its vans run behind)
    # stay promised: their windows open to the end of the shift. Widening
    # one can make a later stop late, so repeat until none is.
    for _ in range(WIDEN_ROUNDS):
        current = as_solver_plan(snapshot, plan)
        late = late_stops(snapshot.problem, current)
        over = overtime(snapshot.problem, current)
        if not late and not over:
            break
        snapshot = widen(
            snapshot, {key: start + LATE_GRACE_MINUTES for key, start in late.items()}
        )
        snapshot = extend_shifts(snapshot, over)
    return snapshot


def _carriers(session: Session) -> list[tuple[Parcel, int]]:
    """Return each picked-up parcel with the van of its last collection."""
    rows = session.execute(
        select(Parcel, Route.vehicle_id, Stop.done_at)
        .join(Stop, Stop.parcel_id == Parcel.id)
        .join(Route, Route.id == Stop.route_id)
        .where(
            Parcel.status == ParcelStatus.PICKED_UP,
            Stop.status == StopStatus.DONE,
            Stop.kind.in_(COLLECTING),
        )
        .options(joinedload(Parcel.recipient))
        .order_by(Parcel.id, Stop.done_at, Stop.id)
    ).all()
    last: dict[int, tuple[Parcel, int]] = {}
    for parcel, vehicle_id, _ in rows:
        last[parcel.id] = (parcel, vehicle_id)
    return list(last.values())


def _postcodes(
    session: Session, places: Mapping[str, tuple[float, float]]
) -> dict[str, str]:
    ids = [key_id(k) for k in places if k.startswith("party:")]
    rows = session.execute(select(Party.id, Party.postcode).where(Party.id.in_(ids)))
    return {f"party:{pid}": code for pid, code in rows}


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise DispatchError(f"A declaration holds {value!r} where a number belongs.")
    return value


def _float(value: object) -> float:
    if not isinstance(value, int | float):
        raise DispatchError(f"A declaration holds {value!r} where a number belongs.")
    return float(value)


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise DispatchError(f"A declaration holds {value!r} where a list belongs.")
    return value
