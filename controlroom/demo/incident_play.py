"""Playing the demo day's incident story through the incident services.

Each incident of :mod:`controlroom.demo.incident_script` opens at its time
and plays its steps in order: roles and hand-overs, the call and its
queue, notes, decisions, status moves, broadcasts and drivers' texts, each
through the service a person on the call would use, journalled as they
journal. After every step a ``DemoStoryStepPlayed`` event records how far
the story has come, so a simulator started again reads from the database
what is still due and never plays a step twice.

Between scripted reports the scribe keeps the severity's cadence
(:mod:`controlroom.incidents.cadence`): when a report falls due with no
news, a "no change" report is recorded at the due time. That rule, too,
reads only the database (the last report and the incident's start).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.audiences import OPEN_STATUSES, Audience, AudienceKind
from controlroom.broadcasts.composer import (
    BroadcastDraft,
    compose_texts,
    send_broadcast,
)
from controlroom.broadcasts.models import MessageChannel
from controlroom.demo.day import OSLO
from controlroom.demo.driver_texts import send_driver_text
from controlroom.demo.incident_script import StoryIncident, StoryStep
from controlroom.demo.parameters import DemoWorld
from controlroom.errors import ControlRoomError, IncidentError
from controlroom.incidents.cadence import cadence_for
from controlroom.incidents.models import (
    CallItem,
    CallItemKind,
    Incident,
    IncidentRole,
    IncidentStatus,
)
from controlroom.incidents.service import (
    act_on_item,
    add_note,
    assign_role,
    change_status,
    current_roles,
    hear_item,
    join_call,
    last_report,
    leave_call,
    open_incident,
    raise_call_item,
    record_decision,
    record_no_change_report,
)
from controlroom.journal import append_event
from controlroom.journal.models import JournalEvent
from controlroom.orders.models import Parcel
from controlroom.payments.wallet_watch.models import IssuedAddress

logger = logging.getLogger(__name__)

STEP_PLAYED = "DemoStoryStepPlayed"
STORY_ACTOR = "demo-story"
# After the day's other actions of the same moment: the probes have
# reported what the incident is about before anyone opens it.
STEP_RANK = 7
CADENCE_RANK = 8


@dataclass(frozen=True)
class StoryAction:
    """The next story action: when, in what rank, and what it does."""

    at: datetime
    rank: int
    key: int
    run: Callable[[], None]


@dataclass(frozen=True)
class _Turn:
    """One step about to be played, with its incident and moment."""

    story: StoryIncident
    index: int
    step: StoryStep
    incident: Incident
    at: datetime

    @property
    def by(self) -> str:
        """Who does the step."""
        return self.step.by


class StoryPlay:
    """How far the story has come, read from the journal, and what is next."""

    def __init__(self, session: Session, world: DemoWorld) -> None:
        self.session = session
        self.world = world
        self.day = world.plan.day_start.astimezone(OSLO).date()
        # Per incident key: the index of the next step (0 is the opening).
        self.next_step: dict[str, int] = {}
        self.incident_ids: dict[str, int] = {}
        events = session.scalars(
            select(JournalEvent)
            .where(JournalEvent.kind == STEP_PLAYED)
            .order_by(JournalEvent.seq)
        )
        for event in events:
            played = json.loads(event.payload)
            self.next_step[played["incident"]] = int(played["step"]) + 1
            self.incident_ids[played["incident"]] = int(played["incident_id"])
        self.steps_played = 0

    def moment(self, clock: time) -> datetime:
        """Return the UTC moment of an Oslo wall-clock time on the demo day."""
        return datetime.combine(self.day, clock, tzinfo=OSLO).astimezone(UTC)

    def next_actions(self) -> list[StoryAction]:
        """Return each incident's next scripted step and cadence report."""
        actions = []
        for number, story in enumerate(self.world.story.incidents):
            index = self.next_step.get(story.key, 0)
            if index == 0:
                at = self.moment(story.opens)
                actions.append(StoryAction(at, STEP_RANK, number, self._opener(story)))
            elif index <= len(story.steps):
                step = story.steps[index - 1]
                at = self.moment(step.at)
                run = self._stepper(story, index, step, at)
                actions.append(StoryAction(at, STEP_RANK, number, run))
            keeper = self._cadence_report(story, number)
            if keeper is not None:
                actions.append(keeper)
        return actions

    # -- the cadence ---------------------------------------------------------

    def _cadence_report(self, story: StoryIncident, number: int) -> StoryAction | None:
        incident_id = self.incident_ids.get(story.key)
        incident = (
            None if incident_id is None else self.session.get(Incident, incident_id)
        )
        if incident is None or not incident.is_open:
            return None
        cadence = cadence_for(incident.severity)
        last = last_report(self.session, incident=incident)
        due = (
            incident.started_at + cadence.first_notice
            if last is None
            else last.at + cadence.interval
        )

        def run() -> None:
            roles = current_roles(self.session, incident=incident)
            scribe = roles.get(IncidentRole.SCRIBE)
            record_no_change_report(
                self.session,
                incident=incident,
                at=due,
                actor=scribe.holder if scribe else incident.opened_by,
                zone=OSLO,
            )

        return StoryAction(due, CADENCE_RANK, number, run)

    # -- the steps -----------------------------------------------------------

    def _opener(self, story: StoryIncident) -> Callable[[], None]:
        def run() -> None:
            at = self.moment(story.opens)
            incident = open_incident(
                self.session,
                title=story.title,
                kind=story.kind,
                severity=story.severity,
                visibility=story.visibility,
                summary=story.summary,
                at=at,
                actor=story.by,
                components=story.components,
            )
            self.incident_ids[story.key] = incident.id
            self._played(story, 0, "open", at)

        return run

    def _stepper(
        self, story: StoryIncident, index: int, step: StoryStep, at: datetime
    ) -> Callable[[], None]:
        def run() -> None:
            incident = self.session.get(Incident, self.incident_ids[story.key])
            assert incident is not None  # opened by step 0, in this database
            try:
                with self.session.begin_nested():
                    _STEPS[step.do](self, _Turn(story, index, step, incident, at))
            except ControlRoomError as exc:
                # In the live demo people work the same incident by hand
                # (resolve it early, join the call first): the story gives
                # way, leaves nothing half done, and goes on.
                logger.warning(
                    "story step skipped incident=%s step=%s reason=%s",
                    story.key,
                    index,
                    exc,
                )
            self._played(story, index, step.do, at)

        return run

    def _played(self, story: StoryIncident, index: int, do: str, at: datetime) -> None:
        append_event(
            self.session,
            kind=STEP_PLAYED,
            subject=f"demo-story:{story.key}",
            actor=STORY_ACTOR,
            occurred_at=at,
            payload={
                "incident": story.key,
                "incident_id": self.incident_ids[story.key],
                "step": index,
                "do": do,
            },
        )
        self.next_step[story.key] = index + 1
        self.steps_played += 1

    def role(self, turn: _Turn) -> None:
        assign_role(
            self.session,
            incident=turn.incident,
            role=IncidentRole(turn.step.text("role")),
            holder=turn.step.text("holder"),
            at=turn.at,
            actor=turn.step.by,
        )

    def join(self, turn: _Turn) -> None:
        name = turn.step.text("name")
        join_call(
            self.session, incident=turn.incident, name=name, at=turn.at, actor=turn.by
        )

    def leave(self, turn: _Turn) -> None:
        name = turn.step.text("name")
        leave_call(
            self.session, incident=turn.incident, name=name, at=turn.at, actor=turn.by
        )

    def note(self, turn: _Turn) -> None:
        text = turn.step.text("text")
        add_note(
            self.session, incident=turn.incident, text=text, at=turn.at, actor=turn.by
        )

    def call_item(self, turn: _Turn) -> None:
        raise_call_item(
            self.session,
            incident=turn.incident,
            kind=CallItemKind(turn.step.text("kind")),
            raised_by=turn.step.text("raised_by"),
            text=turn.step.text("text"),
            at=turn.at,
            actor=turn.by,
        )

    def hear(self, turn: _Turn) -> None:
        item = self._item(turn)
        hear_item(self.session, item=item, at=turn.at, actor=turn.by)

    def act(self, turn: _Turn) -> None:
        action = turn.step.text("action")
        act_on_item(
            self.session,
            item=self._item(turn),
            action=action,
            at=turn.at,
            actor=turn.by,
        )

    def decision(self, turn: _Turn) -> None:
        record_decision(
            self.session,
            incident=turn.incident,
            text=turn.step.text("text"),
            decided_by=turn.step.text("decided_by"),
            at=turn.at,
            actor=turn.by,
        )

    def status(self, turn: _Turn) -> None:
        change_status(
            self.session,
            incident=turn.incident,
            status=IncidentStatus(turn.step.text("to")),
            at=turn.at,
            actor=turn.by,
            note=str(turn.step.values.get("note", "")),
            summary=turn.step.values.get("summary"),
        )

    def broadcast(self, turn: _Turn) -> None:
        step, incident, at = turn.step, turn.incident, turn.at
        audience = self._audience(step)
        if audience is None:
            add_note(
                self.session,
                incident=incident,
                text="No parcel was paid to the fallback wallet: no customer to tell.",
                at=at,
                actor=turn.by,
            )
            return

        channels = [MessageChannel(c) for c in step.values["channels"]]
        next_update = at + cadence_for(incident.severity).interval
        texts = compose_texts(
            self.session,
            purpose=step.text("purpose"),
            channels=channels,
            values={
                "incident": incident.title,
                "status": incident.status.label,
                "message": step.text("message"),
                "next_update": f"{next_update.astimezone(OSLO):%H:%M}",
            },
            at=at,
        )
        draft = BroadcastDraft(
            # Chosen per step: sending it again finds the same broadcast.
            update_key=f"demo:{turn.story.key}:{turn.index}",
            purpose=step.text("purpose"),
            audience=audience,
            texts=texts,
            incident_id=incident.id,
        )
        send_broadcast(self.session, draft, at=at, actor=turn.by)

    def driver_text(self, turn: _Turn) -> None:
        callsign = turn.step.text("driver")
        answer = send_driver_text(
            self.session, self.world.story, callsign, turn.step.text("text"), turn.at
        )
        logger.info(
            "scripted driver text driver=%s outcome=%s", callsign, answer.outcome.value
        )

    def _audience(self, step: StoryStep) -> Audience | None:
        kind = AudienceKind(step.text("audience"))
        if kind is not AudienceKind.AFFECTED_CUSTOMERS:
            return Audience(kind)
        # The only selector so far: parcels still on their way whose
        # invoice was issued on the static fallback wallet.
        codes = self.session.scalars(
            select(Parcel.code)
            .join(IssuedAddress, IssuedAddress.parcel_id == Parcel.id)
            .where(Parcel.status.in_(OPEN_STATUSES))
            .order_by(Parcel.id)
        ).all()
        return Audience(kind, codes=tuple(codes)) if codes else None

    def _item(self, turn: _Turn) -> CallItem:
        label = turn.step.text("item")
        raised = next(
            s
            for s in turn.story.steps
            if s.do == "call_item" and s.text("label") == label
        )
        item = self.session.scalar(
            select(CallItem)
            .where(
                CallItem.incident_id == turn.incident.id,
                CallItem.raised_by == raised.text("raised_by"),
                CallItem.text == raised.text("text"),
            )
            .order_by(CallItem.id)
            .limit(1)
        )
        if item is None:
            raise IncidentError(
                f"Call item {label!r} of incident {turn.incident.id} was never "
                "raised; its step was skipped."
            )
        return item


_STEPS: dict[str, Callable[[StoryPlay, _Turn], None]] = {
    "role": StoryPlay.role,
    "join": StoryPlay.join,
    "leave": StoryPlay.leave,
    "note": StoryPlay.note,
    "call_item": StoryPlay.call_item,
    "hear": StoryPlay.hear,
    "act": StoryPlay.act,
    "decision": StoryPlay.decision,
    "status": StoryPlay.status,
    "broadcast": StoryPlay.broadcast,
    "driver_text": StoryPlay.driver_text,
}
