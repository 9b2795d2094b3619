"""Registering dedicated phones: E.164 numbers, hashed PINs, one phone a driver."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.dispatch.models import Driver
from controlroom.driver_sms.models import DriverPhone
from controlroom.driver_sms.phones import (
    active_phone,
    check_pin_form,
    driver_phone,
    mask_phone,
    normalise_phone,
    register_phone,
    revoke_phone,
)
from controlroom.errors import DriverSmsError
from tests.driver_sms.conftest import AT, D1_PHONE, W1_PHONE, SmsDay


def driver(session: Session, callsign: str) -> Driver:
    return session.scalars(select(Driver).where(Driver.callsign == callsign)).one()


@pytest.mark.parametrize(
    "typed",
    ["+47 912 34 567", "0047 912 34 567", "+47-912-34-567", "(+47) 91234567"],
)
def test_a_number_is_kept_in_e164_however_it_was_typed(typed: str) -> None:
    assert normalise_phone(typed) == D1_PHONE


@pytest.mark.parametrize("typed", ["912 34 567", "+47 912", "+0791234567", "+47abc"])
def test_a_number_without_country_code_or_of_the_wrong_length_is_refused(
    typed: str,
) -> None:
    with pytest.raises(DriverSmsError, match="international form"):
        normalise_phone(typed)


@pytest.mark.parametrize(
    ("pin", "says"),
    [("123", "4 to 8 digits"), ("12a4", "4 to 8 digits"), ("0000", "repeated")],
)
def test_a_pin_must_be_4_to_8_digits_and_not_one_digit_repeated(
    pin: str, says: str
) -> None:
    with pytest.raises(DriverSmsError, match=says):
        check_pin_form(pin)


def test_a_masked_number_shows_only_its_last_three_digits() -> None:
    assert mask_phone(D1_PHONE) == "+*******567"


def test_the_pin_is_stored_only_as_an_argon2_hash_and_journalled_not_at_all(
    sms_day: SmsDay,
) -> None:
    with Session(sms_day.engine) as session, session.begin():
        registration = active_phone(session, phone=D1_PHONE)
        assert registration is not None
        assert registration.pin_hash.startswith("$argon2id$")
        assert "1234" not in registration.pin_hash

    [first, _] = sms_day.events("DriverPhoneRegistered")
    assert first.payload == {"driver": "D1", "phone": "+*******567"}
    assert first.actor == "dag"


def test_a_number_held_by_another_driver_is_refused_until_revoked_there(
    sms_day: SmsDay,
) -> None:
    with (
        Session(sms_day.engine) as session,
        session.begin(),
        pytest.raises(DriverSmsError, match=r"registered to W1; revoke it"),
    ):
        register_phone(
            session,
            driver=driver(session, "D1"),
            phone=W1_PHONE,
            pin="2580",
            at=AT,
            actor="dag",
        )


def test_registering_a_new_phone_for_a_driver_revokes_the_old_one(
    sms_day: SmsDay,
) -> None:
    with Session(sms_day.engine) as session, session.begin():
        d1 = driver(session, "D1")
        register_phone(
            session, driver=d1, phone="+4791111222", pin="2580", at=AT, actor="dag"
        )
        current = driver_phone(session, driver=d1)
        phones = session.scalars(
            select(DriverPhone).where(DriverPhone.driver_id == d1.id)
        ).all()

        assert current is not None and current.phone == "+4791111222"
        assert active_phone(session, phone=D1_PHONE) is None
        assert [p.revoked_by for p in phones] == ["dag", None]


def test_revoking_twice_is_refused(sms_day: SmsDay) -> None:
    with Session(sms_day.engine) as session, session.begin():
        registration = active_phone(session, phone=W1_PHONE)
        assert registration is not None
        revoke_phone(session, registration=registration, at=AT, actor="dag")

        with pytest.raises(DriverSmsError, match="already revoked"):
            revoke_phone(session, registration=registration, at=AT, actor="dag")
