"""The Driver texts screen, headless: texts problems first, phones, register."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.dispatch.models import Driver
from controlroom.driver_sms.models import DriverPhone
from controlroom.driver_sms.phones import register_phone
from controlroom.driver_sms.service import handle_inbound
from tests.overview.small_day import NOW, SmallDay
from tests.pages.conftest import sign_in

PAGE = "pages/driver_texts.py"
PHONE = "+4791234567"
OSLO = ZoneInfo("Europe/Oslo")


def texts_from_d1(engine: Engine, day: SmallDay, bodies: list[str]) -> None:
    """Register D1's phone with PIN 1234 and hand it ``bodies`` one by one."""
    with Session(engine) as session, session.begin():
        d1 = session.scalars(select(Driver).where(Driver.callsign == "D1")).one()
        register_phone(session, driver=d1, phone=PHONE, pin="1234", at=NOW, actor="dag")
    for minute, body in enumerate(bodies, start=1):
        with Session(engine) as session, session.begin():
            handle_inbound(
                session,
                phone=PHONE,
                text=body.format(**day.codes),
                at=NOW + timedelta(minutes=minute),
                zone=OSLO,
            )


def open_page(role: Role) -> AppTest:
    app = sign_in(role)
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def fill(app: AppTest, pin: str, pin_again: str) -> None:
    """Fill the register form for D1 and submit it."""
    inputs = {field.label: field for field in app.text_input}
    inputs["Phone number"].input("+47 912 34 567")
    inputs["PIN (4 to 8 digits)"].input(pin)
    inputs["PIN again"].input(pin_again)
    next(b for b in app.button if b.label == "Register phone").click().run()


def texts_table(app: AppTest) -> dict[str, list[str]]:
    frame = next(d.value for d in app.dataframe if "Reply" in d.value.columns)
    return {column: list(frame[column]) for column in frame.columns}


def test_dispatch_sees_problem_texts_first_and_never_a_pin(
    small_day_app: SmallDay, engine: Engine
) -> None:
    texts_from_d1(engine, small_day_app, ["PU {P4} 1234", "PIKUP {P4} 1234"])

    app = open_page(Role.DISPATCHER)

    assert [t.value for t in app.title] == ["Driver texts"]
    table = texts_table(app)
    assert table["Outcome"] == ["Not understood", "Recorded"]
    assert table["Driver"] == ["D1", "D1"]
    assert table["Text"][1] == f"PU {small_day_app.codes['P4']} ****"
    assert "1234" not in str(table)
    assert any(
        "of the latest texts needs a look" in w.value
        or "of the latest texts need a look" in w.value
        for w in app.warning
    )


def test_the_phones_show_only_their_last_three_digits(
    small_day_app: SmallDay, engine: Engine
) -> None:
    texts_from_d1(engine, small_day_app, [])

    app = open_page(Role.OPS)

    phones = next(d.value for d in app.dataframe if "Phone" in d.value.columns)
    assert list(phones["Phone"]) == ["+*******567"]
    assert [b.label for b in app.button if "phone" in b.label] == []


def test_a_locked_phone_is_shown_and_dispatch_can_unlock_it(
    small_day_app: SmallDay, engine: Engine
) -> None:
    texts_from_d1(engine, small_day_app, ["PU {P4} 999" + str(n) for n in range(5)])

    app = open_page(Role.DISPATCHER)
    [locked] = [e.value for e in app.error]
    app = next(b for b in app.button if b.label == "Unlock D1's phone").click().run()

    assert locked.startswith(
        "**D1's phone +\\*\\*\\*\\*\\*\\*\\*567 is locked** until 04 Dec 13:20"
    )
    assert [s.value for s in app.success] == ["D1's phone is unlocked."]
    assert app.error == []


def test_two_different_pins_register_nothing_and_the_same_pin_twice_does(
    small_day_app: SmallDay, engine: Engine
) -> None:
    app = open_page(Role.DISPATCHER)

    fill(app, "2580", "2581")
    refused = [e.value for e in app.error]
    fill(app, "2580", "2580")

    assert refused == [
        "**The control room could not do that.** The two PINs differ; type the "
        "same PIN twice."
    ]
    assert [s.value for s in app.success] == [
        "+*******567 is registered to D1. Give the driver the PIN in person."
    ]
    with Session(engine) as session:
        [phone] = session.scalars(select(DriverPhone)).all()
        assert phone.registered_by == "dag"
