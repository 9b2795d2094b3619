"""The open incident call screen, read in one short session.

Everything the screen shows is computed here from stored rows and the
operating clock: the incident in one line, when the next progress report is
due (from the last report and the severity's cadence, never from a timer),
the people and roles, the call-in queue, decisions, components and timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.health.models import Component, ComponentState
from controlroom.incidents.cadence import (
    Prompt,
    ReportDue,
    cadence_for,
    prompt_between,
    report_due,
)
from controlroom.incidents.components import holding
from controlroom.incidents.models import (
    CallItem,
    CallItemState,
    CallParticipant,
    Decision,
    Incident,
    IncidentRole,
    IncidentStatus,
    ProgressReport,
    RoleTerm,
)
from controlroom.incidents.service import (
    last_report,
    open_incidents,
    resolved_incidents,
)
from controlroom.incidents.timeline import TimelineEntry, incident_timeline
from controlroom.journal.models import JournalEvent
from controlroom.session_frame import local_time

Clock = Callable[[datetime | None], str]
# How many resolved incidents the call screen lists to look back on.
PAST_SHOWN = 20


@dataclass(frozen=True)
class IncidentLine:
    """An incident in one line: severity, status, title, how long it runs."""

    id: int
    title: str
    severity_label: str
    status: IncidentStatus
    visibility: str
    running_for: str
    summary: str

    @property
    def headline(self) -> str:
        """The line at the top of the screen."""
        took = "lasted" if self.status is IncidentStatus.RESOLVED else "running for"
        return (
            f"{self.severity_label} · {self.status.label} · {self.title} · "
            f"{took} {self.running_for}"
        )


@dataclass(frozen=True)
class RoleLine:
    """One role's current holder, or nobody."""

    role: IncidentRole
    holder: str | None
    since: str


@dataclass(frozen=True)
class HandOver:
    """One past or present term in a role."""

    role: IncidentRole
    holder: str
    since: str
    until: str
    handed_over_by: str


@dataclass(frozen=True)
class QueueLine:
    """One call-in item as the queue shows it."""

    id: int
    kind: str
    raised_by: str
    text: str
    state: CallItemState
    raised: str
    heard: str  # "by ops-ana at 03:14 CET" or ""
    acted: str
    action: str


@dataclass(frozen=True)
class ComponentLine:
    """A component the incident holds, and what state it shows now."""

    key: str
    name: str
    impact: ComponentState
    state: ComponentState


@dataclass(frozen=True)
class DecisionLine:
    """One decision."""

    when: str
    text: str
    decided_by: str


@dataclass(frozen=True)
class ReportLine:
    """One progress report."""

    when: str
    by: str
    text: str
    public: bool
    no_change: bool


@dataclass(frozen=True)
class CallBoard:
    """The whole call screen for one incident."""

    incident: IncidentLine
    due: ReportDue
    participants: tuple[str, ...]
    roles: tuple[RoleLine, ...]
    hand_overs: tuple[HandOver, ...]
    queue: tuple[QueueLine, ...]  # waiting first, then heard, then acted on
    decisions: tuple[DecisionLine, ...]  # newest first
    components: tuple[ComponentLine, ...]
    reports: tuple[ReportLine, ...]  # newest first
    timeline: tuple[TimelineEntry, ...]  # newest first


@dataclass(frozen=True)
class CallScreen:
    """What the page reads: the chosen incident's board and the choices."""

    now: datetime
    board: CallBoard | None
    open_incidents: tuple[IncidentLine, ...]
    components: tuple[tuple[str, str], ...]  # (key, name) to open an incident
    # The newest resolved incidents, newest first, to look back on.
    past_incidents: tuple[IncidentLine, ...] = ()


def running_for(span: timedelta) -> str:
    """``"47 min"``, ``"3 h 05 min"`` or ``"2 d 4 h"``."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def incident_line(incident: Incident, *, now: datetime) -> IncidentLine:
    """Describe an incident in one line."""
    end = incident.resolved_at or now
    return IncidentLine(
        id=incident.id,
        title=incident.title,
        severity_label=incident.severity.label,
        status=incident.status,
        visibility=incident.visibility.value,
        running_for=running_for(end - incident.started_at),
        summary=incident.summary,
    )


def due_report(
    session: Session, *, incident: Incident, now: datetime, zone: str
) -> ReportDue:
    """Return when the incident's next progress report is due, seen from ``now``."""
    last = last_report(session, incident=incident)
    return report_due(
        started_at=incident.started_at,
        last_report_at=last.at if last else None,
        cadence=cadence_for(incident.severity),
        now=max(now, last.at if last else incident.started_at),
        zone=ZoneInfo(zone),
    )


def report_prompt(
    session: Session,
    *,
    incident: Incident,
    previous_check: datetime | None,
    now: datetime,
    zone: str,
) -> Prompt | None:
    """Return a prompt if a report fell due since ``previous_check``, at most once.

    The screen keeps ``previous_check`` (its last look) per incident, so a
    due time gives one prompt however often the screen refreshes.
    """
    if not incident.is_open:
        return None
    due = due_report(session, incident=incident, now=now, zone=zone)
    return prompt_between(
        due_at=due.due_at,
        interval=cadence_for(incident.severity).interval,
        previous_check=previous_check,
        now=now,
        zone=ZoneInfo(zone),
    )


@dataclass(frozen=True)
class IncidentNotice:
    """The most severe open incident, for the banner on every screen."""

    line: IncidentLine
    due: ReportDue
    others: int  # further open incidents


