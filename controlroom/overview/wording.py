"""The words the live table uses for stored states, read by a person at a glance.

The database keeps machine labels (``picked_up``, ``paid_late``); a screen
says "Picked up" and "Settled (paid late)". Invoice states keep BTCPay
Server's names, which merchants already know.
"""

from __future__ import annotations

from controlroom.orders.models import OrderChannel, ParcelStatus
from controlroom.payments.models import InvoiceException, InvoiceStatus, PaymentMethod

PARCEL_STATUS_WORDS: dict[str, str] = {
    ParcelStatus.ORDERED: "Ordered",
    ParcelStatus.PICKED_UP: "Picked up",
    ParcelStatus.DELIVERED: "Delivered",
    ParcelStatus.CANCELLED: "Cancelled",
}
INVOICE_STATUS_WORDS: dict[str, str] = {
    InvoiceStatus.NEW: "New",
    InvoiceStatus.PROCESSING: "Processing",
    InvoiceStatus.SETTLED: "Settled",
    InvoiceStatus.EXPIRED: "Expired",
    InvoiceStatus.INVALID: "Invalid",
}
INVOICE_EXCEPTION_WORDS: dict[str, str] = {
    InvoiceException.PAID_PARTIAL: "underpaid",
    InvoiceException.PAID_OVER: "overpaid",
    InvoiceException.PAID_LATE: "paid late",
    InvoiceException.MARKED: "marked by hand",
}
METHOD_WORDS: dict[str, str] = {
    PaymentMethod.ONCHAIN: "On-chain",
    PaymentMethod.LIGHTNING: "Lightning",
}
CHANNEL_WORDS: dict[str, str] = {
    OrderChannel.WEB_SHOP: "Web shop",
    OrderChannel.STATIC_PAGE: "Static page",
    OrderChannel.ONION_MIRROR: "Onion mirror",
    OrderChannel.SMS: "SMS",
}
NO_INVOICE = "No invoice"


def _words(value: str, table: dict[str, str]) -> str:
    # An unknown label still reads as words rather than failing the screen.
    return table.get(value) or value.replace("_", " ").capitalize()


def parcel_status_words(status: ParcelStatus | str) -> str:
    """``picked_up`` as "Picked up"."""
    return _words(str(status), PARCEL_STATUS_WORDS)


def payment_words(status: InvoiceStatus | str | None, exception: str | None) -> str:
    """An invoice's state and exception, e.g. "Settled (paid late)"."""
    if status is None:
        return NO_INVOICE
    words = _words(str(status), INVOICE_STATUS_WORDS)
    if exception:
        words += f" ({_words(exception, INVOICE_EXCEPTION_WORDS).lower()})"
    return words


def method_words(method: PaymentMethod | str | None) -> str:
    """``onchain`` as "On-chain"; no invoice, no method."""
    if method is None:
        return ""
    return _words(str(method), METHOD_WORDS)


def channel_words(channel: OrderChannel | str) -> str:
    """``web_shop`` as "Web shop"."""
    return _words(str(channel), CHANNEL_WORDS)


# Bidirectional controls can make a note read backwards (Unicode TR9 §2).
_BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F]
)
_MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()<>#+-.!|~:$=&\"'^%")


def literal_markdown(text: str) -> str:
    """Return text a person typed so that Markdown shows it exactly as typed.

    Notes are free text: without this, a note could carry a link, a remote
    image fetched by every viewer's browser, or Streamlit's colour and LaTeX
    directives. Every ASCII punctuation mark is backslash-escaped, which
    CommonMark defines to render as the mark itself.
    """
    cleaned = text.translate(_BIDI_CONTROLS)
    return "".join(
        f"\\{char}" if char in _MARKDOWN_PUNCTUATION else char for char in cleaned
    )
