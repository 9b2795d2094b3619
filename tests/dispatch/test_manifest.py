"""Driver manifests when the app is down: SMS texts and printed sheets."""

from __future__ import annotations

import io
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from controlroom.dispatch.manifest import (
    DriverManifest,
    ManifestStop,
    pdf_manifest,
    sms_manifest,
)
from controlroom.dispatch.models import StopKind
from controlroom.errors import DispatchError
from controlroom.messaging.gsm import gsm_equivalent, gsm_septets
from controlroom.orders.codes import ALPHABET, CHECK_MODULUS, format_code, parse_code
from tests.conftest import DAY

OSLO = ZoneInfo("Europe/Oslo")
STREETS = ("Storgata", "Trondheimsveien", "Bjørnstjerne Bjørnsons gate", "Åsveien")
KINDS = (StopKind.PICKUP, StopKind.DELIVERY, StopKind.TRANSFER)
LEGEND = "P=pickup D=delivery T=transfer"
STOP_LINE = re.compile(r"^(\d+) \d\d:\d\d [PDT] (\S{14}) .+, \d{4}( \(.+\))?$")


def package_codes(count: int, seed: int) -> list[str]:
    """Valid package codes drawn from a seeded generator, not from secrets."""
    rng = random.Random(seed)
    codes: list[str] = []
    while len(codes) < count:
        number = rng.getrandbits(55)
        check = number % CHECK_MODULUS
        if check >= len(ALPHABET):
            continue
        symbols = [ALPHABET[(number >> shift) & 31] for shift in range(50, -1, -5)]
        codes.append(format_code("".join(symbols) + ALPHABET[check]))
    return codes


def route(count: int, *, seed: int = 7, callsign: str = "D03") -> DriverManifest:
    """A route of ``count`` stops seven minutes apart from 07:00 Oslo time."""
    rng = random.Random(seed)
    stops = tuple(
        ManifestStop(
            sequence=index,
            kind=KINDS[index % 3],
            eta=DAY + timedelta(minutes=7 * index),
            window_until=DAY + timedelta(minutes=7 * index + 90),
            code=code,
            street=f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
            postcode=f"{rng.randint(150, 1290):04d}",
            load=rng.randint(1, 4),
            note="collect from van CP 10007 (broke down)" if index % 3 == 2 else "",
        )
        for index, code in enumerate(package_codes(count, seed), start=1)
    )
    return DriverManifest(
        plan_version=4,
        callsign=callsign,
        plate=f"CP 100{callsign[1:]}",
        start="Alnabru depot",
        end_depot="Oslo sentrum depot",
        stops=stops,
    )


def one_stop(**changes: object) -> DriverManifest:
    """A one-stop route with the stop's fields changed as given."""
    manifest = route(1)
    stop = replace(manifest.stops[0], postcode="0155", **changes)
    return replace(manifest, stops=(stop,))


def pdf_pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_seeded_package_codes_are_valid() -> None:
    codes = package_codes(20, seed=1)

    assert [parse_code(code) for code in codes] == codes


@pytest.mark.parametrize("stops", [1, 3, 9, 40, 400])
def test_every_text_fits_one_sms_segment(stops: int) -> None:
    texts = sms_manifest(route(stops), zone=OSLO)

    assert max(gsm_septets(text) for text in texts) <= 160


def test_a_40_stop_route_splits_across_texts_without_splitting_a_stop() -> None:
    manifest = route(40)

    texts = sms_manifest(manifest, zone=OSLO)

    stop_lines = [
        line for text in texts for line in text.splitlines()[1:] if line != LEGEND
    ]
    matches = [STOP_LINE.match(line) for line in stop_lines]
    assert len(texts) > 5
    assert all(matches)
    assert [(int(m[1]), m[2]) for m in matches if m] == [
        (stop.sequence, stop.code) for stop in manifest.stops
    ]


def test_every_package_code_appears_in_exactly_one_text() -> None:
    manifest = route(40)

    texts = sms_manifest(manifest, zone=OSLO)

    assert all(sum(stop.code in text for text in texts) == 1 for stop in manifest.stops)


def test_each_text_is_numbered_and_names_driver_and_plan() -> None:
    texts = sms_manifest(route(40), zone=OSLO)

    total = len(texts)
    assert [text.split(" ", 1)[0] for text in texts] == [
        f"({index}/{total})" for index in range(1, total + 1)
    ]
    assert all(text.splitlines()[0].endswith("D03 plan 4") for text in texts[1:])


