"""What a dispatcher declares broken, recorded and journalled.

A declaration changes nothing in the plan by itself: the next re-plan
(``controlroom.dispatch.replanning``) reads the open declarations and plans
around them. Declaring a van lost takes it off the road at once, so the
simulator and the drivers' screens stop sending it anywhere.

Areas are named by postcode (what a dispatcher hears on the radio); a road
closure is declared between two postcode areas and closes every direct way
between them in both directions, so the planner takes a detour through
other places or, where none is left, reports the stops it cannot reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import (
    Degradation,
    DegradationKind,
    Depot,
    Vehicle,
    VehicleStatus,
)
from controlroom.errors import DispatchError
from controlroom.health.models import Component, ComponentKind, ComponentState
from controlroom.health.service import set_component_state
from controlroom.journal import append_event
from controlroom.orders.models import Party


def active_degradations(session: Session) -> list[Degradation]:
    """Return the declarations not yet ended, oldest first."""
    return list(
        session.scalars(
            select(Degradation)
            .where(Degradation.ended_at.is_(None))
            .order_by(Degradation.declared_at, Degradation.id)
        )
    )


def depot_fallbacks(declared: Sequence[Degradation]) -> dict[int, int]:
    """Map each lost depot's id to the id of the depot its vans return to."""
    fallbacks = {}
    for item in declared:
        if item.kind is DegradationKind.DEPOT_LOST:
            depot, fallback = item.details["depot"], item.details["fallback"]
            if not (isinstance(depot, int) and isinstance(fallback, int)):
                raise DispatchError(
                    f"The declaration '{item.summary}' names its depots wrongly; "
                    "end it and declare it again."
                )
            fallbacks[depot] = fallback
    return fallbacks


def is_active(session: Session, kind: DegradationKind) -> bool:
    """Return whether a declaration of ``kind`` is open."""
    return any(d.kind is kind for d in active_degradations(session))


def declare_vehicle_lost(
    session: Session, *, vehicle: Vehicle, at: datetime, actor: str, note: str = ""
) -> Degradation:
    """Take a van off the road where it was last seen (breakdown, driver lost).

    Its parcels on board are collected from that place by the next re-plan.
    """
    if vehicle.status is VehicleStatus.LOST:
        raise DispatchError(f"Van {vehicle.plate} is already declared lost.")
    vehicle.status = VehicleStatus.LOST
    details: dict[str, object] = {
        "vehicle": vehicle.id,
        "plate": vehicle.plate,
        "lat": vehicle.lat,
        "lon": vehicle.lon,
    }
    return _declare(
        session,
        DegradationKind.VEHICLE_LOST,
        details,
        f"Van {vehicle.plate} lost" + _with(note),
        at,
        actor,
    )


def declare_area_closed(
    session: Session,
    *,
    postcodes: Sequence[str],
    at: datetime,
    actor: str,
    note: str = "",
) -> Degradation:
    """Close the areas with these postcodes: no stop may be planned there."""
    codes = _known_postcodes(session, postcodes)
    return _declare(
        session,
        DegradationKind.AREA_CLOSED,
        {"postcodes": codes},
        f"Area closed: {', '.join(codes)}" + _with(note),
        at,
        actor,
    )


def declare_road_closed(
    session: Session,
    *,
    between: tuple[str, str],
    at: datetime,
    actor: str,
    note: str = "",
) -> Degradation:
    """Close the direct ways between two postcode areas, both directions."""
    if between[0].strip() == between[1].strip():
        raise DispatchError(
            "A road closure joins two different areas; to close one area, "
            "declare the area closed."
        )
    first, second = _known_postcodes(session, between)
    return _declare(
        session,
        DegradationKind.ROAD_CLOSED,
        {"between": [first, second]},
        f"Roads closed between {first} and {second}" + _with(note),
        at,
        actor,
    )


def declare_depot_lost(
    session: Session,
    *,
    depot: Depot,
    fallback: Depot,
    at: datetime,
    actor: str,
    note: str = "",
) -> Degradation:
    """Send the vans of a lost depot to ``fallback`` at the end of their shift."""
    if depot.id == fallback.id:
        raise DispatchError("Choose another depot for the vans to return to.")
    for open_one in active_degradations(session):
        if open_one.kind is not DegradationKind.DEPOT_LOST:
            continue
        if open_one.details.get("depot") == depot.id:
            raise DispatchError(f"Depot {depot.name} is already declared lost.")
        if open_one.details.get("depot") == fallback.id:
            raise DispatchError(
                f"Depot {fallback.name} is itself declared lost; choose another."
            )
    return _declare(
        session,
        DegradationKind.DEPOT_LOST,
        {"depot": depot.id, "fallback": fallback.id},
        f"Depot {depot.name} lost; vans return to {fallback.name}" + _with(note),
        at,
        actor,
    )


