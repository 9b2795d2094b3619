"""Control-room users and their roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from controlroom.db import Base, UTCDateTime
from controlroom.orders.models import enum_column


class Role(StrEnum):
    MANAGEMENT = "management"
    DISPATCHER = "dispatcher"
    OPS = "ops"
    ANALYST = "analyst"


class User(Base):
    """A person who signs in to the control room; the password is hashed."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