def test_first_text_names_plan_van_stop_count_and_end_depot() -> None:
    texts = sms_manifest(route(12), zone=OSLO)

    assert texts[0].splitlines()[0].split(" ", 1)[1] == (
        "CryptoPack plan 4 D03 CP 10003: 12 stops from Alnabru depot, "
        "back to Oslo sentrum depot"
    )


def test_times_are_local_to_the_zone_in_winter() -> None:
    manifest = one_stop(eta=datetime(2026, 12, 4, 6, 0, tzinfo=UTC))

    texts = sms_manifest(manifest, zone=OSLO)

    assert texts[-1].splitlines()[-1].startswith("1 07:00 D ")


def test_times_follow_summer_time() -> None:
    manifest = one_stop(eta=datetime(2026, 7, 1, 6, 0, tzinfo=UTC))

    texts = sms_manifest(manifest, zone=OSLO)

    assert texts[-1].splitlines()[-1].startswith("1 08:00 D ")


def test_typographic_characters_become_gsm_equivalents() -> None:
    manifest = one_stop(
        street="Kongens gate 5 – “bakgården”…", note="ring Kari’s bell — twice"
    )

    texts = sms_manifest(manifest, zone=OSLO)

    expected = 'Kongens gate 5 - "bakgården"..., 0155 (ring Kari\'s bell - twice)'
    assert texts[-1].splitlines()[-1].endswith(expected)


def test_norwegian_letters_stay_as_they_are() -> None:
    assert gsm_equivalent("Bjørnstjerne Bjørnsons gate, Ås, Æblegården") == (
        "Bjørnstjerne Bjørnsons gate, Ås, Æblegården"
    )


def test_accents_outside_gsm_are_dropped_and_unknown_characters_become_marks() -> None:
    assert gsm_equivalent("Café Łódź 📦 Málaga") == "Café ?odz ? Malaga"


def test_line_breaks_and_tabs_in_a_field_become_single_spaces() -> None:
    assert gsm_equivalent(" Storgata\n\t12 ") == "Storgata 12"


def test_extension_characters_count_two_septets() -> None:
    assert gsm_septets("€") == 2
    assert gsm_septets("[D03] ~{x}|^\\") == 21
    assert gsm_septets("Åsveien 3") == 9


def test_septet_count_names_the_first_character_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match=r"'ł' \(U\+0142\) at position 3"):
        gsm_septets("Bolłek")


def test_an_over_long_street_is_shortened_with_an_ellipsis() -> None:
    manifest = one_stop(street="Langgata " + "lang" * 200, note="")

    texts = sms_manifest(manifest, zone=OSLO)

    line = texts[-1].splitlines()[-1]
    assert max(gsm_septets(text) for text in texts) <= 160
    assert STOP_LINE.match(line)
    assert "langlang..., 0155" in line


def test_a_long_street_and_note_share_the_room() -> None:
    manifest = one_stop(street="Gate " + "g" * 300, note="Note " + "n" * 300)

    texts = sms_manifest(manifest, zone=OSLO)

    line = texts[-1].splitlines()[-1]
    assert gsm_septets(texts[-1]) <= 160
    assert line.count("...") == 2
    assert abs(line.count("g") - line.count("n")) <= 2


def test_a_stop_full_of_extension_characters_still_fits() -> None:
    manifest = one_stop(street="€[]" * 100, note="{}" * 100)

    texts = sms_manifest(manifest, zone=OSLO)

    assert max(gsm_septets(text) for text in texts) <= 160


def test_an_empty_route_gives_one_text_saying_to_stay_at_the_depot() -> None:
    manifest = replace(route(1), stops=())

    texts = sms_manifest(manifest, zone=OSLO)

    assert texts == [
        "(1/1) CryptoPack plan 4 D03 CP 10003: no stops in this plan, stay at or "
        "go back to Oslo sentrum depot"
    ]


def test_a_stop_without_a_time_zone_is_refused() -> None:
    with pytest.raises(DispatchError, match="without a time zone"):
        one_stop(eta=datetime(2026, 12, 4, 7, 0))


def test_the_pdf_is_a_pdf() -> None:
    pdf = pdf_manifest([route(3)], zone=OSLO, generated_at=DAY)

    assert pdf.startswith(b"%PDF-")


def test_each_drivers_codes_and_callsign_are_on_their_own_pages() -> None:
    first, second = route(5, callsign="D03"), route(4, seed=8, callsign="D04")

    pages = pdf_pages(pdf_manifest([first, second], zone=OSLO, generated_at=DAY))

    assert len(pages) == 2
    assert "D03" in pages[0]
    assert "D04" in pages[1]
    assert all(stop.code in pages[0] for stop in first.stops)
    assert all(stop.code in pages[1] for stop in second.stops)
    assert not any(stop.code in pages[0] for stop in second.stops)


