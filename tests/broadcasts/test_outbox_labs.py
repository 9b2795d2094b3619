"""The outbox against the lab SMSC (real SMPP on 127.0.0.1) and the HTTP lab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlroom.broadcasts.models import MessageState
from controlroom.broadcasts.outbox import run_round
from controlroom.messaging.http_sms import HttpSmsGateway
from controlroom.messaging.http_sms_lab import LabFault, LabSmsProvider
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.messaging.smsc_lab import LabSmsc
from tests.broadcasts.conftest import BroadcastDay
from tests.broadcasts.outbox_world import messages, queue_notices
from tests.overview.small_day import NOW

SYSTEM_ID, PASSWORD = "cryptopack", "lab-pw42"
ACCOUNT, TOKEN = "AC0123456789abcdef", "lab-token-s3cret-7f2a"


@pytest.fixture
def smsc() -> Iterator[LabSmsc]:
    with LabSmsc(system_id=SYSTEM_ID, password=PASSWORD) as lab:
        yield lab


@pytest.fixture
def smpp(smsc: LabSmsc) -> Iterator[SmppGateway]:
    gateway = SmppGateway(
        "127.0.0.1",
        smsc.port,
        system_id=SYSTEM_ID,
        password=PASSWORD,
        timeout_seconds=0.3,
    )
    with gateway as bound:
        yield bound


def test_sent_through_the_lab_smsc_and_delivered_by_its_receipts(
    small_day: BroadcastDay, smsc: LabSmsc, smpp: SmppGateway
) -> None:
    queue_notices(small_day)

    report = run_round(small_day.engine, smpp, at=NOW, wait_seconds=2, at_least=2)

    assert (report.sent, report.delivered, report.unmatched) == (2, 2, 0)
    assert len(smsc.submitted) == 2
    assert {m.state for m in messages(small_day.engine)} == {MessageState.DELIVERED}


def test_a_throttling_smsc_leaves_the_messages_queued_for_the_next_round(
    small_day: BroadcastDay, smsc: LabSmsc, smpp: SmppGateway
) -> None:
    queue_notices(small_day)
    smsc.faults.throttle = True

    throttled = run_round(small_day.engine, smpp, at=NOW)
    after_throttle = [(m.state, m.attempts) for m in messages(small_day.engine)]
    smsc.faults.throttle = False
    resumed = run_round(small_day.engine, smpp, at=NOW, wait_seconds=2, at_least=2)

    assert (throttled.throttled, throttled.sent) == (1, 0)
    assert "throttling" in throttled.stopped
    assert after_throttle == [(MessageState.QUEUED, 0)] * 2
    assert (resumed.sent, resumed.delivered) == (2, 2)


def test_a_rejected_message_fails_at_once_and_is_flagged(
    small_day: BroadcastDay, smsc: LabSmsc, smpp: SmppGateway
) -> None:
    queue_notices(small_day)
    smsc.faults.reject = True

    report = run_round(small_day.engine, smpp, at=NOW)

    assert report.failed == 2
    for message in messages(small_day.engine):
        assert (message.state, message.flagged) == (MessageState.FAILED, True)
        assert message.last_error.startswith("Rejected")


def test_a_dropped_connection_counts_an_attempt_and_stops_the_round(
    small_day: BroadcastDay, smsc: LabSmsc, smpp: SmppGateway
) -> None:
    queue_notices(small_day)
    smsc.faults.drop = True

    report = run_round(small_day.engine, smpp, at=NOW, max_attempts=3)

    first, second = messages(small_day.engine)
    assert report.unavailable == 1
    assert "unavailable" in report.stopped
    assert (first.state, first.attempts) == (MessageState.QUEUED, 1)
    assert (second.state, second.attempts) == (MessageState.QUEUED, 0)
    assert "Gateway unavailable" in first.last_error


def test_a_gateway_down_for_every_attempt_fails_and_flags_the_message(
    small_day: BroadcastDay, smsc: LabSmsc
) -> None:
    queue_notices(small_day)
    smsc.faults.drop = True

    for _ in range(2):
        # A dropped SMPP session stays down: a new gateway per round, as
        # ``controlroom messages send`` makes one per run.
        with SmppGateway(
            "127.0.0.1",
            smsc.port,
            system_id=SYSTEM_ID,
            password=PASSWORD,
            timeout_seconds=0.3,
        ) as gateway:
            run_round(small_day.engine, gateway, at=NOW, max_attempts=2)

    first = messages(small_day.engine)[0]
    assert (first.state, first.flagged, first.attempts) == (
        MessageState.FAILED,
        True,
        2,
    )


def test_sent_through_the_http_lab_and_delivered_by_its_statuses(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    with (
        LabSmsProvider(account_id=ACCOUNT, auth_token=TOKEN) as provider,
        HttpSmsGateway(
            provider.url, account_id=ACCOUNT, auth_token=TOKEN, timeout_seconds=1
        ) as gateway,
    ):
        report = run_round(
            small_day.engine, gateway, at=NOW, wait_seconds=2, at_least=2
        )

    assert (report.sent, report.delivered) == (2, 2)
    assert {m.state for m in messages(small_day.engine)} == {MessageState.DELIVERED}


def test_a_throttling_http_api_leaves_the_messages_queued(
    small_day: BroadcastDay,
) -> None:
    queue_notices(small_day)
    with (
        LabSmsProvider(account_id=ACCOUNT, auth_token=TOKEN) as provider,
        HttpSmsGateway(
            provider.url, account_id=ACCOUNT, auth_token=TOKEN, timeout_seconds=1
        ) as gateway,
    ):
        provider.fault = LabFault.THROTTLE
        report = run_round(small_day.engine, gateway, at=NOW)

    assert report.throttled == 1
    assert {m.state for m in messages(small_day.engine)} == {MessageState.QUEUED}
