"""A driver's text, end to end: the same services as the app, or nothing at all."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import controlroom.driver_sms.reports as reports
from controlroom.broadcasts.models import Message
from controlroom.dispatch.models import Stop, StopKind, StopStatus
from controlroom.dispatch.service import complete_stop
from controlroom.driver_sms.models import DriverText, TextOutcome
from controlroom.errors import DispatchError
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import CallItem, CallItemKind, Visibility
from controlroom.incidents.service import open_incident
from controlroom.orders.models import ParcelStatus
from tests.driver_sms.conftest import (
    AT,
    D1_PIN,
    P5_CODE,
    W1_PHONE,
    W1_PIN,
    SmsDay,
)


def test_a_pickup_texted_lower_case_is_recorded_like_the_app_and_answered(
    sms_day: SmsDay,
) -> None:
    outcome = sms_day.text(f"pu {P5_CODE.lower()} {D1_PIN}")

    assert outcome.outcome is TextOutcome.APPLIED
    assert outcome.reply == (
        f"{P5_CODE} picked up at 13:30. Sender and recipient will be told."
    )
    with Session(sms_day.engine) as session:
        parcel = sms_day.parcel(session, "P5")
        stop = session.scalars(
            select(Stop).where(Stop.parcel_id == parcel.id, Stop.kind == "pickup")
        ).one()
        notices = session.scalars(
            select(Message.party_id).where(
                Message.update_key == f"parcel:{parcel.id}:picked_up"
            )
        ).all()
        reply = session.scalars(
            select(Message).where(Message.update_key.like("reply:%"))
        ).one()
        assert (parcel.status, parcel.picked_up_at) == (ParcelStatus.PICKED_UP, AT)
        assert (stop.status, stop.done_at) == (StopStatus.DONE, AT)
        assert sorted(notices) == sorted([parcel.sender_id, parcel.recipient_id])
        assert outcome.reply in reply.body
    [picked] = sms_day.events("ParcelPickedUp")[-1:]
    assert (picked.actor, picked.payload["via"]) == ("driver:D1", "sms")


def test_a_delivery_after_the_pickup_is_recorded_and_both_customers_told(
    sms_day: SmsDay,
) -> None:
    sms_day.text(f"PU {P5_CODE} {D1_PIN}")

    outcome = sms_day.text(f"DL {P5_CODE} {D1_PIN}", at=AT + timedelta(minutes=20))

    assert outcome.outcome is TextOutcome.APPLIED
    with Session(sms_day.engine) as session:
        parcel = sms_day.parcel(session, "P5")
        told = session.scalars(
            select(Message.id).where(
                Message.update_key == f"parcel:{parcel.id}:delivered"
            )
        ).all()
        assert parcel.status is ParcelStatus.DELIVERED
        assert len(told) == 2
    assert sms_day.events("ParcelDelivered")[-1].payload["via"] == "sms"


def test_a_delay_is_journalled_with_its_reason_and_the_customers_told(
    sms_day: SmsDay,
) -> None:
    before = sms_day.state()[:2]

    outcome = sms_day.text(f"delay {P5_CODE} {D1_PIN} queue at the bridge")

    assert outcome.outcome is TextOutcome.APPLIED
    [delayed] = sms_day.events("ParcelDelayed")
    assert delayed.actor == "driver:D1"
    assert delayed.payload["reason"] == "queue at the bridge"
    assert delayed.payload["via"] == "sms"
    assert sms_day.state()[:2] == before
    with Session(sms_day.engine) as session:
        parcel = sms_day.parcel(session, "P5")
        bodies = session.scalars(
            select(Message.body).where(
                Message.update_key == f"parcel:{parcel.id}:delayed"
            )
        ).all()
    assert len(bodies) == 2
    assert all("queue at the bridge" in body for body in bodies)


def test_every_text_lands_in_the_journal_as_the_driver_via_sms_pin_masked(
    sms_day: SmsDay,
) -> None:
    outcome = sms_day.text(f"DELAY {P5_CODE} {D1_PIN} flat tyre")

    [received] = sms_day.events("DriverTextReceived")
    assert received.subject == f"driver-text:{outcome.text_id}"
    assert received.actor == "driver:D1"
    assert received.payload["via"] == "sms"
    assert received.payload["text"] == f"DELAY {P5_CODE} **** flat tyre"
    assert received.payload["outcome"] == "applied"


def test_help_with_no_incident_open_is_kept_for_dispatch_on_the_screen(
    sms_day: SmsDay,
) -> None:
    outcome = sms_day.text(f"HELP {D1_PIN} van will not start")

    assert outcome.outcome is TextOutcome.HELP_FOR_DISPATCH
    assert outcome.outcome.is_problem
    with Session(sms_day.engine) as session:
        row = session.get(DriverText, outcome.text_id)
        assert row is not None
        assert row.text == "HELP **** van will not start"


@pytest.mark.parametrize(
    ("help_text", "kind"),
    [
        ("van will not start", CallItemKind.PROBLEM),
        ("do I wait at the depot?", CallItemKind.QUESTION),
    ],
)
def test_help_during_an_incident_goes_on_the_call_as_a_problem_or_question(
    sms_day: SmsDay, help_text: str, kind: CallItemKind
) -> None:
    with Session(sms_day.engine) as session, session.begin():
        incident = open_incident(
            session,
            title="Driver app down",
            kind="driver_app_down",
            severity=Severity.SEV2,
            visibility=Visibility.RESTRICTED,
            summary="Drivers report by SMS.",
            at=AT - timedelta(minutes=10),
            actor="mona",
        )
        incident_id = incident.id

    outcome = sms_day.text(f"help {D1_PIN} {help_text}")

    assert outcome.outcome is TextOutcome.HELP_ON_CALL
    with Session(sms_day.engine) as session:
        [item] = session.scalars(select(CallItem)).all()
        assert (item.incident_id, item.kind) == (incident_id, kind)
        assert (item.raised_by, item.text) == ("D1", help_text)


def test_help_alone_answers_with_the_commands_and_changes_nothing(
    sms_day: SmsDay,
) -> None:
    before = sms_day.state()

    outcome = sms_day.text("help")

    assert outcome.outcome is TextOutcome.COMMAND_LIST
    assert "PU code PIN" in outcome.reply and "DELAY code PIN reason" in outcome.reply
    assert sms_day.state() == before


def test_a_text_from_an_unknown_phone_is_logged_unanswered_and_changes_nothing(
    sms_day: SmsDay,
) -> None:
    from controlroom.broadcasts.models import Message

    before = sms_day.state()
    with Session(sms_day.engine) as session:
        queued = len(session.scalars(select(Message)).all())

    outcome = sms_day.text(f"PU {P5_CODE} {D1_PIN}", phone="+4700000000")

    assert outcome.outcome is TextOutcome.UNKNOWN_PHONE
    assert "no reply" in outcome.reply
    with Session(sms_day.engine) as session:
        assert len(session.scalars(select(Message)).all()) == queued
    assert outcome.driver is None
    assert sms_day.state() == before
    [received] = sms_day.events("DriverTextReceived")
    assert received.actor == "sms:+*******000"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("PU {P6} {pin}", "is on W1's route, not yours"),
        ("DL {P1} {pin}", "was already delivered at 10:00"),
        ("PU {P7} {pin}", "was cancelled: do not carry it"),
        ("PU 1A0B-0C0D-1E07 {pin}", "No parcel has the code 1A0B-0C0D-1E07"),
        ("DL {P5} {pin}", "is not picked up yet: send PU first"),
        ("PU {P3} {pin}", "has no open stop on today's plan"),
        ("DELAY {P6} {pin} traffic", "is on W1's route"),
        ("PIKUP {P5} {pin}", "Unknown command 'PIKUP'"),
    ],
)
def test_a_refused_text_gets_a_clear_reply_and_changes_nothing(
    sms_day: SmsDay, text: str, says: str
) -> None:
    before = sms_day.state()

    outcome = sms_day.text(text.format(pin=D1_PIN, **sms_day.codes))

    assert outcome.outcome in (TextOutcome.REFUSED, TextOutcome.NOT_UNDERSTOOD)
    assert says in outcome.reply
    assert "Nothing was recorded" in outcome.reply or "Send PU" in outcome.reply
    assert sms_day.state() == before


def test_a_refusal_after_the_stop_was_completed_rolls_the_pickup_back(
    sms_day: SmsDay, monkeypatch: pytest.MonkeyPatch
) -> None:
    def complete_then_fail(session: Session, **kwargs: object) -> None:
        complete_stop(session, **kwargs)  # type: ignore[arg-type]
        raise DispatchError("The van's board refused the parcel.")

    monkeypatch.setattr(reports, "complete_stop", complete_then_fail)
    before = sms_day.state()

    outcome = sms_day.text(f"PU {P5_CODE} {D1_PIN}")

    assert outcome.outcome is TextOutcome.REFUSED
    assert outcome.reply == "The van's board refused the parcel."
    assert sms_day.state() == before


def test_a_pickup_texted_twice_is_refused_the_second_time(sms_day: SmsDay) -> None:
    sms_day.text(f"PU {P5_CODE} {D1_PIN}")
    before = sms_day.state()

    outcome = sms_day.text(f"PU {P5_CODE} {D1_PIN}")

    assert outcome.outcome is TextOutcome.REFUSED
    assert "already picked up. Send DL" in outcome.reply
    assert sms_day.state() == before


def test_a_wrong_pin_is_counted_and_refused_without_changing_anything(
    sms_day: SmsDay,
) -> None:
    before = sms_day.state()

    outcome = sms_day.text(f"PU {P5_CODE} 9999")

    assert outcome.outcome is TextOutcome.WRONG_PIN
    assert outcome.reply == (
        "Wrong PIN; nothing was recorded. 4 more wrong and this phone is "
        "locked for 15 minutes."
    )
    assert sms_day.state() == before


def test_five_wrong_pins_lock_the_phone_for_fifteen_minutes(sms_day: SmsDay) -> None:
    for minute in range(4):
        sms_day.text(f"PU {P5_CODE} 999{minute}", at=AT + timedelta(minutes=minute))

    fifth = sms_day.text(f"PU {P5_CODE} 9994", at=AT + timedelta(minutes=4))
    right_but_locked = sms_day.text(
        f"PU {P5_CODE} {D1_PIN}", at=AT + timedelta(minutes=10)
    )
    after = sms_day.text(f"PU {P5_CODE} {D1_PIN}", at=AT + timedelta(minutes=19))

    assert fifth.outcome is TextOutcome.LOCKED
    assert "locked until 13:49 CET" in fifth.reply
    assert right_but_locked.outcome is TextOutcome.LOCKED
    assert "locked until 13:49 CET" in right_but_locked.reply
    assert after.outcome is TextOutcome.APPLIED
    [locked] = sms_day.events("DriverPhoneLocked")
    assert locked.payload["driver"] == "D1"


def test_a_right_pin_clears_the_count_of_wrong_ones(sms_day: SmsDay) -> None:
    for attempt in range(4):
        sms_day.text(f"PU {P5_CODE} 999{attempt}")
    sms_day.text("help 1234")

    outcome = sms_day.text(f"DL {P5_CODE} 9990")

    assert "4 more wrong" in outcome.reply


def test_no_pin_reaches_the_journal_the_text_log_or_the_outbox(
    sms_day: SmsDay,
) -> None:
    wrong = ["97531", "24680", "1357"]
    texts = [
        f"PU {sms_day.codes['P6']} {W1_PIN}",
        f"DELAY {sms_day.codes['P6']} {W1_PIN} gate code {W1_PIN} fails",
        f"HELP {W1_PIN} my pin {W1_PIN} works?",
        f"{W1_PIN} PU {sms_day.codes['P6']}",
        *(f"DL {sms_day.codes['P6']} {pin}" for pin in wrong),
        f"pikup {sms_day.codes['P6']} {W1_PIN}",
    ]

    for text in texts:
        sms_day.text(text, phone=W1_PHONE)

    with Session(sms_day.engine) as session:
        stored = [
            *session.scalars(select(DriverText.text)),
            *session.scalars(select(DriverText.reply)),
            *session.scalars(select(Message.body)),
        ]
    everything = sms_day.journal_text() + "\n".join(stored)
    for pin in [W1_PIN, *wrong]:
        assert not re.search(rf"(?<!\d){pin}(?!\d)", everything), pin


def test_a_revoked_phone_is_an_unknown_phone(sms_day: SmsDay) -> None:
    from controlroom.driver_sms.phones import active_phone, revoke_phone

    with Session(sms_day.engine) as session, session.begin():
        registration = active_phone(session, phone=W1_PHONE)
        assert registration is not None
        revoke_phone(session, registration=registration, at=AT, actor="dag")

    outcome = sms_day.text(f"PU {sms_day.codes['P6']} {W1_PIN}", phone=W1_PHONE)

    assert outcome.outcome is TextOutcome.UNKNOWN_PHONE


def test_a_transfer_from_a_lost_van_is_collected_with_pu(sms_day: SmsDay) -> None:
    sms_day.text(f"PU {sms_day.codes['P6']} {W1_PIN}", phone=W1_PHONE)
    with Session(sms_day.engine) as session, session.begin():
        parcel = sms_day.parcel(session, "P6")
        delivery = session.scalars(
            select(Stop).where(Stop.parcel_id == parcel.id, Stop.kind == "delivery")
        ).one()
        # Move the delivery to D1 as a transfer then a delivery, as the
        # re-planner does when W1's van is lost.
        delivery.kind = StopKind.TRANSFER
        delivery.lat, delivery.lon = 59.92, 10.70
        mine = session.scalars(
            select(Stop).where(Stop.parcel_id == sms_day.parcel(session, "P5").id)
        ).first()
        assert mine is not None
        delivery.route_id = mine.route_id
        delivery.sequence = 90
        session.add(
            Stop(
                route_id=mine.route_id,
                sequence=91,
                parcel_id=parcel.id,
                kind=StopKind.DELIVERY,
                status=StopStatus.PLANNED,
                eta=AT + timedelta(hours=2),
            )
        )

    collected = sms_day.text(f"PU {sms_day.codes['P6']} {D1_PIN}")
    delivered = sms_day.text(f"DL {sms_day.codes['P6']} {D1_PIN}")

    assert collected.reply.startswith(f"Transfer of {sms_day.codes['P6']}")
    assert delivered.outcome is TextOutcome.APPLIED
