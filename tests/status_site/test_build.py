"""The built bundle: what it holds, what it never holds, and how it is written."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.orders.models import Parcel, Party
from controlroom.payments.models import Invoice, Payment
from controlroom.status_site.hashing import record_key
from tests.overview.small_day import NOW
from tests.status_site.conftest import (
    RESTRICTED_NOTE,
    SALT,
    StatusDay,
    build,
)


def built_files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def personal_and_payment_data(engine: Engine) -> tuple[set[str], set[str]]:
    """Every party's details and every invoice and payment detail in the database.

    Returns words to find anywhere, and numbers to find as whole numbers.
    """
    words: set[str] = set()
    numbers: set[str] = set()
    with Session(engine) as session:
        for party in session.scalars(select(Party)):
            words |= {party.name, party.phone, party.street}
            words.add(party.phone.removeprefix("+"))
            numbers.add(party.postcode)
        for parcel in session.scalars(select(Parcel)):
            numbers.add(str(parcel.price_sat))
        for invoice in session.scalars(select(Invoice)):
            numbers.add(str(invoice.amount_sat))
            words |= {v for v in (invoice.address, invoice.bolt11) if v}
            words |= {v for v in (invoice.payment_hash,) if v}
        for payment in session.scalars(select(Payment)):
            numbers.add(str(payment.amount_sat))
            words |= {v for v in (payment.txid, payment.payment_hash) if v}
    return words, numbers


def amount_spellings(number: str) -> list[str]:
    value = int(number)
    return [number, f"{value:,}", f"{value:,}".replace(",", " "), f"{value / 1e8:.8f}"]


def test_no_built_file_holds_personal_or_payment_data(
    engine: Engine, site: Path
) -> None:
    words, numbers = personal_and_payment_data(engine)
    assert {"Sigrid Sørensen", "+4791234567", "Storgata 88", "bc1qtestaddress0001"} <= (
        words
    )
    assert {"9008", "31337", "25000"} <= numbers

    files = built_files(site)
    texts = {name: content.decode("utf-8") for name, content in files.items()}

    found_words = [
        (name, word)
        for name, text in texts.items()
        for word in words
        if word.lower() in text.lower()
    ]
    found_numbers = [
        (name, spelling)
        for name, text in texts.items()
        for number in numbers
        for spelling in amount_spellings(number)
        if re.search(rf"(?<![0-9a-fA-F.,]){re.escape(spelling)}(?![0-9a-fA-F])", text)
    ]
    assert len(files) == 264
    assert found_words == []
    assert found_numbers == []


def test_no_built_file_holds_a_package_code_or_the_restricted_report(
    status_day: StatusDay, site: Path
) -> None:
    codes = list(status_day.codes.values())
    compact = [code.replace("-", "") for code in codes]

    texts = [content.decode("utf-8") for content in built_files(site).values()]

    assert not [c for c in codes + compact for text in texts if c in text]
    assert not [text for text in texts if RESTRICTED_NOTE in text]


def test_file_names_show_only_hash_prefixes(site: Path) -> None:
    names = sorted(built_files(site))

    groups = [n for n in names if n.startswith("p/")]
    others = [n for n in names if not n.startswith("p/")]

    assert groups == [f"p/{n:02x}.json" for n in range(256)]
    assert others == [
        "hosting/README.md",
        "hosting/nginx.conf",
        "hosting/torrc",
        "index.html",
        "robots.txt",
        "site.css",
        "site.js",
        "site.json",
    ]


def test_a_record_holds_status_day_hour_band_and_city_only(
    status_day: StatusDay, site: Path
) -> None:
    key = record_key(status_day.codes["TROMSO"], SALT)

    records = json.loads((site / f"p/{key[:2]}.json").read_text(encoding="utf-8"))

    assert records[key] == {
        "status": "picked_up",
        "words": "Picked up, on its way",
        "when": "Fri 4 Dec, 12:00–14:00 CET",
        "city": "Tromsø",
    }


def test_index_shows_services_the_public_incident_and_its_time(site: Path) -> None:
    page = (site / "index.html").read_text(encoding="utf-8")

    assert (
        'Generated <time datetime="2026-12-04T12:00:00Z">Fri 4 Dec 2026, 13:00 CET'
        in (page)
    )
    assert '<span class="name">Payments</span> <span class="state ' in page
    assert "Slower than usual" in page
    assert "Payments are slow" in page
    assert "Fri 4 Dec 2026, 12:25 CET</time> · Investigating — Card-free" in page
    assert "affects Payments" in page
    assert "eu-north" not in page
    assert "SEV" not in page  # the control room's word, not a customer's


def test_the_page_loads_nothing_from_another_origin(site: Path) -> None:
    page = (site / "index.html").read_text(encoding="utf-8")
    served = [
        (site / name).read_text(encoding="utf-8")
        for name in ("index.html", "site.js", "site.css")
    ]

    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'self\';'
        in page
    )
    assert "form-action 'none'" in page
    assert not [text for text in served if re.search(r"https?:|//[a-z]", text)]


def test_two_builds_of_the_same_data_and_clock_are_identical(
    engine: Engine, status_day: StatusDay, tmp_path: Path
) -> None:
    first = built_files(build(engine, tmp_path / "a").folder)
    second = built_files(build(engine, tmp_path / "b").folder)
    later = built_files(
        build(engine, tmp_path / "c", at=NOW + timedelta(hours=1)).folder
    )

    assert first == second
    assert sorted(n for n in first if first[n] != later[n]) == [
        "index.html",
        "site.json",
    ]


def test_a_rebuild_replaces_the_folder_whole_and_leaves_nothing_beside_it(
    engine: Engine, status_day: StatusDay, tmp_path: Path
) -> None:
    build(engine, tmp_path / "site")
    (tmp_path / "site" / "stray.txt").write_text("from an older build")

    report = build(engine, tmp_path / "site", at=NOW + timedelta(minutes=5))

    assert not (report.folder / "stray.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if "site" in p.name] == ["site"]
    assert (report.files, report.services, report.incidents, report.records) == (
        264,
        5,
        1,
        6,
    )


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_text("x"), "is a file, not a folder"),
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("mine")), "already holds"),
        (lambda p: p.symlink_to(p.parent), "is a symbolic link"),
    ],
    ids=["file", "foreign-folder", "symlink"],
)
def test_a_bad_out_path_is_refused_and_left_as_it_was(
    engine: Engine, status_day: StatusDay, tmp_path: Path, make: object, words: str
) -> None:
    from controlroom.errors import StatusSiteError

    out = tmp_path / "out"
    make(out)  # type: ignore[operator]

    with pytest.raises(StatusSiteError, match=words):
        build(engine, out)

    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
