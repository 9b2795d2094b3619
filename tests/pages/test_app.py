"""The whole app, headless: sign-in, pages by role, errors, the banner."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.health.models import ComponentState
from controlroom.journal import JournalEvent
from controlroom.orders.models import Parcel, ParcelStatus
from controlroom.overview.queries import late_condition
from controlroom.payments.models import Invoice, InvoiceStatus
from controlroom.session_frame import SCREENS
from tests.overview.small_day import COMPONENTS, NOW, USERS, SmallDay
from tests.pages.conftest import APP, new_app, sign_in


def banner(app: AppTest) -> str:
    return next(m.value for m in app.markdown if "Operating time" in m.value)


def test_a_wrong_password_shows_a_clear_error(small_day_app: SmallDay) -> None:
    app = sign_in(Role.OPS, password="guessing wrong")

    assert not app.exception
    assert [e.value for e in app.error] == [
        "**Sign-in failed.** Wrong user name or password."
    ]
    assert [t.value for t in app.title] == ["CryptoPack control room"]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_its_pages_and_each_renders(
    small_day_app: SmallDay, role: Role
) -> None:
    app = sign_in(role)

    opened, refused = [], []
    for screen in SCREENS:
        try:
            app.switch_page(screen.path).run()
        except ValueError:
            refused.append(screen.key)
            continue
        assert not app.exception, screen.key
        assert [t.value for t in app.title] == [screen.title]
        opened.append(screen.key)

    assert opened == [s.key for s in SCREENS if role in s.roles]
    assert refused == [s.key for s in SCREENS if role not in s.roles]


@pytest.mark.parametrize("role", list(Role))
def test_the_overview_kpis_match_the_database_and_read_alike_for_every_role(
    small_day_app: SmallDay, engine: Engine, role: Role
) -> None:
    app = sign_in(role)

    shown = {metric.label: int(metric.value) for metric in app.metric}
    with Session(engine) as session:
        parcels = session.scalars(
            select(Parcel).where(Parcel.ordered_at >= NOW.replace(hour=0))
        ).all()
        paid = session.scalar(
            select(func.count(func.distinct(Invoice.parcel_id))).where(
                Invoice.status == InvoiceStatus.SETTLED,
                Invoice.parcel_id.in_([p.id for p in parcels]),
            )
        )
        late = session.scalar(
            select(func.count())
            .select_from(Parcel)
            .where(Parcel.id.in_([p.id for p in parcels]), late_condition(NOW))
        )
    assert shown == {
        "Orders today": len(parcels),
        "Paid": paid,
        "Picked up": sum(p.picked_up_at is not None for p in parcels),
        "Delivered": sum(p.status is ParcelStatus.DELIVERED for p in parcels),
        "Late": late,
        "Overdue": sum(
            p.status in (ParcelStatus.ORDERED, ParcelStatus.PICKED_UP)
            and p.deliver_until < NOW
            for p in parcels
        ),
    }
    assert shown["Orders today"] == 4
    # A plain count, never a delta arrow that comes and goes with the count.
    assert [m.delta for m in app.metric] == [""] * 6


def test_setting_a_component_down_changes_the_banner_and_names_the_user(
    small_day_app: SmallDay, engine: Engine
) -> None:
    app = sign_in(Role.OPS)
    assert "NORMAL" in banner(app)
    app.switch_page("pages/health.py").run()

    keys = [key for key, *_ in COMPONENTS]
    app.selectbox[0].select_index(keys.index("driver_app"))
    app.selectbox[1].select_index(
        list(ComponentState).index(ComponentState.MAJOR_OUTAGE)
    )
    app.text_input[0].input("app backend unreachable")
    app.button[0].click().run()

    assert not app.exception
    assert "FALLBACK ACTIVE" in banner(app)
    assert "Driver SMS reporting" in banner(app)
    assert "Know: ⚠ kept by fallback" in banner(app)
    with Session(engine) as session:
        event = session.scalars(
            select(JournalEvent).order_by(JournalEvent.seq.desc()).limit(1)
        ).one()
    assert (event.kind, event.subject, event.actor) == (
        "ComponentStateChanged",
        "component:driver_app",
        "olga",
    )


def test_a_dispatcher_can_look_at_health_but_not_change_it(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.DISPATCHER)

    app.switch_page("pages/health.py").run()

    assert not app.exception
    assert len(app.selectbox) == 0
    assert "ops and management" in app.info[0].value


def test_verifying_the_journal_shows_its_head(small_day_app: SmallDay) -> None:
    app = sign_in(Role.OPS)
    app.switch_page("pages/journal.py").run()

    verify = next(b for b in app.button if b.label == "Verify the journal")
    verify.click().run()

    assert not app.exception
    assert app.success[0].value.startswith("Journal intact:")


def test_signing_out_returns_to_the_sign_in_form(small_day_app: SmallDay) -> None:
    app = sign_in(Role.MANAGEMENT)

    next(b for b in app.button if b.label == "Sign out").click().run()

    assert [t.value for t in app.title] == ["CryptoPack control room"]
    assert app.text_input(key="login_username").value == ""


def _garbage_file(folder: Path) -> str:
    path = folder / "garbage.sqlite3"
    path.write_bytes(b"this is not a database, only some garbage bytes " * 200)
    return f"sqlite:///{path}"


def _unmigrated_file(folder: Path) -> str:
    path = folder / "empty.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("make_url", "heading", "advice"),
    [
        (
            lambda folder: f"sqlite:///{folder / 'missing.sqlite3'}",
            "The database cannot be reached",
            "does not exist",
        ),
        (_garbage_file, "The database file is damaged", "Restore it from a backup"),
        (_unmigrated_file, "The database needs its migrations", "controlroom db"),
        (
            lambda folder: "not a url at all",
            "The database cannot be reached",
            "is not a valid URL",
        ),
        (
            lambda folder: "postgresql+psycopg://control@127.0.0.1:9/room",
            "The database cannot be reached",
            "CONTROLROOM_DATABASE_URL",
        ),
    ],
    ids=["missing-file", "garbage-file", "not-migrated", "bad-url", "no-server"],
)
def test_a_database_problem_is_explained_not_a_traceback(
    tmp_path: Path,
    point_app_at: Callable[[str], None],
    make_url: Callable[[Path], str],
    heading: str,
    advice: str,
) -> None:
    point_app_at(make_url(tmp_path))

    app = new_app()

    assert not app.exception
    assert len(app.error) == 1
    assert app.error[0].value.startswith(f"**{heading}.**")
    assert advice in app.error[0].value
    assert len(app.text_input) == 0


def test_demo_autologin_is_refused_outside_the_demo_world(
    small_day_app: SmallDay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROLROOM_DEMO_AUTOLOGIN", "ops")

    app = new_app()

    assert not app.exception
    assert "not the seeded demo world" in app.error[0].value


def test_a_page_opened_without_the_frame_asks_to_sign_in(
    small_day_app: SmallDay,
) -> None:
    page = APP.parent / "pages" / "journal.py"

    app = AppTest.from_file(str(page), default_timeout=30).run()

    assert not app.exception
    assert "sign in" in app.error[0].value
    assert len(app.dataframe) == 0


def test_a_dispatcher_declares_the_driver_app_down_on_the_dispatch_screen(
    small_day_app: SmallDay, engine: Engine
) -> None:
    app = sign_in(Role.DISPATCHER)
    app.switch_page("pages/dispatch.py").run()

    app.text_input(key="app_note").input("backend unreachable")
    button = next(b for b in app.button if b.label == "Declare driver app down")
    button.click().run()

    assert not app.exception
    assert "Declared: Driver app down (backend unreachable)" in app.success[0].value
    assert "FALLBACK ACTIVE" in banner(app)
    with Session(engine) as session:
        event = session.scalars(
            select(JournalEvent).where(JournalEvent.kind == "DegradationDeclared")
        ).one()
    assert event.actor == USERS[Role.DISPATCHER]


def test_ops_see_the_dispatch_screen_without_its_controls(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.OPS)

    app.switch_page("pages/dispatch.py").run()

    assert not app.exception
    assert not [b for b in app.button if b.label.startswith("Declare")]
    assert "dispatchers and management change it" in app.info[0].value
