"""Publishing a plan by SMS puts each driver's manifest in the outbox once."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.models import Message, MessageState
from controlroom.broadcasts.service import queue_manifest_sms
from controlroom.dispatch.fleet import set_fleet_settings
from controlroom.dispatch.models import Plan, PlanStatus, StopKind, Vehicle
from controlroom.dispatch.publishing import Channel, publish
from controlroom.dispatch.service import PlannedRoute, PlannedStop, create_plan
from controlroom.dispatch.travel import TravelModel
from tests.broadcasts.conftest import BroadcastDay
from tests.overview.small_day import NOW

OSLO = ZoneInfo("Europe/Oslo")


def _draft(session: Session, day: BroadcastDay) -> Plan:
    set_fleet_settings(
        session,
        travel=TravelModel.for_speed(12, latitude=59.9),
        shift=(7 * 60, 17 * 60),
        at=NOW,
        actor="dag",
    )
    van = session.scalar(select(Vehicle))
    assert van is not None
    parcel = day.parcel(session, "P4")
    return create_plan(
        session,
        routes=[
            PlannedRoute(
                van,
                [
                    PlannedStop(parcel, StopKind.PICKUP, NOW),
                    PlannedStop(parcel, StopKind.DELIVERY, NOW),
                ],
            )
        ],
        reason="app down",
        at=NOW,
        actor="dag",
    )


def test_publishing_by_sms_queues_the_manifest_texts_once(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        draft = _draft(session, small_day)
        publish(
            session,
            draft=draft,
            at=NOW,
            zone=OSLO,
            actor="dag",
            channels=[Channel.SMS, Channel.PRINT],
        )
        version = draft.version
        again = queue_manifest_sms(session, plan_version=version, at=NOW, actor="dag")

        queued = session.scalars(
            select(Message).where(Message.update_key.like(f"manifest:{version}:%"))
        ).all()
        assert draft.status is PlanStatus.PUBLISHED
        assert again == []
        assert [m.state for m in queued] == [MessageState.QUEUED] * len(queued)
        assert queued[0].body.startswith("(1/")
        assert "D1" in queued[0].body


def test_publishing_by_app_queues_no_sms(small_day: BroadcastDay) -> None:
    with Session(small_day.engine) as session, session.begin():
        draft = _draft(session, small_day)
        publish(session, draft=draft, at=NOW, zone=OSLO, actor="dag")

        assert session.scalars(select(Message)).all() == []
