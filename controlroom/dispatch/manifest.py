"""Driver manifests for when the driver app is down: SMS texts and a PDF.

A published plan reaches each driver as a few SMS texts and as printed A4
sheets. Nothing here touches the database: the caller builds the frozen
inputs and sends or prints what comes back.

Every SMS text is a single segment of the GSM 7-bit alphabet
(``controlroom.messaging.gsm``), so no text depends on another arriving
first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fpdf import FPDF, FontFace

from controlroom.dispatch.models import StopKind
from controlroom.errors import DispatchError
from controlroom.messaging.gsm import (
    SEGMENT_SEPTETS,
    gsm_equivalent,
    gsm_septets,
    replace_outside,
)

SMS_SEPTETS = SEGMENT_SEPTETS

_LEGEND = "\nP=pickup D=delivery T=transfer"

KIND_LETTER = {StopKind.PICKUP: "P", StopKind.DELIVERY: "D", StopKind.TRANSFER: "T"}


@dataclass(frozen=True)
class ManifestStop:
    """One stop as the driver reads it; times are timezone-aware UTC."""

    sequence: int
    kind: StopKind
    eta: datetime
    window_until: datetime
    code: str
    street: str
    postcode: str
    load: int
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("eta", "window_until"):
            if getattr(self, name).tzinfo is None:
                raise DispatchError(
                    f"Stop {self.sequence} ({self.code}) has a {name} without a "
                    "time zone; manifest times must be timezone-aware UTC."
                )


@dataclass(frozen=True)
class DriverManifest:
    """One driver's route in a published plan, ready to send or print."""

    plan_version: int
    callsign: str
    plate: str
    start: str
    end_depot: str
    stops: tuple[ManifestStop, ...]


def _shorten(text: str, septets: int) -> str:
    """Cut ``text`` to at most ``septets``, marking the cut with "..."."""
    if gsm_septets(text) <= septets:
        return text
    if septets < 3:
        return "..."[: max(0, septets)]
    kept, used = [], 0
    for char in text:
        used += gsm_septets(char)
        if used > septets - 3:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "..."


def _fair_caps(lengths: Sequence[int], room: int) -> list[int]:
    """Share ``room`` between fields, the shortest fields keeping all of theirs."""
    caps = [0] * len(lengths)
    remaining = room
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    for position, index in enumerate(order):
        share = remaining // (len(order) - position)
        caps[index] = min(lengths[index], share)
        remaining -= caps[index]
    return caps


def _stop_line(stop: ManifestStop, zone: ZoneInfo, limit: int) -> str:
    """One stop in at most ``limit`` septets; long free text is cut first."""
    head = gsm_equivalent(
        f"{stop.sequence} {stop.eta.astimezone(zone):%H:%M} "
        f"{KIND_LETTER[stop.kind]} {stop.code}"
    )
    fields = [gsm_equivalent(stop.street), gsm_equivalent(stop.postcode)]
    note = gsm_equivalent(stop.note)
    punctuation = len(" , ")
    if note:
        fields.append(note)
        punctuation += len(" ()")

    room = max(0, limit - gsm_septets(head) - punctuation)
    caps = _fair_caps([gsm_septets(field) for field in fields], room)
    street, postcode, *rest = (
        _shorten(field, cap) for field, cap in zip(fields, caps, strict=True)
    )
    line = f"{head} {street}, {postcode}" if postcode else f"{head} {street}"
    # Only a malformed code or sequence can still overflow here; cutting
    # the line keeps every text a single segment even then.
    return _shorten(f"{line} ({rest[0]})" if rest else line, limit)


def _sms_header(manifest: DriverManifest) -> str:
    who = (
        f"CryptoPack plan {manifest.plan_version} {manifest.callsign} {manifest.plate}"
    )
    count = len(manifest.stops)
    if count == 0:
        return gsm_equivalent(
            f"{who}: no stops in this plan, stay at or go back to {manifest.end_depot}"
        )
    stops = "1 stop" if count == 1 else f"{count} stops"
    return gsm_equivalent(
        f"{who}: {stops} from {manifest.start}, back to {manifest.end_depot}"
    )


