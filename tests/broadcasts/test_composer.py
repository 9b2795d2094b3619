"""Composing, previewing and sending a broadcast on the small day."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.broadcasts.audiences import Audience, AudienceKind
from controlroom.broadcasts.board import recent_broadcasts, waiting_for_app
from controlroom.broadcasts.composer import (
    BroadcastDraft,
    compose_texts,
    deliver_app_feed,
    preview,
    send_broadcast,
)
from controlroom.broadcasts.models import Message, MessageChannel, MessageState
from controlroom.errors import BroadcastError, SmsTooLong
from controlroom.health.models import ComponentState
from controlroom.health.service import get_component, set_component_state
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import ProgressReport, Visibility
from controlroom.incidents.service import open_incident
from controlroom.messaging.segments import Encoding
from tests.broadcasts.conftest import BroadcastDay
from tests.overview.small_day import NOW

DRIVERS = Audience(AudienceKind.ALL_DRIVERS)
CUSTOMERS = Audience(AudienceKind.OPEN_ORDER_CUSTOMERS)
APP, SMS, SITE = MessageChannel.APP, MessageChannel.SMS, MessageChannel.STATUS_SITE


def _draft(
    texts: dict[MessageChannel, str],
    *,
    audience: Audience = DRIVERS,
    purpose: str = "incident_update_drivers",
    incident_id: int | None = None,
) -> BroadcastDraft:
    return BroadcastDraft("draft-1", purpose, audience, texts, incident_id)


def _count(session: Session, channel: MessageChannel | None = None) -> int:
    query = select(func.count()).select_from(Message)
    if channel is not None:
        query = query.where(Message.channel == channel)
    return session.scalar(query) or 0


def test_texts_come_from_the_templates_with_the_values_filled_in(
    session: Session,
) -> None:
    texts = compose_texts(
        session,
        purpose="incident_update_drivers",
        channels=[SMS],
        values={"message": "Payments are slow.", "next_update": "10:40"},
        at=NOW,
    )

    assert texts[SMS] == "CryptoPack ops: Payments are slow. Next update by 10:40."


def test_typographic_characters_get_a_gsm7_offer_in_the_preview(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        [shown] = preview(
            session, _draft({SMS: "Delay – we’re on it"}), price_per_segment=45
        )

    assert shown.sms is not None
    assert shown.sms.encoding is Encoding.UCS2
    assert shown.gsm_offer is not None
    assert shown.gsm_offer.text == "Delay - we're on it"
    assert (shown.recipients, shown.cost) == (2, 90)
    assert shown.sample == "driver D1 (1 of 2)"


def test_an_sms_longer_than_the_allowed_segments_is_refused(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        with pytest.raises(SmsTooLong, match="the limit is 2"):
            preview(
                session, _draft({SMS: "x" * 400}), price_per_segment=1, max_segments=2
            )
        with pytest.raises(SmsTooLong):
            send_broadcast(
                session, _draft({SMS: "x" * 400}), at=NOW, actor="mona", max_segments=2
            )


def test_a_retried_send_queues_one_message_per_recipient_per_channel(
    small_day: BroadcastDay,
) -> None:
    draft = _draft({APP: "Vans: avoid Ring 3.", SMS: "Vans: avoid Ring 3."})

    for _ in range(2):  # a double click, or a retry after an error
        with Session(small_day.engine) as session, session.begin():
            send_broadcast(session, draft, at=NOW, actor="mona")

    with Session(small_day.engine) as session, session.begin():
        assert (_count(session, APP), _count(session, SMS)) == (2, 2)
        [delivery] = recent_broadcasts(session)
        assert delivery.counts[SMS][MessageState.QUEUED] == 2
        assert delivery.counts[APP][MessageState.DELIVERED] == 2


def test_app_messages_wait_while_the_driver_app_is_down(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        app = get_component(session, key="driver_app")
        set_component_state(
            session,
            component=app,
            state=ComponentState.MAJOR_OUTAGE,
            at=NOW,
            actor="olga",
            hold=True,
        )
        send_broadcast(session, _draft({APP: "Use SMS."}), at=NOW, actor="mona")
        waiting_while_down = waiting_for_app(session)
        set_component_state(
            session,
            component=app,
            state=ComponentState.OPERATIONAL,
            at=NOW,
            actor="olga",
            hold=True,
        )
        delivered = deliver_app_feed(session, at=NOW)

        assert (waiting_while_down, delivered) == (2, 2)
        assert waiting_for_app(session) == 0


def test_customers_get_no_driver_app_message(small_day: BroadcastDay) -> None:
    draft = _draft({APP: "x"}, audience=CUSTOMERS, purpose="incident_update_drivers")
    with (
        Session(small_day.engine) as session,
        session.begin(),
        pytest.raises(BroadcastError, match="Customers have no driver app"),
    ):
        send_broadcast(session, draft, at=NOW, actor="mona")


def test_the_status_site_text_becomes_a_public_progress_report_once(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        incident = open_incident(
            session,
            title="Payment tracker down",
            kind="payment_tracker_down",
            severity=Severity.SEV2,
            visibility=Visibility.PUBLIC,
            summary="Payments are confirmed late.",
            at=NOW,
            actor="mona",
        )
        incident_id = incident.id
    draft = _draft(
        {SITE: "Payments are confirmed late; parcels still move.", SMS: "Late."},
        audience=CUSTOMERS,
        purpose="incident_update_customers",
        incident_id=incident_id,
    )

    for _ in range(2):
        with Session(small_day.engine) as session, session.begin():
            send_broadcast(session, draft, at=NOW, actor="mona")

    with Session(small_day.engine) as session, session.begin():
        reports = session.scalars(
            select(ProgressReport).where(ProgressReport.incident_id == incident_id)
        ).all()
        public = [r.text for r in reports if r.public]
        site = session.scalar(select(Message).where(Message.channel == SITE))

        assert public == ["Payments are confirmed late; parcels still move."]
        assert site is not None
        assert site.state is MessageState.DELIVERED
        assert _count(session, SMS) == 2


def test_the_status_site_needs_an_incident(small_day: BroadcastDay) -> None:
    draft = _draft(
        {SITE: "All fine."}, audience=CUSTOMERS, purpose="incident_update_customers"
    )
    with (
        Session(small_day.engine) as session,
        session.begin(),
        pytest.raises(BroadcastError, match="choose the incident"),
    ):
        send_broadcast(session, draft, at=NOW, actor="mona")
