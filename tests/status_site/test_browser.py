"""The built site in a real headless Chromium, every other origin blocked.

The issue's check: a parcel is found by its code typed in lower case with
hyphens, and no request leaves 127.0.0.1. The page's own SHA-256 and code
reading are checked against Python's on the same inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.orm import Session

from controlroom.db import create_db_engine
from controlroom.errors import PackageCodeError
from controlroom.orders.codes import normalise_code
from controlroom.schema import upgrade_database
from controlroom.status_site.build import build_status_site
from tests.overview.small_day import NOW, build_small_day
from tests.status_site.conftest import OPTIONS, SALT, add_status_day
from tests.status_site.devtools import DevTools, Page, find_chromium, headless_chromium

REQUIRE_BROWSER = os.environ.get("CONTROLROOM_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """One headless Chromium for the module."""
    binary = find_chromium()
    if binary is None:
        if REQUIRE_BROWSER:
            pytest.fail(
                "Chromium is required (CONTROLROOM_REQUIRE_BROWSER=1) but was not "
                "found; install the chromium package (./run test does as root)."
            )
        pytest.skip("Chromium is not installed: the browser test needs it")
    with headless_chromium(binary, tmp_path_factory.mktemp("chromium")) as tools:
        yield tools


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the folder and remembers each path asked for, logging nothing."""

    paths: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        self.paths.append(self.path)


@pytest.fixture(scope="module")
def served_site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """The status day built and served on 127.0.0.1: (base URL, codes, paths)."""
    folder = tmp_path_factory.mktemp("served")
    engine = create_db_engine(f"sqlite:///{folder / 'controlroom.sqlite3'}")
    upgrade_database(engine)
    codes = {
        **build_small_day(engine, users=False).codes,
        **add_status_day(engine).codes,
    }
    with Session(engine) as session, session.begin():
        build_status_site(session, out=folder / "site", options=OPTIONS, at=NOW)
    engine.dispose()

    paths: list[str] = []
    handler = type("Handler", (QuietHandler,), {"paths": paths})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(folder / "site"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", codes, paths
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(
    chromium: DevTools, served_site: tuple[str, dict[str, str], list[str]]
) -> Iterator[Page]:
    """A tab that may reach the local server only; its clock 10 min past the build."""
    base, _, _ = served_site
    tab = Page(chromium, base)
    tab.fix_clock(int((NOW + timedelta(minutes=10)).timestamp() * 1000))
    yield tab
    tab.close()


def test_a_code_typed_in_lower_case_with_hyphens_shows_status_and_city(
    page: Page, served_site: tuple[str, dict[str, str], list[str]]
) -> None:
    base, codes, paths = served_site
    code = codes["TROMSO"]

    page.open(f"{base}/index.html")
    page.type_text("#code", code.lower())
    page.press_enter()
    shown = page.wait_for(
        "(function () { var r = document.getElementById('lookup-result');"
        " return r.className.indexOf('found') >= 0 ? r.innerText : ''; })()"
    )

    assert f"{code}: Picked up, on its way" in shown
    assert "Where: Tromsø" in shown
    assert "Last update: Fri 4 Dec, 12:00–14:00 CET" in shown
    assert page.requested
    assert [u for u in page.requested if urlsplit(u).hostname != "127.0.0.1"] == []
    assert not [p for p in paths if code.replace("-", "") in p.upper() or code in p]
    assert [p for p in paths if p.startswith("/p/")] == [
        f"/p/{hashlib.sha256(f'{SALT}:{normalise_code(code)}'.encode()).hexdigest()[:2]}.json"
    ]


def test_a_mistyped_code_says_typo_without_fetching_anything(
    page: Page, served_site: tuple[str, dict[str, str], list[str]]
) -> None:
    base, codes, _ = served_site
    code = codes["P4"]
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")

    page.open(f"{base}/index.html")
    before = len(page.requested)
    page.type_text("#code", wrong)
    page.press_enter()
    shown = page.wait_for("document.getElementById('lookup-result').innerText")

    assert "typo" in shown
    assert len(page.requested) == before


def test_the_page_policy_refuses_a_request_to_another_origin(
    page: Page, served_site: tuple[str, dict[str, str], list[str]]
) -> None:
    base, _, _ = served_site
    page.open(f"{base}/index.html")

    outcome = page.evaluate(
        "fetch('http://status.invalid/x').then("
        "function () { return 'reached'; }, function () { return 'refused'; })"
    )

    assert outcome == "refused"
    assert [u for u in page.requested if urlsplit(u).hostname != "127.0.0.1"] == []
    assert page.evaluate("document.getElementById('stale').hidden") is True


def test_the_browser_blocks_a_navigation_to_another_origin(
    page: Page, served_site: tuple[str, dict[str, str], list[str]]
) -> None:
    # .invalid never resolves (RFC 2606): were the block broken, nothing
    # would be reached either.
    page.call("Page.navigate", {"url": "http://status.invalid/"})

    assert page.blocked == ["http://status.invalid/"]


def test_the_stale_banner_shows_past_the_limit(
    chromium: DevTools, served_site: tuple[str, dict[str, str], list[str]]
) -> None:
    base, _, _ = served_site
    tab = Page(chromium, base)
    tab.fix_clock(int((NOW + timedelta(minutes=45)).timestamp() * 1000))

    tab.open(f"{base}/index.html")
    banner = tab.wait_for(
        "!document.getElementById('stale').hidden"
        " && document.getElementById('stale').innerText"
    )
    tab.close()

    assert banner.startswith("This page was generated 45 minutes ago")


HASH_INPUTS = [
    "",
    "abc",
    "a" * 55,
    "a" * 56,
    "a" * 64,
    "b" * 1000,
    f"{SALT}:4KHKY80ZDS7E",
    "Tromsø € 😀 \u00e9\u0301",
]


def test_the_page_hashes_exactly_as_python_hashlib(
    page: Page, served_site: tuple[str, dict[str, str], list[str]]
) -> None:
    base, _, _ = served_site
    page.open(f"{base}/index.html")

    hashed = page.evaluate(f"{json.dumps(HASH_INPUTS)}.map(CryptoPackStatus.sha256Hex)")

    assert hashed == [
        hashlib.sha256(t.encode("utf-8")).hexdigest() for t in HASH_INPUTS
    ]


CODE_INPUTS = [
    "4khk-y80z-ds7e",
    " 4KHK Y8OZ DS7E ",
    "4KHK.Y80Z.DS7E",
    "iiii-iiii-iiii",
    "4KHK-Y80Z-DS7F",
    "4KHK-Y80Z-DS7",
    "4KHK-Y80Z-DS7U",
    "4khk\u2013y80z\u2014ds7e",  # en and em dashes from a phone's keyboard
    "4KHK\u00a0Y80Z\u200bDS7E",  # a no-break space and a zero-width space
    "",
]


def python_reading(raw: str) -> dict[str, str]:
    try:
        return {"code": normalise_code(raw)}
    except PackageCodeError as exc:
        return {"message": str(exc)}


def test_the_page_reads_codes_exactly_as_python_does(
    page: Page, served_site: tuple[str, dict[str, str], list[str]]
) -> None:
    base, _, _ = served_site
    page.open(f"{base}/index.html")

    read = page.evaluate(
        f"{json.dumps(CODE_INPUTS)}.map(function (c) {{"
        " var r = CryptoPackStatus.normaliseCode(c);"
        " return r.code ? {code: r.code} : {message: r.message}; })"
    )

    assert read == [python_reading(raw) for raw in CODE_INPUTS]
