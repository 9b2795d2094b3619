"""What a person reads on the screens: codes only for those who may see them,
words instead of labels, a banner that never looks live when it is not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToJson
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.clock import SimulatedClock
from controlroom.db import utcnow
from tests.overview.small_day import SmallDay
from tests.pages.conftest import new_app, sign_in


def _elements(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _elements(child)


def rendered_text(app: AppTest) -> str:
    """Everything the app sent to the browser, tables and charts included."""
    parts = []
    for element in _elements(app._tree):
        proto = getattr(element, "proto", None)
        if proto is not None and not isinstance(proto, (str, bytes)):
            parts.append(MessageToJson(proto))
    for frame in app.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(parts)


def banner_text(app: AppTest) -> str:
    banners = [m.value for m in app.markdown if "· " in m.value and "Pay:" in m.value]
    assert len(banners) == 1
    return banners[0]


def test_an_analyst_sees_no_package_code_on_the_overview(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.ANALYST)

    shown = rendered_text(app)

    assert not app.exception
    leaked = [code for code in small_day_app.codes.values() if code in shown]
    assert leaked == []
    assert "Package code" not in [t.label for t in app.text_input]
    table = app.dataframe[0].value
    assert table.columns[0] == "Parcel (pseudonym)"
    assert all(name.startswith("pcl-") for name in table["Parcel (pseudonym)"])


def test_a_dispatcher_sees_package_codes_and_can_search_them(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.DISPATCHER)

    shown = rendered_text(app)
    app.text_input(key="f_code").input(small_day_app.codes["P2"]).run()

    assert all(code in shown for code in small_day_app.codes.values())
    assert list(app.dataframe[0].value["Package code"]) == [small_day_app.codes["P2"]]


def test_the_parcel_table_says_states_in_words(small_day_app: SmallDay) -> None:
    app = sign_in(Role.OPS)

    table = app.dataframe[0].value.set_index("Package code")

    p3 = table.loc[small_day_app.codes["P3"]]
    assert (p3["Status"], p3["Late"], p3["Payment"], p3["Method"]) == (
        "Picked up",
        "⚠ Late",
        "Processing",
        "On-chain",
    )
    assert table.loc[small_day_app.codes["P2"], "Method"] == "Lightning"
    assert table.loc[small_day_app.codes["P4"], "Channel"] == "Web shop"
    # Today's times without a date; yesterday's parcel says its date.
    assert table.loc[small_day_app.codes["P1"], "Delivered"] == "10:00"
    assert table.loc[small_day_app.codes["P0"], "Delivered"] == "03 Dec 13:00"


def test_the_overview_banner_tells_the_time_the_screen_was_read(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.DISPATCHER)

    banner = banner_text(app)
    refreshed = next(c.value for c in app.caption if "refreshed" in c.value)

    assert "Operating time 2026-12-04 13:00:00 CET (simulated day)" in banner
    assert "refreshed 2026-12-04 13:00:00 CET" in refreshed
    assert "Simulator stopped" not in banner


@pytest.mark.parametrize("screen", ["pages/overview.py", "pages/health.py"])
def test_a_simulated_day_whose_simulator_stopped_says_so(
    small_day_app: SmallDay, engine: Engine, screen: str
) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(SimulatedClock).values(updated_at=utcnow() - timedelta(hours=1))
        )

    app = sign_in(Role.MANAGEMENT)
    app.switch_page(screen).run()

    banner = banner_text(app)
    assert not app.exception
    assert "Simulator stopped — the simulated day is frozen at 13:00." in banner
    assert "Run ./run demo --keep to carry on" in banner
    assert "Operating time" not in banner


def test_a_signed_out_deep_link_gets_the_sign_in_form_and_then_its_screen(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.DISPATCHER)
    app.switch_page("pages/health.py").run()
    next(b for b in app.button if b.label == "Sign out").click().run()

    # Signed out at /systems: the sign-in form answers, not "Page not found".
    assert [t.value for t in app.title] == ["CryptoPack control room"]
    app.text_input(key="login_username").input("dag")
    app.text_input(key="login_password").input("correct horse battery")
    app.button[0].click().run()

    assert not app.exception
    assert [t.value for t in app.title] == ["System health"]


def test_a_wrong_setting_is_named_under_one_heading(
    point_app_at: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    point_app_at(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("CONTROLROOM_TIMEZONE", "Mars/Base")

    app = new_app()

    assert [e.value for e in app.error] == [
        "**The configuration is not valid.** CONTROLROOM_TIMEZONE: unknown time "
        "zone 'Mars/Base'; use an IANA name such as Europe/Oslo or UTC"
    ]
