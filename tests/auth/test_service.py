"""Users, roles and sign-in."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role, User
from controlroom.auth.service import authenticate, create_user
from controlroom.errors import AuthenticationError, ControlRoomError
from controlroom.journal import JournalEvent
from tests.conftest import DAY
from tests.orders.world import head_seq, kinds_after

PASSWORD = "correct horse battery"


@pytest.fixture
def anne(session: Session) -> User:
    """A dispatcher who can sign in."""
    return create_user(
        session,
        username="anne",
        display_name="Anne Dispatcher",
        role=Role.DISPATCHER,
        password=PASSWORD,
        at=DAY,
        actor="admin",
    )


def test_a_password_is_stored_as_an_argon2_hash(session: Session, anne: User) -> None:
    assert anne.password_hash.startswith("$argon2id$")
    assert PASSWORD not in anne.password_hash


def test_creating_a_user_journals_no_password(session: Session) -> None:
    before = head_seq(session)

    create_user(
        session,
        username="ops.kari",
        display_name="Kari",
        role=Role.OPS,
        password=PASSWORD,
        at=DAY,
        actor="admin",
    )

    assert kinds_after(session, before) == ["UserCreated"]
    payloads = session.scalars(select(JournalEvent.payload)).all()
    assert not [p for p in payloads if PASSWORD in p or "argon2" in p]


def test_the_right_password_signs_in(session: Session, anne: User) -> None:
    assert authenticate(session, username=" anne ", password=PASSWORD) is anne


@pytest.mark.parametrize(
    ("username", "password"),
    [("anne", "wrong password!"), ("nobody", PASSWORD), ("nobody", "x")],
    ids=["wrong-password", "unknown-user", "both-wrong"],
)
def test_a_wrong_user_and_a_wrong_password_read_the_same(
    session: Session, anne: User, username: str, password: str
) -> None:
    with pytest.raises(AuthenticationError) as refused:
        authenticate(session, username=username, password=password)

    assert str(refused.value) == "Wrong user name or password."


def test_a_deactivated_user_cannot_sign_in(session: Session, anne: User) -> None:
    anne.active = False

    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        authenticate(session, username="anne", password=PASSWORD)


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("Anne", PASSWORD, "lower-case letters"),
        ("a", PASSWORD, "2-64 characters"),
        ("1anne", PASSWORD, "starting with a letter"),
        ("bob", "short", "at least 10 characters"),
        ("anne", PASSWORD, "'anne' is taken"),
    ],
)
def test_a_user_that_cannot_be_created_is_refused(
    session: Session, anne: User, username: str, password: str, message: str
) -> None:
    before = head_seq(session)

    with pytest.raises(ControlRoomError, match=message):
        create_user(
            session,
            username=username,
            display_name="Someone",
            role=Role.ANALYST,
            password=password,
            at=DAY,
            actor="admin",
        )

    assert kinds_after(session, before) == []
