"""Driver SMS tables: registered dedicated phones and the texts they sent.

The dedicated phone's number is kept here, not on the driver's ``Party``:
it is the company's handset in the van, handed from driver to driver, not
the driver's own contact number, and each hand-over is a registration of
its own (who registered it, when it was revoked). It is still personal data
while a driver holds it, so it is treated as ``parties`` is: the status
site and the analysts' exports never read this table, and the journal and
the screens show only its last three digits.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlroom.db import Base, UTCDateTime
from controlroom.dispatch.models import Driver
from controlroom.orders.models import enum_column


class TextOutcome(StrEnum):
    """What became of one inbound text."""

    APPLIED = "applied"  # pickup, delivery or delay recorded
    NOTICE_FAILED = "notice_failed"  # recorded, customers not notified
    HELP_ON_CALL = "help_on_call"  # a call-in item on the open incident
    HELP_FOR_DISPATCH = "help_for_dispatch"  # no incident: dispatch must look
    COMMAND_LIST = "command_list"  # a bare HELP, answered with the commands
    REFUSED = "refused"  # understood, but not allowed; nothing changed
    NOT_UNDERSTOOD = "not_understood"
    WRONG_PIN = "wrong_pin"
    LOCKED = "locked"
    UNKNOWN_PHONE = "unknown_phone"

    @property
    def is_problem(self) -> bool:
        """Whether dispatch should look at this text."""
        return self not in (
            TextOutcome.APPLIED,
            TextOutcome.HELP_ON_CALL,
            TextOutcome.COMMAND_LIST,
        )


class DriverPhone(Base):
    """A dedicated phone registered to a driver, with a hashed PIN.

    ``failed_pins`` counts wrong PINs in a row; the fifth locks the phone
    until ``locked_until``. A revoked registration is kept for the record.
    """

    __tablename__ = "driver_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id"))
    phone: Mapped[str] = mapped_column(String(16))
    pin_hash: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    failed_pins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    driver: Mapped[Driver] = relationship()

    __table_args__ = (Index("ix_driver_phones_phone", "phone"),)

    @property
    def subject(self) -> str:
        """The journal subject of this registration."""
        return f"driver-phone:{self.id}"


class DriverText(Base):
    """One text that came in on the driver SMS line, and the reply it got.

    ``text`` is stored with every PIN masked; ``sender`` is the number with
    all but its last three digits masked.
    """

    __tablename__ = "driver_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sender: Mapped[str] = mapped_column(String(20))
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("driver_phones.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id"))
    command: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[TextOutcome] = mapped_column(enum_column(TextOutcome))
    text: Mapped[str] = mapped_column(String(500))
    reply: Mapped[str] = mapped_column(String(500))

    driver: Mapped[Driver | None] = relationship()

    __table_args__ = (Index("ix_driver_texts_received_at", "received_at"),)

    @property
    def subject(self) -> str:
        """The journal subject of this text."""
        return f"driver-text:{self.id}"
