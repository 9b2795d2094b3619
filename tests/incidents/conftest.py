"""An incident's world: a few components and a clock at 10:00 UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.health.models import ComponentKind
from controlroom.health.service import add_component
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import Incident, Visibility
from controlroom.incidents.service import open_incident

START = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
COMPONENTS = (
    ("payments", "Payments", ComponentKind.PAYMENT_NODE),
    ("tracker", "Payment tracker", ComponentKind.PAYMENT_TRACKER),
    ("sms", "SMS gateway", ComponentKind.SMS_GATEWAY),
)


def at(minutes: int) -> datetime:
    """The time ``minutes`` after 10:00 UTC on the incident's day."""
    return START + timedelta(minutes=minutes)


def add_components(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for key, name, kind in COMPONENTS:
            add_component(
                session,
                key=key,
                name=name,
                kind=kind,
                at=START - timedelta(days=1),
                actor="setup",
            )


@pytest.fixture
def components(engine: Engine) -> Engine:
    """A migrated SQLite database with the payment and SMS components."""
    add_components(engine)
    return engine


@pytest.fixture
def any_components(any_engine: Engine) -> Engine:
    """The same components, once on SQLite and once on PostgreSQL."""
    add_components(any_engine)
    return any_engine


def new_incident(
    session: Session,
    *,
    title: str = "Payment tracker stopped",
    severity: Severity = Severity.SEV2,
    visibility: Visibility = Visibility.PUBLIC,
    minutes: int = 0,
    **kwargs: object,
) -> Incident:
    """Open an incident with sensible defaults, as mona."""
    return open_incident(
        session,
        title=title,
        kind="payment_tracker_down",
        severity=severity,
        visibility=visibility,
        summary="Payments are confirmed late; nothing is lost.",
        at=at(minutes),
        actor="mona",
        **kwargs,  # type: ignore[arg-type]
    )
