"""An outbox with queued notices, and gateways that stand in for real ones."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.broadcasts.models import Message
from controlroom.broadcasts.service import NoticeKind, queue_parcel_notice
from controlroom.messaging.receipts import Receipt, parse_receipt
from tests.broadcasts.conftest import BroadcastDay
from tests.overview.small_day import NOW


def queue_notices(day: BroadcastDay, name: str = "P3") -> list[int]:
    """Queue the delivery notice of parcel ``name``: two SMS; their ids."""
    with Session(day.engine) as session, session.begin():
        parcel = day.parcel(session, name)
        queued = queue_parcel_notice(
            session, parcel=parcel, kind=NoticeKind.DELIVERED, at=NOW, actor="t"
        )
        return [message.id for message in queued]


def messages(engine: Engine) -> list[Message]:
    """Every message, by id, detached for reading after the session ends."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return list(session.scalars(select(Message).order_by(Message.id)))


def receipt_text(decimal_id: str, stat: str) -> bytes:
    """An Appendix B receipt naming ``decimal_id`` in its text, no TLV."""
    return (
        f"id:{decimal_id} sub:001 dlvrd:001 submit date:2612041200 "
        f"done date:2612041201 stat:{stat} err:000 text:CryptoPack"
    ).encode("ascii")


@dataclass
class ScriptedGateway:
    """Hands out the ids it is given, in turn; receipts come from the test."""

    ids: list[list[str]]
    sent: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[Receipt] = field(default_factory=list)

    def send(self, phone: str, text: str) -> list[str]:
        self.sent.append((phone, text))
        return self.ids.pop(0)

    def receipts(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[Receipt]:
        found, self.waiting = self.waiting, []
        return found

    def deliver(self, decimal_id: str, stat: str = "DELIVRD") -> None:
        """Have a receipt arrive for the next ``receipts`` call."""
        self.waiting.append(parse_receipt(receipt_text(decimal_id, stat), {}))


class OutboxCrashed(BaseException):
    """The process died: not an error our code would catch."""


@dataclass
class CrashingGateway:
    """Accepts the text, then the outbox dies before it can commit."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, phone: str, text: str) -> list[str]:
        self.sent.append((phone, text))
        raise OutboxCrashed

    def receipts(
        self, *, wait_seconds: float = 0.0, at_least: int = 0
    ) -> list[Receipt]:
        return []
