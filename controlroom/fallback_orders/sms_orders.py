"""Ordering by SMS, the last resort: a text in, a spooled order and a reply out.

Nothing here needs the order database: the order goes to the spool, the
payment address comes from the spool's watch-only wallet, and the reply
goes straight back through the SMS gateway. The order reaches the primary
later, by merge back (:mod:`controlroom.fallback_orders.merge`).

An SMSC may deliver one text more than once, and a customer with no
answer yet sends it again: the same order from the same phone within
:data:`REPEAT_WINDOW` is answered with the order already spooled.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from controlroom.errors import FallbackOrderError, MessagingError
from controlroom.fallback_orders.chain import SpoolRecord
from controlroom.fallback_orders.fallback_order import Contact, FallbackOrder, PayTo
from controlroom.fallback_orders.order_texts import (
    HelpAsked,
    OrderText,
    OrderTextNotUnderstood,
    help_reply,
    parse_order_text,
)
from controlroom.fallback_orders.spool import Spool
from controlroom.fallback_orders.spool_wallet import SpoolWallet
from controlroom.fallback_orders.terms import (
    PAY_WITHIN,
    SIZES,
    btc_amount,
    delivery_window,
    pickup_window,
)
from controlroom.messaging.gateway import SmsGateway
from controlroom.messaging.inbound import InboundText
from controlroom.orders.codes import new_package_code
from controlroom.orders.models import OrderChannel

logger = logging.getLogger(__name__)

REPEAT_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class OrderReply:
    """What a customer's text led to: the reply, and the order if one."""

    phone: str
    reply: str
    record: SpoolRecord | None = None
    new: bool = False


def answer_order_text(
    spool: Spool, *, wallet: SpoolWallet, phone: str, text: str, at: datetime
) -> OrderReply:
    """Spool the order a customer texted and return the reply to send.

    Help and texts that are no order are answered and nothing is stored.
    """
    try:
        wanted = parse_order_text(text)
    except OrderTextNotUnderstood as exc:
        return OrderReply(phone, str(exc))
    if isinstance(wanted, HelpAsked):
        return OrderReply(phone, help_reply())

    def compose(records: Sequence[SpoolRecord]) -> dict[str, object] | SpoolRecord:
        repeat = _recent_repeat(records, phone=phone, wanted=wanted, at=at)
        if repeat is not None:
            return repeat
        return _new_order(wallet, records, phone=phone, wanted=wanted, at=at)

    accepted = spool.accept_with(
        key=f"sms-{secrets.token_hex(16)}",
        channel=OrderChannel.SMS.value,
        received_at=at,
        compose=compose,
    )
    order = FallbackOrder.from_json(accepted.record.order)
    logger.info("sms order spooled seq=%s new=%s", accepted.record.seq, accepted.new)
    return OrderReply(phone, order_reply(order), accepted.record, accepted.new)


def order_reply(order: FallbackOrder) -> str:
    """The reply that confirms an order: code, places, amount, address."""
    pay = ""
    if order.pay_to is not None:
        minutes = int(PAY_WITHIN.total_seconds() // 60)
        pay = (
            f" Pay {btc_amount(order.pay_to.amount_sat)} BTC "
            f"({order.pay_to.amount_sat} sat) to {order.pay_to.address} within "
            f"{minutes} min."
        )
    return (
        f"CryptoPack order {order.code} accepted: size {order.size} from "
        f"{order.sender.postcode} to {order.recipient.postcode}.{pay} We call "
        "you to agree the pickup. Keep the code to track the parcel."
    )


def _new_order(
    wallet: SpoolWallet,
    records: Sequence[SpoolRecord],
    *,
    phone: str,
    wanted: OrderText,
    at: datetime,
) -> dict[str, object]:
    terms = SIZES[wanted.size]
    index = wallet.next_index(records)
    codes = {str(record.order.get("code")) for record in records}
    code = new_package_code()
    while code in codes:  # 55 random bits: a clash is all but impossible
        code = new_package_code()
    order = FallbackOrder(
        code=code,
        size=wanted.size.value,
        load=terms.load,
        price_sat=terms.price_sat,
        sender=Contact(postcode=wanted.pickup_postcode, phone=phone),
        recipient=Contact(
            postcode=wanted.delivery_postcode, phone=wanted.recipient_phone or ""
        ),
        pickup_window=pickup_window(at),
        delivery_window=delivery_window(at),
        pay_to=PayTo(
            address=wallet.address(index),
            amount_sat=terms.price_sat,
            wallet=wallet.first_address,
            index=index,
            network=wallet.network.value,
        ),
    )
    return {**order.as_json(), "text": wanted.canonical}


def _recent_repeat(
    records: Sequence[SpoolRecord], *, phone: str, wanted: OrderText, at: datetime
) -> SpoolRecord | None:
    for record in reversed(records):
        if at - record.received_at > REPEAT_WINDOW:
            return None
        sender = record.order.get("sender")
        if (
            record.channel == OrderChannel.SMS.value
            and isinstance(sender, dict)
            and sender.get("phone") == phone
            and record.order.get("text") == wanted.canonical
        ):
            return record
    return None


@dataclass
class TextRound:
    """What one round of order texts did: answered, and kept to try again."""

    answered: list[OrderReply] = field(default_factory=list)
    failed: list[InboundText] = field(default_factory=list)


def answer_order_texts(
    spool: Spool,
    gateway: SmsGateway,
    texts: Sequence[InboundText],
    *,
    wallet: SpoolWallet,
) -> TextRound:
    """Answer each customer's text: spool its order, then send the reply.

    A text whose order cannot be spooled gets no reply and is kept to try
    again: "accepted" is said only of an order on disk. A reply the gateway
    fails to send is logged; the customer who texts again is answered with
    the same order.
    """
    result = TextRound()
    for text in texts:
        try:
            answer = answer_order_text(
                spool,
                wallet=wallet,
                phone=text.phone,
                text=text.text,
                at=text.received_at,
            )
        except FallbackOrderError:
            logger.exception("sms order not spooled; kept to try again")
            result.failed.append(text)
            continue
        try:
            gateway.send(text.phone, answer.reply)
        except MessagingError as exc:
            logger.warning("sms order reply not sent error=%s", exc)
        result.answered.append(answer)
    return result