def _pack(manifest: DriverManifest, zone: ZoneInfo, digits: int) -> list[str]:
    """Fill message bodies in route order, assuming ``digits``-digit numbering."""
    body_room = SMS_SEPTETS - len(f"({'9' * digits}/{'9' * digits}) ")
    tag = _shorten(
        gsm_equivalent(f"{manifest.callsign} plan {manifest.plan_version}"), 40
    )
    line_room = body_room - gsm_septets(tag) - 1

    bodies = [_shorten(_sms_header(manifest), body_room)]
    if manifest.stops and gsm_septets(bodies[0] + _LEGEND) <= body_room:
        bodies[0] += _LEGEND
    for stop in manifest.stops:
        line = _stop_line(stop, zone, line_room)
        if gsm_septets(bodies[-1]) + 1 + gsm_septets(line) > body_room:
            bodies.append(tag)
        bodies[-1] += "\n" + line
    return bodies


def sms_manifest(manifest: DriverManifest, *, zone: ZoneInfo) -> list[str]:
    """Split a driver's route into single-segment SMS texts, numbered "(2/5)".

    The first text names the plan, driver, van, stop count and end depot;
    each text after it repeats call sign and plan version, so any one of
    them makes sense on its own. Every stop line shows its sequence number,
    local time in ``zone``, P/D/T, package code, street and postcode, and is
    never split across texts. Characters outside the GSM alphabet are
    replaced (see :func:`gsm_equivalent`) and an over-long stop is cut with
    "...", so every text fits 160 septets.
    """
    digits = 1
    bodies = _pack(manifest, zone, digits)
    while len(str(len(bodies))) > digits:
        digits += 1
        bodies = _pack(manifest, zone, digits)

    total = len(bodies)
    return [f"({index}/{total}) {body}" for index, body in enumerate(bodies, 1)]


# The PDF uses the core Helvetica font, whose encoding in fpdf2 is Latin-1:
# it has æ ø å and the other Western European letters, so nothing needs
# embedding; anything else is spelled with a Latin-1 equivalent.
_PDF_SUBSTITUTES = {"€": "EUR"}
_COLUMNS = ("#", "Time", "Stop", "Package code", "Address", "Load", "Done", "Note")
_COLUMN_WIDTHS = (7, 17, 19, 33, 46, 11, 11, 42)
# Codes in a fixed-width face: they never wrap, and are read out symbol
# by symbol over the phone.
_CODE = FontFace(family="Courier", emphasis="BOLD", size_pt=10)
_TICK_BOX = FontFace(family="ZapfDingbats", size_pt=14)  # "o" is a box glyph
_SHRED_NOTICE = (
    "Holds customer addresses (personal data): keep it out of sight and "
    "shred it after the shift."
)


def _latin1(text: str) -> str:
    spelled = "".join(_PDF_SUBSTITUTES.get(char, char) for char in text)
    return replace_outside(spelled, lambda char: char <= "ÿ" and char.isprintable())


