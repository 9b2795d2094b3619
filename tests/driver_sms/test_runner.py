"""Reading drivers' texts off the SMPP gateway: end to end against the lab SMSC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import controlroom.driver_sms.runner as runner
from controlroom.broadcasts.models import Message
from controlroom.driver_sms.models import TextOutcome
from controlroom.driver_sms.runner import handle_texts, read_driver_texts
from controlroom.driver_sms.service import InboundOutcome, handle_inbound
from controlroom.messaging.inbound import InboundText
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.messaging.smsc_lab import LabSmsc
from controlroom.orders.models import ParcelStatus
from tests.driver_sms.conftest import D1_PHONE, OSLO, P5_CODE, SmsDay

RECEIVED = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_a_pickup_texted_through_the_smsc_picks_the_parcel_up_and_queues_a_reply(
    sms_day: SmsDay,
) -> None:
    with (
        LabSmsc(system_id="cryptopack", password="lab-pw42") as smsc,
        SmppGateway(
            "127.0.0.1",
            smsc.port,
            system_id="cryptopack",
            password="lab-pw42",
            timeout_seconds=0.5,
        ) as gateway,
    ):
        smsc.deliver_text(D1_PHONE, "pu 7kq2-9xwm-4tcz 1234")

        result = read_driver_texts(
            sms_day.engine, gateway, wait_seconds=2.0, at_least=1, zone=OSLO
        )

    [outcome] = result.handled
    assert result.failed == []
    assert (outcome.outcome, outcome.driver) == (TextOutcome.APPLIED, "D1")
    with Session(sms_day.engine) as session:
        assert sms_day.parcel(session, "P5").status is ParcelStatus.PICKED_UP
        [reply] = session.scalars(
            select(Message.body).where(Message.update_key.like("reply:%"))
        ).all()
    assert reply.startswith(f"{P5_CODE} picked up at 13:00")


def test_one_text_that_fails_loses_neither_itself_nor_the_others(
    sms_day: SmsDay, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails_on_boom(session: Session, **kwargs: object) -> InboundOutcome:
        if kwargs["text"] == "boom":
            raise RuntimeError("the database went away")
        return handle_inbound(session, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "handle_inbound", fails_on_boom)
    texts = [
        InboundText(D1_PHONE, f"PU {P5_CODE} 1234", RECEIVED),
        InboundText(D1_PHONE, "boom", RECEIVED),
        InboundText(D1_PHONE, "help", RECEIVED),
    ]

    result = handle_texts(sms_day.engine, texts, zone=OSLO)

    assert [o.outcome for o in result.handled] == [
        TextOutcome.APPLIED,
        TextOutcome.COMMAND_LIST,
    ]
    assert [t.text for t in result.failed] == ["boom"]
    with Session(sms_day.engine) as session:
        assert sms_day.parcel(session, "P5").status is ParcelStatus.PICKED_UP