def incident_notice(
    session: Session, *, now: datetime, zone: str
) -> IncidentNotice | None:
    """Return the most severe open incident and its next report, if any is open."""
    incidents = open_incidents(session)
    if not incidents:
        return None
    first = incidents[0]
    return IncidentNotice(
        line=incident_line(first, now=now),
        due=due_report(session, incident=first, now=now, zone=zone),
        others=len(incidents) - 1,
    )


def call_board(
    session: Session, *, incident: Incident, now: datetime, zone: str
) -> CallBoard:
    """Read the call screen of ``incident`` as it stands at ``now``."""
    when = _local(zone)
    participants = session.scalars(
        select(CallParticipant.name)
        .where(
            CallParticipant.incident_id == incident.id,
            CallParticipant.left_at.is_(None),
        )
        .order_by(CallParticipant.joined_at, CallParticipant.id)
    ).all()
    terms = session.scalars(
        select(RoleTerm)
        .where(RoleTerm.incident_id == incident.id)
        .order_by(RoleTerm.since.desc(), RoleTerm.id.desc())
    ).all()
    current = {t.role: t for t in terms if t.until is None}
    items = session.scalars(
        select(CallItem)
        .where(CallItem.incident_id == incident.id)
        .order_by(CallItem.raised_at, CallItem.id)
    ).all()
    order = list(CallItemState)
    decisions = session.scalars(
        select(Decision)
        .where(Decision.incident_id == incident.id)
        .order_by(Decision.at.desc(), Decision.id.desc())
    ).all()
    reports = session.scalars(
        select(ProgressReport)
        .where(ProgressReport.incident_id == incident.id)
        .order_by(ProgressReport.at.desc(), ProgressReport.id.desc())
    ).all()

    return CallBoard(
        incident=incident_line(incident, now=now),
        due=due_report(session, incident=incident, now=now, zone=zone),
        participants=tuple(participants),
        roles=tuple(
            RoleLine(
                role,
                current[role].holder if role in current else None,
                when(current[role].since) if role in current else "",
            )
            for role in IncidentRole
        ),
        hand_overs=tuple(
            HandOver(
                t.role,
                t.holder,
                when(t.since),
                when(t.until),
                t.handed_over_by or "",
            )
            for t in terms
        ),
        queue=tuple(
            _queue_line(item, when)
            for item in sorted(items, key=lambda i: order.index(i.state))
        ),
        decisions=tuple(
            DecisionLine(when(d.at), d.text, d.decided_by) for d in decisions
        ),
        components=_components(session, incident),
        reports=tuple(
            ReportLine(when(r.at), r.by, r.text, r.public, r.no_change) for r in reports
        ),
        timeline=tuple(
            incident_timeline(session, incident=incident, now=now, zone=zone)
        ),
    )


def _local(zone: str) -> Clock:
    return lambda moment: local_time(moment, zone)


def _queue_line(item: CallItem, when: Clock) -> QueueLine:
    heard = f"by {item.heard_by} at {when(item.heard_at)}" if item.heard_by else ""
    acted = f"by {item.acted_by} at {when(item.acted_at)}" if item.acted_by else ""
    return QueueLine(
        id=item.id,
        kind=item.kind.value,
        raised_by=item.raised_by,
        text=item.text,
        state=item.state,
        raised=when(item.raised_at),
        heard=heard,
        acted=acted,
        action=item.action,
    )


def _components(session: Session, incident: Incident) -> tuple[ComponentLine, ...]:
    lines = []
    for attachment in holding(session, incident):
        component = session.get(Component, attachment.component_id)
        assert component is not None  # a foreign key guarantees it
        lines.append(
            ComponentLine(
                component.key, component.name, attachment.impact, component.state
            )
        )
    return tuple(lines)


def call_screen(engine: Engine, *, zone: str, incident_id: int | None) -> CallScreen:
    """Read the call screen: the chosen (or most severe open) incident's board."""
    with Session(read_only(engine)) as session:
        now = operating_now(session)
        incidents = open_incidents(session)
        chosen = session.get(Incident, incident_id) if incident_id else None
        if chosen is None and incidents:
            chosen = incidents[0]
        components = [
            (row.key, row.name)
            for row in session.execute(
                select(Component.key, Component.name).order_by(Component.name)
            )
        ]
        return CallScreen(
            now=now,
            board=(
                call_board(session, incident=chosen, now=now, zone=zone)
                if chosen is not None
                else None
            ),
            open_incidents=tuple(incident_line(i, now=now) for i in incidents),
            components=tuple(components),
            past_incidents=tuple(
                incident_line(i, now=now)
                for i in resolved_incidents(session, limit=PAST_SHOWN)
            ),
        )


def call_version(engine: Engine) -> int:
    """Return the newest journal sequence of any incident's change (0: none).

    The call screen compares it between refreshes and redraws only when
    something changed: an incident opened elsewhere, a driver's item, a report.
    """
    with Session(read_only(engine)) as session:
        newest = session.scalar(
            select(func.max(JournalEvent.seq)).where(
                # A prefix range, so the subject index serves it.
                JournalEvent.subject >= "incident:",
                JournalEvent.subject < "incident;",
            )
        )
    return int(newest or 0)


def call_prompt(
    engine: Engine,
    *,
    incident_id: int,
    previous_check: datetime | None,
    zone: str,
) -> tuple[Prompt | None, datetime]:
    """Return the report prompt due since ``previous_check``, and this check's time.

    The screen passes the returned time back as the next ``previous_check``.
    """
    with Session(read_only(engine)) as session:
        now = operating_now(session)
        incident = session.get(Incident, incident_id)
        if incident is None:
            return None, now
        # A check from another clock (a simulation restarted) starts afresh.
        if previous_check is not None and previous_check > now:
            previous_check = None
        prompt = report_prompt(
            session,
            incident=incident,
            previous_check=previous_check,
            now=now,
            zone=zone,
        )
        return prompt, now
