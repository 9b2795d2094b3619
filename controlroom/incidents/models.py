"""Incident tables: the incident, its lifecycle, roles, components and call.

Every history is kept as rows that are closed, never overwritten: a status
transition is a row, a role hand-over ends one term and starts the next, a
detached component keeps its row with ``detached_at`` set. The journal holds
the same changes as events; these tables are what the screens read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime
from controlroom.health.models import ComponentState
from controlroom.incidents.cadence import Severity
from controlroom.orders.models import enum_column


class IncidentStatus(StrEnum):
    """The lifecycle, in the order an incident normally moves through it."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        """The status as a person reads it."""
        return self.value.capitalize()


class Visibility(StrEnum):
    """Whether the status site may show the incident."""

    PUBLIC = "public"
    RESTRICTED = "restricted"


class IncidentRole(StrEnum):
    """The people an incident call needs, one holder each at a time."""

    COMMANDER = "commander"
    DEPUTY = "deputy"
    SCRIBE = "scribe"
    CUSTOMER_LIAISON = "customer_liaison"

    @property
    def label(self) -> str:
        """The role as a person reads it."""
        return self.value.replace("_", " ").capitalize()


class CallItemKind(StrEnum):
    """What a caller brings to the open call."""

    PROBLEM = "problem"
    IDEA = "idea"
    QUESTION = "question"


class CallItemState(StrEnum):
    """Where a call-in item is: waiting to be heard, heard, or acted on."""

    WAITING = "waiting"
    HEARD = "heard"
    ACTED_ON = "acted_on"

    @property
    def label(self) -> str:
        """The state as a person reads it."""
        return self.value.replace("_", " ")


class Incident(Base):
    """Something that hurts a customer promise, from start to resolution."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    # A playbook catalogue key such as "payment_tracker_down".
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, 8))
    status: Mapped[IncidentStatus] = mapped_column(enum_column(IncidentStatus, 16))
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, 16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One public-safe sentence: where things stand now.
    summary: Mapped[str] = mapped_column(String(240))
    opened_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_incidents_status", "status"),)

    @property
    def subject(self) -> str:
        """The journal subject of this incident."""
        return f"incident:{self.id}"

    @property
    def is_open(self) -> bool:
        """Whether the incident is still being worked on."""
        return self.status is not IncidentStatus.RESOLVED


class StatusTransition(Base):
    """One move of an incident's status, with who made it and why."""

    __tablename__ = "incident_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    # None for the opening row: the incident did not exist before.
    from_status: Mapped[IncidentStatus | None] = mapped_column(
        enum_column(IncidentStatus, 16)
    )
    to_status: Mapped[IncidentStatus] = mapped_column(enum_column(IncidentStatus, 16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (Index("ix_incident_transitions_incident", "incident_id", "at"),)


class RoleTerm(Base):
    """One person's term in an incident role; a hand-over closes it."""

    __tablename__ = "incident_role_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    role: Mapped[IncidentRole] = mapped_column(enum_column(IncidentRole, 24))
    holder: Mapped[str] = mapped_column(String(80))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str] = mapped_column(String(64))
    # Who ended this term by handing the role to someone else.
    handed_over_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_incident_role_terms_incident", "incident_id", "role"),)


class AffectedComponent(Base):
    """A component an incident holds, and the state it puts the component in."""

    __tablename__ = "incident_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    impact: Mapped[ComponentState] = mapped_column(enum_column(ComponentState, 32))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_incident_components_component", "component_id", "detached_at"),
    )


class IncidentNote(Base):
    """A line someone wrote into the incident's timeline by hand."""

    __tablename__ = "incident_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)


class CallParticipant(Base):
    """Someone on the open call, from joining until leaving."""

    __tablename__ = "incident_call_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    name: Mapped[str] = mapped_column(String(80))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallItem(Base):
    """A problem, idea or question raised on the call, and what came of it."""

    __tablename__ = "incident_call_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[CallItemKind] = mapped_column(enum_column(CallItemKind, 16))
    raised_by: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[CallItemState] = mapped_column(enum_column(CallItemState, 16))
    heard_by: Mapped[str | None] = mapped_column(String(64))
    heard_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acted_by: Mapped[str | None] = mapped_column(String(64))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_incident_call_items_incident", "incident_id"),)


class Decision(Base):
    """A decision taken on the call: what, by whom, when."""

    __tablename__ = "incident_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    text: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProgressReport(Base):
    """A progress report; the public ones are what the status site shows."""

    __tablename__ = "incident_progress_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(64))
    # The incident's status when reported, so an old update keeps its word.
    status: Mapped[IncidentStatus] = mapped_column(enum_column(IncidentStatus, 16))
    public: Mapped[bool] = mapped_column(Boolean)
    no_change: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_incident_progress_reports_incident", "incident_id", "at"),
    )
