"""The outbox sends, retries, fails and flags; receipts move messages on."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.broadcasts.board import unmatched_receipts
from controlroom.broadcasts.models import MessageState
from controlroom.broadcasts.outbox import retry_message, run_round, send_queued
from controlroom.errors import MessagingError
from controlroom.orders.models import Party
from tests.broadcasts.conftest import BroadcastDay
from tests.broadcasts.outbox_world import (
    CrashingGateway,
    OutboxCrashed,
    ScriptedGateway,
    messages,
    queue_notices,
)
from tests.overview.small_day import NOW


def test_a_receipt_for_3e8_in_zero_padded_decimal_marks_it_delivered(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    gateway = ScriptedGateway(ids=[["3e8"], ["3e9"]])
    run_round(small_day.engine, gateway, at=NOW)

    gateway.deliver("0000001000")
    report = run_round(small_day.engine, gateway, at=NOW)

    first, second = messages(small_day.engine)
    assert report.delivered == 1
    assert first.state is MessageState.DELIVERED
    assert first.segment_ids == ["3e8"]
    assert second.state is MessageState.SENT


def test_the_phone_is_read_from_the_party_at_send_time(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    party_id = messages(small_day.engine)[0].party_id
    with Session(small_day.engine) as session, session.begin():
        party = session.get(Party, party_id)
        assert party is not None
        party.phone = "+4791112222"
    gateway = ScriptedGateway(ids=[["1"], ["2"]])

    send_queued(small_day.engine, gateway, at=NOW)

    assert gateway.sent[0][0] == "+4791112222"


def test_an_unmatched_receipt_is_kept_and_counts_for_nothing(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    gateway = ScriptedGateway(ids=[["3e8"], ["3e9"]])
    run_round(small_day.engine, gateway, at=NOW)

    gateway.deliver("0000009999")
    report = run_round(small_day.engine, gateway, at=NOW)

    assert report.unmatched == 1
    assert report.delivered == 0
    assert [m.state for m in messages(small_day.engine)] == [MessageState.SENT] * 2
    with Session(small_day.engine) as session, session.begin():
        [kept] = unmatched_receipts(session)
        assert (kept.message_id, kept.stat) == ("0000009999", "DELIVRD")


def test_a_two_segment_text_is_delivered_only_when_both_parts_are(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    gateway = ScriptedGateway(ids=[["10", "11"], ["12"]])
    run_round(small_day.engine, gateway, at=NOW)

    gateway.deliver("16")  # 0x10
    run_round(small_day.engine, gateway, at=NOW)
    halfway = messages(small_day.engine)[0].state
    gateway.deliver("17")  # 0x11
    run_round(small_day.engine, gateway, at=NOW)

    assert halfway is MessageState.SENT
    assert messages(small_day.engine)[0].state is MessageState.DELIVERED


def test_a_failed_receipt_sends_again_then_fails_and_flags(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    gateway = ScriptedGateway(ids=[["1"], ["2"], ["3"], ["4"]])
    run_round(small_day.engine, gateway, at=NOW, max_attempts=2)

    gateway.deliver("1", "UNDELIV")
    first = run_round(small_day.engine, gateway, at=NOW, max_attempts=2)
    gateway.deliver("3", "EXPIRED")
    second = run_round(small_day.engine, gateway, at=NOW, max_attempts=2)

    message = messages(small_day.engine)[0]
    assert first.retried == 1
    assert (second.sent, second.failed) == (1, 1)
    assert message.state is MessageState.FAILED
    assert message.flagged
    assert message.attempts == 2
    assert "EXPIRED" in message.last_error


def test_a_crash_after_the_gateway_accepted_loses_nothing(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)

    with pytest.raises(OutboxCrashed):
        send_queued(small_day.engine, CrashingGateway(), at=NOW)
    gateway = ScriptedGateway(ids=[["1"], ["2"]])
    send_queued(small_day.engine, gateway, at=NOW)

    first, second = messages(small_day.engine)
    assert len(gateway.sent) == 2
    assert first.state is second.state is MessageState.SENT
    assert "may get this text twice" in first.last_error
    assert second.last_error == ""


def test_a_failed_message_can_be_queued_again_by_a_person(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    gateway = ScriptedGateway(ids=[["1"], ["2"]])
    run_round(small_day.engine, gateway, at=NOW, max_attempts=1)
    gateway.deliver("1", "REJECTD")
    run_round(small_day.engine, gateway, at=NOW, max_attempts=1)
    failed_id = messages(small_day.engine)[0].id

    with Session(small_day.engine) as session, session.begin():
        retried = retry_message(session, message_id=failed_id, at=NOW, actor="olga")
        state, flagged = retried.state, retried.flagged
        with pytest.raises(MessagingError, match="only a failed message"):
            retry_message(session, message_id=failed_id, at=NOW, actor="olga")

    assert (state, flagged) == (MessageState.QUEUED, False)


def test_a_reply_to_an_unknown_number_forgets_it_once_final(
    small_day: BroadcastDay,
) -> None:
    from controlroom.broadcasts.service import queue_driver_reply

    with Session(small_day.engine) as session, session.begin():
        queue_driver_reply(
            session, phone="+4799999999", text="Hi", at=NOW, actor="t", reply_to="1"
        )
    gateway = ScriptedGateway(ids=[["5"]])
    run_round(small_day.engine, gateway, at=NOW)
    gateway.deliver("5")

    run_round(small_day.engine, gateway, at=NOW)

    [message] = messages(small_day.engine)
    assert gateway.sent[0][0] == "+4799999999"
    assert message.state is MessageState.DELIVERED
    assert message.reply_phone is None


def test_no_phone_number_is_stored_outside_parties(small_day: BroadcastDay) -> None:
    queue_notices(small_day)
    run_round(small_day.engine, ScriptedGateway(ids=[["1"], ["2"]]), at=NOW)

    stored = repr([vars(m) for m in messages(small_day.engine)])
    with Session(small_day.engine) as session, session.begin():
        phones = set(session.scalars(select(Party.phone)))

    assert not any(phone in stored for phone in phones)


def test_a_delivered_manifest_text_keeps_no_addresses(
    small_day: BroadcastDay,
) -> None:
    from controlroom.broadcasts.outbox import ERASED_MANIFEST
    from controlroom.broadcasts.service import queue_manifest_sms

    with Session(small_day.engine) as session, session.begin():
        version = small_day.published_version(session)
        parts = queue_manifest_sms(session, plan_version=version, at=NOW, actor="t")
        sent_texts = [part.body for part in parts]
    ids = [str(n) for n in range(1, len(parts) + 1)]
    gateway = ScriptedGateway(ids=[[segment] for segment in ids])
    run_round(small_day.engine, gateway, at=NOW)
    for segment in ids:
        gateway.deliver(segment)

    run_round(small_day.engine, gateway, at=NOW)

    assert [text for _, text in gateway.sent] == sent_texts
    assert any("Storgata 1" in text for text in sent_texts)  # a pickup street
    assert {(m.state, m.body) for m in messages(small_day.engine)} == {
        (MessageState.DELIVERED, ERASED_MANIFEST)
    }
