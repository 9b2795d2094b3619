"""The operating clock: real time, or the simulator's accelerated day.

When the live simulator plays a day it keeps the simulated time in one row;
every screen and rule that asks "what time is it" reads it through
:func:`operating_now`, so lateness and due times match the simulated world.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer
from sqlalchemy.orm import Mapped, Session, mapped_column

from controlroom.db import Base, UTCDateTime, utcnow

CLOCK_ROW = 1


class SimulatedClock(Base):
    """The simulator's current time and speed; absent outside a simulation."""

    __tablename__ = "simulated_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    now: Mapped[datetime] = mapped_column(UTCDateTime)
    day_start: Mapped[datetime] = mapped_column(UTCDateTime)
    speed: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def operating_now(session: Session) -> datetime:
    """Return the simulated time if a simulation runs, else real UTC time."""
    clock = session.get(SimulatedClock, CLOCK_ROW)
    return clock.now if clock is not None else utcnow()


def set_simulated_time(
    session: Session, *, now: datetime, day_start: datetime, speed: float
) -> None:
    """Move the simulated clock (the simulator's tick; not a journal event)."""
    clock = session.get(SimulatedClock, CLOCK_ROW)
    if clock is None:
        session.add(
            SimulatedClock(
                id=CLOCK_ROW,
                now=now,
                day_start=day_start,
                speed=speed,
                updated_at=utcnow(),
            )
        )
        return
    clock.now = now
    clock.day_start = day_start
    clock.speed = speed
    clock.updated_at = utcnow()