def test_a_60_stop_route_spans_several_numbered_pages() -> None:
    manifest = route(60)

    pages = pdf_pages(pdf_manifest([manifest], zone=OSLO, generated_at=DAY))

    total = len(pages)
    assert total > 1
    assert all(
        f"page {number} of {total}" in page for number, page in enumerate(pages, 1)
    )
    assert all("D03" in page for page in pages)
    assert all(stop.code in "".join(pages) for stop in manifest.stops)


def test_page_numbers_restart_for_each_driver() -> None:
    drivers = [route(60, callsign="D03"), route(2, seed=9, callsign="D04")]

    pages = pdf_pages(pdf_manifest(drivers, zone=OSLO, generated_at=DAY))

    assert "D04 - CP 10004 - CryptoPack plan 4  -  page 1 of 1" in pages[-1]
    assert f"sheet {len(pages)} of {len(pages)}" in pages[-1]


def test_every_page_says_to_shred_it_after_the_shift() -> None:
    pages = pdf_pages(pdf_manifest([route(60)], zone=OSLO, generated_at=DAY))

    assert all("shred it after the shift" in page for page in pages)


def test_heading_shows_van_start_end_and_generated_local_time() -> None:
    pages = pdf_pages(pdf_manifest([route(3)], zone=OSLO, generated_at=DAY))

    assert "D03   CP 10003" in pages[0]
    assert "CryptoPack route plan version 4" in pages[0]
    assert "Start: Alnabru depot" in pages[0]
    assert "Return to: Oslo sentrum depot" in pages[0]
    assert "Generated: 2026-12-04 07:00 CET (Europe/Oslo)" in pages[0]


def test_stop_rows_show_kind_time_window_load_and_note() -> None:
    manifest = one_stop(kind=StopKind.DELIVERY, load=3, note="ring twice")

    pages = pdf_pages(pdf_manifest([manifest], zone=OSLO, generated_at=DAY))

    assert "07:07" in pages[0]
    assert "by 08:37" in pages[0]
    assert "Delivery" in pages[0]
    assert "ring twice" in pages[0]


def test_a_transfer_row_has_a_time_but_no_deadline() -> None:
    manifest = one_stop(
        kind=StopKind.TRANSFER, load=3, note="collect from van CP 10007"
    )

    pages = pdf_pages(pdf_manifest([manifest], zone=OSLO, generated_at=DAY))

    assert "07:07" in pages[0]
    assert "by 08:37" not in pages[0]
    assert "Transfer" in pages[0]
    assert "collect from van CP 10007" in pages[0]


def test_norwegian_letters_print_and_others_are_replaced() -> None:
    manifest = one_stop(street="Bjørnstjerne Bjørnsons gate – “B”", note="tip 5 € ł")

    pages = pdf_pages(pdf_manifest([manifest], zone=OSLO, generated_at=DAY))

    assert 'Bjørnstjerne Bjørnsons gate - "B"' in pages[0]
    assert "tip 5 EUR ?" in pages[0]


def test_a_driver_without_stops_gets_a_sheet_saying_so() -> None:
    manifest = replace(route(1), stops=())

    pages = pdf_pages(pdf_manifest([manifest], zone=OSLO, generated_at=DAY))

    assert "No stops in this plan: stay at Oslo sentrum depot." in pages[0]


def test_the_same_plan_prints_the_same_bytes() -> None:
    drivers = [route(20), route(5, seed=3, callsign="D05")]

    first = pdf_manifest(drivers, zone=OSLO, generated_at=DAY)
    second = pdf_manifest(drivers, zone=OSLO, generated_at=DAY)

    assert first == second


def test_printing_no_routes_is_refused() -> None:
    with pytest.raises(DispatchError, match="no routes to print"):
        pdf_manifest([], zone=OSLO, generated_at=DAY)


def test_printing_with_a_naive_generated_time_is_refused() -> None:
    with pytest.raises(DispatchError, match="no time zone"):
        pdf_manifest([route(1)], zone=OSLO, generated_at=datetime(2026, 12, 4))


def test_a_malformed_code_cannot_push_a_text_past_one_segment() -> None:
    manifest = one_stop(code="X" * 300)

    texts = sms_manifest(manifest, zone=OSLO)

    assert max(gsm_septets(text) for text in texts) <= 160