def declare_scheduler_down(
    session: Session, *, since: datetime, at: datetime, actor: str, note: str = ""
) -> Degradation:
    """Record that new orders were not scheduled from ``since``.

    The orders that arrived meanwhile are the backlog the next re-plan
    places all at once.
    """
    if since > at:
        raise DispatchError("The scheduler cannot have gone down in the future.")
    made = _declare(
        session,
        DegradationKind.SCHEDULER_DOWN,
        {"since": since.isoformat()},
        "Route scheduler down" + _with(note),
        at,
        actor,
    )
    _hold_down(session, ComponentKind.ROUTE_SCHEDULER, made, at, actor)
    return made


def declare_driver_app_down(
    session: Session, *, at: datetime, actor: str, note: str = ""
) -> Degradation:
    """Record that drivers cannot receive routes in the app.

    While it is open, publishing a plan sends SMS manifests and a printable
    sheet per driver instead.
    """
    made = _declare(
        session,
        DegradationKind.DRIVER_APP_DOWN,
        {},
        "Driver app down" + _with(note),
        at,
        actor,
    )
    _hold_down(session, ComponentKind.DRIVER_APP, made, at, actor)
    return made


def end_degradation(
    session: Session, *, degradation: Degradation, at: datetime, actor: str
) -> None:
    """Close a declaration; a lost van comes back available where it stands."""
    if degradation.ended_at is not None:
        raise DispatchError(f"'{degradation.summary}' has already ended.")
    if at < degradation.declared_at:
        raise DispatchError("A declaration cannot end before it was made.")
    degradation.ended_at = at
    degradation.ended_by = actor
    if degradation.kind is DegradationKind.VEHICLE_LOST:
        vehicle = session.get(Vehicle, degradation.details["vehicle"])
        if vehicle is not None and vehicle.status is VehicleStatus.LOST:
            vehicle.status = VehicleStatus.AVAILABLE
    kind = _COMPONENT_OF.get(degradation.kind)
    if kind is not None:
        # The system is declared back: operational, and its health probes
        # take over again (declaring operational releases a hold).
        for component in _components(session, kind):
            # Only a hold this screen made: a state ops set since stays.
            if component.held_by is not None and component.note.startswith(_HELD_HERE):
                set_component_state(
                    session,
                    component=component,
                    state=ComponentState.OPERATIONAL,
                    at=at,
                    actor=actor,
                    note=f"Declared back on the dispatch screen: {degradation.summary}",
                    hold=True,
                )
    append_event(
        session,
        kind="DegradationEnded",
        subject=f"degradation:{degradation.id}",
        actor=actor,
        occurred_at=at,
        payload={"kind": degradation.kind, "summary": degradation.summary},
    )


# The systems whose outage a dispatcher declares; the health screen and the
# posture banner show them down while the declaration is open.
_COMPONENT_OF = {
    DegradationKind.SCHEDULER_DOWN: ComponentKind.ROUTE_SCHEDULER,
    DegradationKind.DRIVER_APP_DOWN: ComponentKind.DRIVER_APP,
}


_HELD_HERE = "Declared on the dispatch screen"


def _components(session: Session, kind: ComponentKind) -> list[Component]:
    return list(
        session.scalars(
            select(Component).where(Component.kind == kind).order_by(Component.id)
        )
    )


def _hold_down(
    session: Session,
    kind: ComponentKind,
    declared: Degradation,
    at: datetime,
    actor: str,
) -> None:
    for component in _components(session, kind):
        set_component_state(
            session,
            component=component,
            state=ComponentState.MAJOR_OUTAGE,
            at=at,
            actor=actor,
            note=f"{_HELD_HERE}: {declared.summary}",
            hold=True,
        )


def _declare(
    session: Session,
    kind: DegradationKind,
    details: dict[str, object],
    summary: str,
    at: datetime,
    actor: str,
) -> Degradation:
    for open_one in active_degradations(session):
        if open_one.kind is kind and open_one.details == details:
            raise DispatchError(f"'{open_one.summary}' is already declared.")
    degradation = Degradation(
        kind=kind,
        details=details,
        summary=summary[:200],
        declared_at=at,
        declared_by=actor,
    )
    session.add(degradation)
    session.flush()
    append_event(
        session,
        kind="DegradationDeclared",
        subject=f"degradation:{degradation.id}",
        actor=actor,
        occurred_at=at,
        payload={"kind": kind, "details": details, "summary": degradation.summary},
    )
    return degradation


def _with(note: str) -> str:
    note = " ".join(note.split())
    return f" ({note})" if note else ""


def _known_postcodes(session: Session, postcodes: Sequence[str]) -> list[str]:
    codes = []
    for raw in postcodes:
        code = raw.strip()
        if not (len(code) == 4 and code.isdigit()):
            raise DispatchError(f"{raw!r} is not a postcode; write four digits.")
        codes.append(code)
    if not codes:
        raise DispatchError("Name at least one postcode.")
    known = set(
        session.scalars(select(Party.postcode).where(Party.postcode.in_(codes)))
    )
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise DispatchError(
            f"No sender or recipient has postcode {', '.join(unknown)}; "
            "check the number."
        )
    return sorted(set(codes))
