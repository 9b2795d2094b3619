"""The drivers' manifests read from a plan: what each van still has to do.

Kept apart from :mod:`controlroom.dispatch.manifest` (which turns manifests
into SMS and PDF without a database) so that both the dispatch screen and the
SMS outbox can read them without importing each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from controlroom.dispatch.degradations import active_degradations, depot_fallbacks
from controlroom.dispatch.manifest import DriverManifest, ManifestStop
from controlroom.dispatch.models import Depot, Plan, Stop, StopKind, StopStatus


def driver_manifests(
    session: Session, *, plan: Plan, now: datetime | None = None
) -> list[DriverManifest]:
    """Return one manifest per van with open stops in ``plan``.

    They hold addresses: personal data for the driver only, never journalled.
    """
    fallback = depot_fallbacks(active_degradations(session))
    manifests = []
    for route in sorted(plan.routes, key=lambda r: r.vehicle.plate):
        stops = [s for s in route.stops if s.status is StopStatus.PLANNED]
        if not stops:
            continue
        vehicle = route.vehicle
        end = session.get(Depot, fallback.get(vehicle.depot_id, vehicle.depot_id))
        manifests.append(
            DriverManifest(
                plan_version=plan.version,
                callsign=route.driver.callsign if route.driver else "",
                plate=vehicle.plate,
                start=vehicle.depot.name
                if vehicle.seen_at is None
                else "where you are",
                end_depot=end.name if end is not None else vehicle.depot.name,
                stops=tuple(
                    _manifest_stop(n, stop, now)
                    for n, stop in enumerate(stops, start=1)
                ),
            )
        )
    return manifests


def _manifest_stop(number: int, stop: Stop, now: datetime | None) -> ManifestStop:
    parcel = stop.parcel
    if stop.kind is StopKind.TRANSFER:
        street, postcode = "at the lost van", ""
        note = f"where it stopped: {stop.lat:.5f} N {stop.lon:.5f} E"
        # No promise of its own: collect as planned, the delivery has one.
        due = stop.eta
    else:
        street, postcode, note = stop.party.street, stop.party.postcode, ""
        due = stop.promised_by or stop.eta
    if stop.late:
        note = (note + "; " if note else "") + "late: window already closed"
    if now is not None and stop.eta < now:
        # Printed again later: its planned time has passed; do it next.
        note = (note + "; " if note else "") + "overdue"
    return ManifestStop(
        sequence=number,
        kind=stop.kind,
        eta=stop.eta,
        window_until=due,
        code=parcel.code,
        street=street,
        postcode=postcode,
        load=parcel.load,
        note=note,
    )
