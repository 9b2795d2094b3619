"""Read everything the public site shows, and only that, from the database.

The queries here name their columns one by one: of the parties they read
the city and nothing else, of invoices and payments nothing at all. That is
what keeps names, phones, streets, postcodes, amounts, addresses and txids
out of the bundle, and ``tests/status_site`` scans every built file to
prove it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from controlroom.health.models import Component, ComponentKind
from controlroom.incidents.public import PublicIncident, public_incidents
from controlroom.journal.models import JournalEvent
from controlroom.orders.models import Parcel, ParcelStatus, Party
from controlroom.status_site.components import (
    ComponentReading,
    PublicService,
    public_service_of,
    public_services,
)
from controlroom.status_site.hashing import record_key
from controlroom.status_site.records import (
    ParcelFacts,
    ParcelRecord,
    is_published,
    parcel_record,
)


@dataclass(frozen=True)
class SiteOptions:
    """How a site is built: its zone, salt, stale limit and look-back."""

    zone: str
    salt: str
    stale_after: timedelta
    keep_days: int


@dataclass(frozen=True)
class SiteSnapshot:
    """Everything one build publishes, read at ``generated_at``."""

    generated_at: datetime
    options: SiteOptions
    services: tuple[PublicService, ...]
    incidents: tuple[PublicIncident, ...]
    # Public service names of each incident, in the incident's order.
    incident_services: tuple[tuple[str, ...], ...]
    records: Mapping[str, ParcelRecord]


def published_parcels(
    session: Session, *, now: datetime, keep_days: int
) -> list[ParcelFacts]:
    """Return the facts of every parcel the site publishes, by code."""
    sender = aliased(Party)
    recipient = aliased(Party)
    since = now - timedelta(days=keep_days)
    rows = session.execute(
        select(
            Parcel.id,
            Parcel.code,
            Parcel.status,
            Parcel.ordered_at,
            Parcel.picked_up_at,
            Parcel.delivered_at,
            sender.city,
            recipient.city,
        )
        .join(sender, Parcel.sender_id == sender.id)
        .join(recipient, Parcel.recipient_id == recipient.id)
        .where(
            or_(
                Parcel.ordered_at >= since,
                Parcel.status.in_([ParcelStatus.ORDERED, ParcelStatus.PICKED_UP]),
            )
        )
        .order_by(Parcel.code)
    ).all()
    cancelled = _cancel_times(
        session, [row[0] for row in rows if row[2] is ParcelStatus.CANCELLED]
    )
    facts = [ParcelFacts(*row[1:], cancelled_at=cancelled.get(row[0])) for row in rows]
    return [f for f in facts if is_published(f, now=now, keep_days=keep_days)]


def _cancel_times(session: Session, parcel_ids: list[int]) -> dict[int, datetime]:
    """When each cancelled parcel was cancelled, from its journal event."""
    if not parcel_ids:
        return {}
    subjects = {f"parcel:{parcel_id}": parcel_id for parcel_id in parcel_ids}
    rows = session.execute(
        select(JournalEvent.subject, func.max(JournalEvent.occurred_at))
        .where(
            JournalEvent.kind == "ParcelCancelled",
            JournalEvent.subject.in_(subjects),
        )
        .group_by(JournalEvent.subject)
    ).all()
    return {subjects[subject]: at for subject, at in rows}


def component_readings(session: Session) -> list[ComponentReading]:
    """Return every component's kind, name and state."""
    rows = session.execute(
        select(
            Component.kind, Component.name, Component.state, Component.state_since
        ).order_by(Component.key)
    ).all()
    return [ComponentReading(*row) for row in rows]


def read_snapshot(
    session: Session, *, now: datetime, options: SiteOptions
) -> SiteSnapshot:
    """Read what the site publishes at ``now``."""
    readings = component_readings(session)
    services = tuple(public_services(readings))

    incidents = tuple(
        public_incidents(session, since=now - timedelta(days=options.keep_days))
    )
    kinds = {r.name: r.kind for r in readings}
    incident_services = tuple(
        _services_named(incident.components, kinds) for incident in incidents
    )

    records = {
        record_key(facts.code, options.salt): parcel_record(facts, zone=options.zone)
        for facts in published_parcels(session, now=now, keep_days=options.keep_days)
    }
    return SiteSnapshot(
        generated_at=now,
        options=options,
        services=services,
        incidents=incidents,
        incident_services=incident_services,
        records=dict(sorted(records.items())),
    )


def _services_named(
    names: tuple[str, ...], kinds: Mapping[str, ComponentKind]
) -> tuple[str, ...]:
    # Internal component names ("Bitcoin Core eu-north") are not public:
    # each becomes the public service it serves; unknown names are dropped.
    found = []
    for name in names:
        kind = kinds.get(name)
        service = public_service_of(kind) if kind is not None else None
        if service is not None and service not in found:
            found.append(service)
    return tuple(found)
