"""Users, roles and sign-in, given a session. Passwords are hashed with Argon2id."""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role, User
from controlroom.errors import AuthenticationError, ControlRoomError
from controlroom.journal import append_event

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10

# Checked against when the user does not exist, so a wrong user name takes
# as long as a wrong password and does not reveal which one was wrong.
_DUMMY_HASH = _hasher.hash("not a real password")


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    at: datetime,
    actor: str,
) -> User:
    """Create a user with a hashed password and journal ``UserCreated``."""
    if not _USERNAME.match(username):
        raise ControlRoomError(
            "A user name is 2-64 characters: lower-case letters, digits, '.', "
            "'_' or '-', starting with a letter."
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ControlRoomError(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
        )
    if session.scalar(select(User.id).where(User.username == username)):
        raise ControlRoomError(f"The user name {username!r} is taken.")

    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=_hasher.hash(password),
        active=True,
        created_at=at,
    )
    session.add(user)
    session.flush()
    append_event(
        session,
        kind="UserCreated",
        subject=f"user:{username}",
        actor=actor,
        occurred_at=at,
        payload={"role": role, "display_name": display_name},
    )
    return user


def authenticate(session: Session, *, username: str, password: str) -> User:
    """Return the active user with these credentials, or raise."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    stored = user.password_hash if user is not None and user.active else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationError("Wrong user name or password.") from None
    if user is None or not user.active:
        raise AuthenticationError("Wrong user name or password.")
    return user
