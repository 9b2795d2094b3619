"""``controlroom drivers``: register a phone, read texts off the SMSC."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from controlroom.cli import app
from controlroom.driver_sms.models import DriverPhone
from controlroom.messaging.smsc_lab import LabSmsc
from controlroom.orders.models import ParcelStatus
from tests.driver_sms.conftest import D1_PHONE, P5_CODE, SmsDay


def url(day: SmsDay) -> str:
    return day.engine.url.render_as_string(hide_password=False)


def test_register_phone_asks_for_the_pin_twice_and_never_prints_it(
    sms_day: SmsDay,
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "drivers",
            "register-phone",
            "--driver",
            "W1",
            "--phone",
            "+47 955 55 123",
            "--database-url",
            url(sms_day),
        ],
        input="2580\n2580\n",
    )

    assert result.exit_code == 0, result.output
    assert "+*******123 is registered to W1." in result.output
    assert "2580" not in result.output
    with Session(sms_day.engine) as session:
        phone = session.scalars(
            select(DriverPhone).where(DriverPhone.phone == "+4795555123")
        ).one()
        assert phone.registered_by == "cli"


def test_read_texts_applies_a_text_the_smsc_delivers(
    sms_day: SmsDay, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LabSmsc(system_id="cryptopack", password="lab-pw42") as smsc:
        for name, value in {
            "SMS_GATEWAY": "smpp",
            "SMS_HOST": "127.0.0.1",
            "SMS_PORT": str(smsc.port),
            "SMS_ACCOUNT": "cryptopack",
            "SMS_SECRET": "lab-pw42",
            "TIMEZONE": "Europe/Oslo",
        }.items():
            monkeypatch.setenv(f"CONTROLROOM_{name}", value)
        # The text goes out once the command has bound to the lab.
        handset = threading.Thread(
            target=smsc.deliver_text,
            args=(D1_PHONE, f"PU {P5_CODE} 1234"),
            kwargs={"wait_seconds": 5.0},
        )
        handset.start()
        result = CliRunner().invoke(
            app,
            [
                "drivers",
                "read-texts",
                "--every",
                "5",
                "--rounds",
                "1",
                "--database-url",
                url(sms_day),
            ],
        )
        handset.join()

    assert result.exit_code == 0, result.output
    assert f"D1 pickup {P5_CODE} -> applied" in result.output
    with Session(sms_day.engine) as session:
        assert sms_day.parcel(session, "P5").status is ParcelStatus.PICKED_UP
