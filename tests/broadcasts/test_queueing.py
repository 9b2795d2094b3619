"""Parcel notices, driver replies and SMS manifests land in the outbox once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.broadcasts.models import Message, MessageChannel, MessageState
from controlroom.broadcasts.service import (
    NO_PARTY,
    NoticeKind,
    queue_driver_reply,
    queue_manifest_sms,
    queue_parcel_notice,
)
from controlroom.errors import BroadcastError
from controlroom.journal import JournalEvent
from controlroom.orders.models import Party
from tests.broadcasts.conftest import BroadcastDay
from tests.overview.small_day import NOW


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Message)) or 0


def test_a_delivery_notice_goes_to_sender_and_recipient_once(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        parcel = small_day.parcel(session, "P3")

        first = queue_parcel_notice(
            session, parcel=parcel, kind=NoticeKind.DELIVERED, at=NOW, actor="t"
        )
        again = queue_parcel_notice(
            session, parcel=parcel, kind=NoticeKind.DELIVERED, at=NOW, actor="t"
        )

        assert {m.party_id for m in first} == {parcel.sender_id, parcel.recipient_id}
        assert again == []
        assert _count(session) == 2
        assert first[0].state is MessageState.QUEUED
        assert first[0].channel is MessageChannel.SMS
        assert parcel.code in first[0].body
        assert "13:00" in first[0].body  # 12:00 UTC is 13:00 in Oslo


def test_a_delay_notice_says_why_and_refuses_no_reason(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        parcel = small_day.parcel(session, "P4")

        with pytest.raises(BroadcastError, match="Say why parcel"):
            queue_parcel_notice(
                session, parcel=parcel, kind=NoticeKind.DELAYED, at=NOW, actor="t"
            )
        queued = queue_parcel_notice(
            session,
            parcel=parcel,
            kind=NoticeKind.DELAYED,
            at=NOW,
            actor="t",
            reason="road closed at Alna",
        )

        assert "road closed at Alna" in queued[0].body


def test_a_reply_goes_to_the_driver_party_and_is_queued_once(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        driver = session.scalar(select(Party).where(Party.phone == "+4790000009"))

        first = queue_driver_reply(
            session, phone="+4790000009", text="OK", at=NOW, actor="t", reply_to="7"
        )
        again = queue_driver_reply(
            session, phone="+4790000009", text="OK", at=NOW, actor="t", reply_to="7"
        )

        assert driver is not None
        assert first.id == again.id
        assert first.party_id == driver.id
        assert first.reply_phone is None
        assert _count(session) == 1


def test_a_reply_to_an_unknown_number_keeps_the_number_on_the_message(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        message = queue_driver_reply(
            session,
            phone="+4799999999",
            text="This phone is not registered.",
            at=NOW,
            actor="t",
            reply_to="8",
        )

        assert message.party_id == NO_PARTY
        assert message.reply_phone == "+4799999999"


def test_manifest_sms_are_queued_once_per_plan_version(
    small_day: BroadcastDay,
) -> None:
    with Session(small_day.engine) as session, session.begin():
        version = small_day.published_version(session)

        first = queue_manifest_sms(session, plan_version=version, at=NOW, actor="t")
        again = queue_manifest_sms(session, plan_version=version, at=NOW, actor="t")

        assert len(first) >= 1
        assert again == []
        assert first[0].body.startswith("(1/")
        assert first[0].update_key == f"manifest:{version}:1"


def test_notices_journal_no_phone_numbers(small_day: BroadcastDay) -> None:
    with Session(small_day.engine) as session, session.begin():
        parcel = small_day.parcel(session, "P3")
        queue_parcel_notice(
            session, parcel=parcel, kind=NoticeKind.PICKED_UP, at=NOW, actor="t"
        )
        queue_driver_reply(
            session, phone="+4799999999", text="Hi", at=NOW, actor="t", reply_to="9"
        )

        payloads = session.scalars(
            select(JournalEvent.payload).where(
                JournalEvent.kind.in_(["ParcelNoticeQueued", "DriverReplyQueued"])
            )
        ).all()

        assert len(payloads) == 2
        assert "+47" not in repr(payloads)
