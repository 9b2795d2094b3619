"""The frame's rules: screens by role, times, banner words, demo sign-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from controlroom.auth.models import Role
from controlroom.demo.parameters import SEEDED_EVENT
from controlroom.errors import AuthenticationError, ConfigurationError
from controlroom.health.models import ComponentKind, ComponentState
from controlroom.health.posture import ComponentStatus, derive_posture
from controlroom.journal import append_event
from controlroom.session_frame import (
    SCREENS,
    demo_autologin_user,
    local_time,
    promise_lines,
    screens_for,
    sign_in,
)
from tests.overview.small_day import PASSWORD, SmallDay


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            Role.MANAGEMENT,
            [
                "overview",
                "health",
                "dispatch",
                "payments",
                "wallet_watch",
                "incident_call",
                "broadcasts",
                "driver_texts",
                "status_site",
                "backups",
                "journal",
            ],
        ),
        (
            Role.DISPATCHER,
            ["overview", "health", "dispatch", "incident_call", "driver_texts"],
        ),
        (
            Role.OPS,
            [
                "overview",
                "health",
                "dispatch",
                "payments",
                "wallet_watch",
                "incident_call",
                "broadcasts",
                "driver_texts",
                "status_site",
                "backups",
                "journal",
            ],
        ),
        (Role.ANALYST, ["overview", "health"]),
    ],
)
def test_each_role_gets_its_screens(role: Role, expected: list[str]) -> None:
    sections = screens_for(role)

    assert [s.key for screens in sections.values() for s in screens] == expected


def test_every_screen_has_a_page_file() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert [s.path for s in SCREENS if not (root / s.path).is_file()] == []


def test_local_time_names_the_zone() -> None:
    winter = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)

    assert local_time(winter, "Europe/Oslo") == "2026-12-04 13:00 CET"
    assert local_time(summer, "Europe/Oslo", seconds=True) == "2026-07-04 14:00:00 CEST"
    assert local_time(None, "Europe/Oslo") == ""


def test_promise_lines_say_which_promise_needs_a_fallback() -> None:
    posture = derive_posture(
        [
            ComponentStatus(
                "app",
                "Driver app",
                ComponentKind.DRIVER_APP,
                ComponentState.MAJOR_OUTAGE,
            )
        ]
    )

    assert promise_lines(posture) == [
        "Pay: ✔ kept",
        "Order: ✔ kept",
        "Know: ⚠ kept by fallback",
    ]


def test_sign_in_refuses_a_wrong_password(
    small_day_with_users: SmallDay, engine: Engine
) -> None:
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        sign_in(engine, username="olga", password="not the password")

    assert sign_in(engine, username="olga", password=PASSWORD).role is Role.OPS


def test_demo_autologin_is_refused_outside_the_demo_world(
    small_day_with_users: SmallDay, engine: Engine
) -> None:
    with pytest.raises(ConfigurationError, match="not the seeded demo world"):
        demo_autologin_user(engine, "ops")


def test_demo_autologin_signs_in_the_roles_first_user_in_the_demo_world(
    small_day_with_users: SmallDay, engine: Engine
) -> None:
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        append_event(session, kind=SEEDED_EVENT, subject="demo:lc101", actor="t")

    user = demo_autologin_user(engine, "dispatcher")

    assert (user.username, user.role) == ("dag", Role.DISPATCHER)


def test_demo_autologin_names_the_roles_when_given_a_wrong_one(engine: Engine) -> None:
    with pytest.raises(ConfigurationError, match="must name a role"):
        demo_autologin_user(engine, "admin")


def test_a_page_refuses_a_role_that_may_not_see_it() -> None:
    from controlroom.errors import PermissionDenied
    from controlroom.session_frame import FRAME_KEY, Frame, SignedInUser, frame_of

    dag = SignedInUser("dag", "Dag", Role.DISPATCHER)
    state = {FRAME_KEY: Frame(settings=None, engine=None, user=dag)}  # type: ignore[arg-type]

    assert frame_of(state, screen="overview").user == dag
    with pytest.raises(PermissionDenied, match="may not open the journal screen"):
        frame_of(state, screen="journal")


def test_a_page_outside_the_frame_asks_to_sign_in() -> None:
    from controlroom.errors import SignInRequired
    from controlroom.session_frame import error_title, frame_of

    with pytest.raises(SignInRequired, match="sign in") as refused:
        frame_of({}, screen="overview")

    assert error_title(refused.value) == "Sign in first"
