"""The lab SMSC can play a handset that stays switched off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlroom.messaging.receipts import Outcome
from controlroom.messaging.smpp_gateway import SmppGateway
from controlroom.messaging.smsc_lab import LabSmsc

PASSWORD = "lab-pw42"


@pytest.fixture
def gateway() -> Iterator[SmppGateway]:
    with LabSmsc(password=PASSWORD) as smsc:
        smsc.faults.switched_off = frozenset({"4791234567"})
        with SmppGateway(
            "127.0.0.1",
            smsc.port,
            system_id=smsc.system_id,
            password=PASSWORD,
            timeout_seconds=2,
        ) as client:
            yield client


def test_a_switched_off_handset_gets_undeliverable_receipts_and_others_do_not(
    gateway: SmppGateway,
) -> None:
    gateway.send("+47 912 34 567", "Your parcel is on its way")
    gateway.send("+4798765432", "Your parcel is on its way")

    receipts = gateway.receipts(wait_seconds=2, at_least=2)

    assert [(r.stat, r.outcome) for r in receipts] == [
        ("UNDELIV", Outcome.FAILED),
        ("DELIVRD", Outcome.DELIVERED),
    ]
