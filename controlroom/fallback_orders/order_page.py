"""The static order page: how to order and pay while the web shop is down.

Built from the configuration alone -- the SMS number, the grammar, the
sizes and prices -- never from the order database, so it can be rebuilt
and published when the database is the thing that is down. It holds no
personal data and no Bitcoin address (each order is answered with one of
its own). The page has no script and no form; its Content-Security-Policy
lets it load its own style sheet and nothing else, so a browser refuses
any other request even if a later edit added one by mistake.

The bundle carries ``hosting/`` files for a static host and an onion
service, as the status site does (:mod:`controlroom.status_site.build`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from importlib import resources
from pathlib import Path

from controlroom.errors import ConfigurationError, FallbackOrderError
from controlroom.fallback_orders.order_texts import EXAMPLE, GRAMMAR
from controlroom.fallback_orders.sms_orders import REPEAT_WINDOW
from controlroom.fallback_orders.terms import PAY_WITHIN, SIZES, btc_amount
from controlroom.static_folder import replace_folder
from controlroom.status_site.records import local_minute
from controlroom.status_site.render import utc_stamp

logger = logging.getLogger(__name__)

PAGE_FORMAT = "cryptopack-order-page/1"
PAGE_FILE = "site.json"
HOSTING_FILES = ("README.md", "nginx.conf", "torrc")
CSP = (
    "default-src 'none'; style-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
TITLE = "Order a CryptoPack delivery while our web shop is down"


@dataclass(frozen=True)
class OrderPage:
    """What the page says: where to text, and when it was generated."""

    sms_number: str
    generated_at: datetime
    zone: str


def render_order_page(page: OrderPage) -> str:
    """Return the page's HTML."""
    stamp = utc_stamp(page.generated_at)
    number = escape(page.sms_number)
    minutes = int(PAY_WITHIN.total_seconds() // 60)
    repeat_minutes = int(REPEAT_WINDOW.total_seconds() // 60)
    rows = [
        f"<tr><td>{terms.size.value}</td><td>{escape(terms.words)}</td>"
        f'<td class="amount">{btc_amount(terms.price_sat)} BTC</td>'
        f'<td class="amount">{terms.price_sat:,} sat</td></tr>'
        for terms in SIZES.values()
    ]
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{TITLE}</title>",
        '<link rel="stylesheet" href="order.css">',
        "</head>",
        f'<body data-generated="{stamp}">',
        "<header>",
        f"<h1>{TITLE}</h1>",
        f'<p class="generated">Generated <time datetime="{stamp}">'
        f"{escape(local_minute(page.generated_at, page.zone))}</time>.</p>",
        "</header>",
        '<section id="sms">',
        "<h2>Order by text message</h2>",
        f'<p>Send a text to <span class="number">{number}</span>:</p>',
        f'<code class="grammar">{escape(GRAMMAR)}</code>',
        f"<p>For example <kbd>{escape(EXAMPLE)}</kbd> sends a medium parcel "
        "from postcode 0155 to postcode 0364. Add the recipient's mobile "
        "number at the end and we tell them when it is picked up and "
        "delivered. Send <kbd>HELP</kbd> for this list by text.</p>",
        "<p>We answer within minutes with your <strong>package code</strong>, "
        "the amount, and a Bitcoin address for your order. Then we call you "
        "to agree the pickup address and time.</p>",
        f"<p>Sent the same text twice within {repeat_minutes} "
        "minutes? It is one order, and you get the same answer again.</p>",
        "</section>",
        '<section id="prices">',
        "<h2>Sizes and prices</h2>",
        "<table><thead><tr><th>Size</th><th>What fits</th><th>Price</th>"
        "<th></th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
        "</section>",
        '<section id="paying">',
        "<h2>Paying</h2>",
        "<ul>",
        "<li>Every order gets a <strong>fresh address of its own</strong>, "
        "sent only in our reply to your text. Pay exactly the amount in the "
        f"reply, on-chain, within {minutes} minutes.</li>",
        "<li>Our fallback wallet is <strong>watch-only</strong>: the systems "
        "that answer you hold no key that could spend your payment.</li>",
        "<li>While our shop is down two of our people check each payment by "
        "hand, so a parcel is picked up once your payment is seen. Lightning "
        "is not available for these orders.</li>",
        "</ul>",
        '<p class="warning"><strong>Never pay to an address that did not '
        "come in our reply to your own text.</strong> This page shows no "
        "address; we never send one you did not ask for, and we never ask "
        "for your seed words, keys or passwords.</p>",
        "</section>",
        '<section id="after">',
        "<h2>When our shop is back</h2>",
        "<p>Your order moves into our normal systems with the same package "
        "code. Track it on our status page with that code.</p>",
        "</section>",
        "<footer><p>This page is plain files: it sets no cookies, runs no "
        "script, loads nothing from other sites and collects nothing.</p>"
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def page_files(page: OrderPage) -> dict[str, bytes]:
    """Return every file of the bundle by its path inside the folder."""
    manifest = {"format": PAGE_FORMAT, "generated_at": utc_stamp(page.generated_at)}
    files = {
        "index.html": render_order_page(page).encode("utf-8"),
        "order.css": _asset("order.css"),
        PAGE_FILE: (json.dumps(manifest, indent=2) + "\n").encode("utf-8"),
    }
    for name in HOSTING_FILES:
        files[f"hosting/{name}"] = _asset("hosting", name)
    return dict(sorted(files.items()))


def _asset(*parts: str) -> bytes:
    return (
        resources.files("controlroom.fallback_orders")
        .joinpath("assets", *parts)
        .read_bytes()
    )


@dataclass(frozen=True)
class PageBuild:
    """What one build wrote."""

    folder: Path
    generated_at: datetime
    files: int


def build_order_page(
    out: Path, *, sms_number: str | None, zone: str, at: datetime
) -> PageBuild:
    """Write the order page to ``out``, replacing an earlier build in one step."""
    if not sms_number or not sms_number.strip():
        raise ConfigurationError(
            "Set CONTROLROOM_FALLBACK_SMS_NUMBER to the number customers text "
            "orders to; the order page is useless without it.",
            setting="fallback_sms_number",
        )
    number = e164_number(sms_number)
    folder = _check_out_folder(out)
    files = page_files(OrderPage(number, at, zone))
    _write(files, folder)
    logger.info("order page written folder=%s files=%d", folder, len(files))
    return PageBuild(folder, at, len(files))


def e164_number(text: str) -> str:
    """Return ``text`` as an E.164 number: ``+`` and 8 to 15 digits.

    Digits may be grouped by spaces or dashes; the groups are kept, for
    people to read, each set apart by one space: ``+47 4000-0123`` becomes
    ``+47 4000 0123``.

    Raises
    ------
    ConfigurationError
        The text is not such a number.
    """
    number = " ".join(re.split(r"[ -]+", text.strip()))
    digits = number.removeprefix("+").replace(" ", "")
    # ITU-T E.164 caps a number at 15 digits, country code included; 8 is
    # the shortest a country code and subscriber number come to in practice.
    if not re.fullmatch(r"\+[0-9]+( [0-9]+)*", number) or not 8 <= len(digits) <= 15:
        raise ConfigurationError(
            f"CONTROLROOM_FALLBACK_SMS_NUMBER is {text!r}, not a phone number "
            "in international form: write + and the country code, then the "
            "number, 8 to 15 digits in all (spaces and dashes allowed), e.g. "
            "+47 4000 0123.",
            setting="fallback_sms_number",
        )
    return number


def _check_out_folder(out: Path) -> Path:
    folder = out.expanduser().absolute()
    problem = None
    if folder.is_symlink():
        problem = "is a symbolic link; give the folder it points to"
    elif folder.exists() and not folder.is_dir():
        problem = "is a file, not a folder"
    elif folder.parent == folder or folder == Path.home():
        problem = "cannot hold the page: a build replaces the whole folder"
    elif folder.is_dir() and any(folder.iterdir()) and not _is_page(folder):
        problem = "already holds other files; a build replaces the whole folder"
    if problem is not None:
        raise FallbackOrderError(
            f"{folder} {problem}. Choose a new or empty folder, e.g. ./order-page."
        )
    return folder


def _is_page(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / PAGE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == PAGE_FORMAT


def _write(files: dict[str, bytes], folder: Path) -> None:
    replace_folder(
        files,
        folder,
        cannot_stage=lambda exc: FallbackOrderError(
            f"Cannot write next to {folder} ({exc.strerror}); choose a folder "
            "you can write to."
        ),
    )
