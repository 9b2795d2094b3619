"""The static order page: how to order and pay, nothing personal, nothing remote."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controlroom.errors import ConfigurationError, FallbackOrderError
from controlroom.fallback_orders.order_page import build_order_page, e164_number

AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
NUMBER = "+47 4000 0123"


def built(folder: Path) -> dict[str, str]:
    build_order_page(folder, sms_number=NUMBER, zone="Europe/Oslo", at=AT)
    return {
        str(path.relative_to(folder)): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_page_says_how_to_order_and_pay_and_when_it_was_made(
    tmp_path: Path,
) -> None:
    page = built(tmp_path / "page")["index.html"]

    assert NUMBER in page
    assert "ORDER pickup-postcode delivery-postcode size(S/M/L)" in page
    assert "ORDER 0155 0364 M" in page
    for price in ("0.00024000 BTC", "0.00028000 BTC", "0.00036000 BTC"):
        assert price in page
    assert "fresh address of its own" in page
    assert "Never pay to an address that did not come in our reply" in page
    assert "watch-only" in page
    assert 'datetime="2026-12-05T09:30:00Z"' in page
    assert "Sat 5 Dec 2026, 10:30 CET" in page


def test_the_bundle_has_hosting_files_for_a_static_host_and_an_onion_service(
    tmp_path: Path,
) -> None:
    files = built(tmp_path / "page")

    assert sorted(files) == [
        "hosting/README.md",
        "hosting/nginx.conf",
        "hosting/torrc",
        "index.html",
        "order.css",
        "site.json",
    ]
    assert "HiddenServicePort 80 127.0.0.1:8081" in files["hosting/torrc"]
    assert "listen 127.0.0.1:8081;" in files["hosting/nginx.conf"]


def test_the_page_loads_nothing_from_another_origin(tmp_path: Path) -> None:
    files = built(tmp_path / "page")
    public = {name: text for name, text in files.items() if "/" not in name}

    for name, text in public.items():
        assert "http:" not in text and "https:" not in text, name
        assert "//" not in re.sub(r"<!doctype html>", "", text), name
        assert "@import" not in text and "url(" not in text, name
    page = public["index.html"]
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == ["order.css"]
    assert "<script" not in page and "<form" not in page
    assert "default-src 'none'; style-src 'self'" in page


def test_the_page_holds_no_personal_data(tmp_path: Path) -> None:
    files = built(tmp_path / "page")
    text = "\n".join(files.values())

    phones = re.findall(r"\+[0-9][0-9 ]{6,}[0-9]|\b[49][0-9]{7}\b", text)
    assert set(phones) == {NUMBER}
    assert "@" not in files["index.html"]
    assert not re.search(r"\b(bc1|bcrt1|tb1)[0-9a-z]{20,}", text)


def test_a_rebuild_replaces_the_page_and_a_foreign_folder_is_refused(
    tmp_path: Path,
) -> None:
    built(tmp_path / "page")
    build_order_page(
        tmp_path / "page",
        sms_number="+47 4000 0999",
        zone="Europe/Oslo",
        at=AT,
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")

    assert "+47 4000 0999" in (tmp_path / "page" / "index.html").read_text()
    with pytest.raises(FallbackOrderError, match="already holds other files"):
        build_order_page(
            tmp_path / "other", sms_number=NUMBER, zone="Europe/Oslo", at=AT
        )
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"


def test_a_page_without_an_sms_number_is_not_built(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CONTROLROOM_FALLBACK_SMS_NUMBER"):
        build_order_page(tmp_path / "page", sms_number=None, zone="UTC", at=AT)

    assert not (tmp_path / "page").exists()


@pytest.mark.parametrize(
    ("text", "number"),
    [("+47 4000 0123", "+47 4000 0123"), (" +47-4000--0123 ", "+47 4000 0123")],
)
def test_an_sms_number_with_spaces_or_dashes_is_shown_one_way(
    text: str, number: str
) -> None:
    assert e164_number(text) == number


@pytest.mark.parametrize(
    "text", ["<script>", "4740000123", "+47 400", "+1234 5678 9012 3456", "+47 x0"]
)
def test_a_page_with_a_number_that_is_no_phone_number_is_not_built(
    tmp_path: Path, text: str
) -> None:
    with pytest.raises(ConfigurationError, match="not a phone number"):
        build_order_page(tmp_path / "page", sms_number=text, zone="UTC", at=AT)

    assert not (tmp_path / "page").exists()