class _ManifestSheets(FPDF):
    """A4 sheets: one driver per run of pages, each page footed and numbered."""

    def __init__(self, zone: ZoneInfo, page_totals: Sequence[int] | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.zone = zone
        self.page_totals = page_totals
        self.first_pages: list[int] = []
        self.manifest: DriverManifest | None = None
        self.next_manifest: DriverManifest | None = None
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(auto=True, margin=22)

    def start_driver(self, manifest: DriverManifest) -> None:
        # add_page() draws the footer of the previous driver's last page
        # before the header of the new page, so the new driver takes over
        # in header() and the old footer still names the old driver.
        self.next_manifest = manifest
        self.add_page()

    def header(self) -> None:
        if self.next_manifest is not None:
            self.manifest, self.next_manifest = self.next_manifest, None
            self.first_pages.append(self.page_no())
            return

        # A dropped continuation sheet must still say whose route it is.
        if self.manifest is not None:
            self.set_font("Helvetica", "B", 11)
            self.cell(0, 7, _latin1(f"{_who(self.manifest)}  (continued)"))
            self.ln(10)

    def footer(self) -> None:
        if self.manifest is None:
            return
        driver = len(self.first_pages) - 1
        page = self.page_no() - self.first_pages[driver] + 1
        total = f" of {self.page_totals[driver]}" if self.page_totals else ""
        self.set_y(-18)
        self.set_font("Helvetica", "B", 9)
        self.cell(0, 5, _SHRED_NOTICE, new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        self.cell(0, 5, _latin1(f"{_who(self.manifest)}  -  page {page}{total}"))
        self.cell(0, 5, f"sheet {self.page_no()} of {{nb}}", align="R")


def _who(manifest: DriverManifest) -> str:
    return (
        f"{manifest.callsign} - {manifest.plate} - "
        f"CryptoPack plan {manifest.plan_version}"
    )


def _draw_heading(
    sheets: _ManifestSheets, manifest: DriverManifest, generated_at: datetime
) -> None:
    local = generated_at.astimezone(sheets.zone)
    sheets.set_font("Helvetica", "B", 26)
    sheets.cell(0, 12, _latin1(f"{manifest.callsign}   {manifest.plate}"))
    sheets.ln(13)
    sheets.set_font("Helvetica", "B", 15)
    sheets.cell(0, 8, f"CryptoPack route plan version {manifest.plan_version}")
    sheets.ln(10)

    sheets.set_font("Helvetica", "", 11)
    for label, value in (
        ("Start", manifest.start),
        ("Return to", manifest.end_depot),
        ("Stops", str(len(manifest.stops))),
        ("Generated", f"{local:%Y-%m-%d %H:%M} {local:%Z} ({sheets.zone.key})"),
    ):
        sheets.set_font("Helvetica", "B", 11)
        sheets.cell(26, 6, f"{label}:")
        sheets.set_font("Helvetica", "", 11)
        sheets.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    sheets.cell(
        0,
        6,
        f"Times are local ({sheets.zone.key}). Tick each stop when it is done.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    sheets.ln(3)


def _draw_stops(sheets: _ManifestSheets, manifest: DriverManifest) -> None:
    if not manifest.stops:
        sheets.set_font("Helvetica", "B", 14)
        sheets.multi_cell(
            0, 8, _latin1(f"No stops in this plan: stay at {manifest.end_depot}.")
        )
        return

    sheets.set_font("Helvetica", "", 10)
    with sheets.table(
        col_widths=_COLUMN_WIDTHS,
        width=sum(_COLUMN_WIDTHS),
        text_align="LEFT",
        line_height=5,
        headings_style=FontFace(emphasis="BOLD", fill_color=225),
        padding=1,
    ) as table:
        table.row(_COLUMNS)
        for stop in manifest.stops:
            eta = stop.eta.astimezone(sheets.zone)
            until = stop.window_until.astimezone(sheets.zone)
            row = table.row()
            row.cell(str(stop.sequence))
            # A transfer has no window of its own; its delivery has one.
            if stop.kind is StopKind.TRANSFER:
                row.cell(f"{eta:%H:%M}")
            else:
                row.cell(f"{eta:%H:%M}\nby {until:%H:%M}")
            row.cell(stop.kind.value.capitalize())
            row.cell(_latin1(stop.code), style=_CODE)
            row.cell(f"{_latin1(stop.street)}\n{_latin1(stop.postcode)}")
            row.cell(str(stop.load), align="RIGHT")
            row.cell("o", align="CENTER", style=_TICK_BOX)
            row.cell(_latin1(stop.note))


def _render(
    manifests: Sequence[DriverManifest],
    zone: ZoneInfo,
    generated_at: datetime,
    page_totals: Sequence[int] | None,
) -> _ManifestSheets:
    sheets = _ManifestSheets(zone, page_totals)
    sheets.set_title(f"CryptoPack driver manifests, plan {manifests[0].plan_version}")
    sheets.set_author("CryptoPack control room")
    sheets.set_creation_date(generated_at)
    for manifest in manifests:
        sheets.start_driver(manifest)
        _draw_heading(sheets, manifest, generated_at)
        _draw_stops(sheets, manifest)
    return sheets


def pdf_manifest(
    manifests: Sequence[DriverManifest], *, zone: ZoneInfo, generated_at: datetime
) -> bytes:
    """Print each driver's route on its own A4 pages and return the PDF.

    Every driver starts on a new page with a large heading (call sign, van,
    plan version, start, end depot, when it was generated); the stops follow
    as a table with a tick box per stop, headings repeated on each page.
    Every page names the driver, numbers its pages ("page 2 of 3") and says
    the sheet holds personal data and must be shredded after the shift.
    The same input gives the same bytes.

    Raises
    ------
    DispatchError
        If there are no routes, or ``generated_at`` has no time zone.
    """
    if not manifests:
        raise DispatchError(
            "There are no routes to print: publish a plan with at least one "
            "route first."
        )
    if generated_at.tzinfo is None:
        raise DispatchError(
            "The manifest's generated time has no time zone; pass an aware "
            "UTC datetime."
        )

    # The first run counts each driver's pages so the second can print
    # "page 2 of 3" per driver; the footer does not change the layout.
    counted = _render(manifests, zone, generated_at, None)
    after_last = [*counted.first_pages[1:], counted.pages_count + 1]
    page_totals = [
        after - first
        for first, after in zip(counted.first_pages, after_last, strict=True)
    ]
    sheets = _render(manifests, zone, generated_at, page_totals)
    return bytes(sheets.output())
