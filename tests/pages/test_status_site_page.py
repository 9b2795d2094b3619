"""The Status site screen, headless: build now, freshness, preview, lookup."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.clock import set_simulated_time
from tests.overview.small_day import NOW, SmallDay
from tests.pages.conftest import sign_in

PAGE = "pages/status_site.py"


def open_page(role: Role) -> AppTest:
    app = sign_in(role)
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def build_now(app: AppTest) -> AppTest:
    next(b for b in app.button if b.label == "Build now").click().run()
    assert not app.exception
    return app


def test_ops_build_the_site_and_see_it_fresh_with_its_preview(
    small_day_app: SmallDay,
) -> None:
    app = open_page(Role.OPS)
    [unbuilt] = [w.value for w in app.warning]
    assert unbuilt.startswith("The status site has not been built yet.")

    build_now(app)

    [built, fresh] = [s.value for s in app.success]
    assert built.startswith("Status site built at Fri 4 Dec 2026, 13:00 CET: ")
    assert "5 parcel record(s), 0 incident(s)" in built
    assert fresh.startswith("Built 2026-12-04 13:00 CET, 0 minutes ago")
    assert app.get("iframe")


def test_a_code_is_looked_up_in_the_built_files_as_the_public_would(
    small_day_app: SmallDay,
) -> None:
    app = build_now(open_page(Role.MANAGEMENT))

    app.text_input(key="public_code").input(small_day_app.codes["P3"].lower())
    app.button(key="FormSubmitter:public_lookup-Look up").click().run()

    found = [s.value for s in app.success][-1]
    assert found.startswith(f"**{small_day_app.codes['P3']}: Picked up, on its way**")
    assert "Oslo (read `p/" in found


def test_a_typo_in_the_lookup_says_typo(small_day_app: SmallDay) -> None:
    app = build_now(open_page(Role.OPS))
    code = small_day_app.codes["P4"]
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")

    app.text_input(key="public_code").input(wrong)
    app.button(key="FormSubmitter:public_lookup-Look up").click().run()

    assert "typo" in app.error[0].value


def test_a_build_older_than_the_limit_is_shown_stale(
    small_day_app: SmallDay, engine: Engine
) -> None:
    build_now(open_page(Role.OPS))
    with Session(engine) as session, session.begin():
        set_simulated_time(
            session,
            now=NOW + timedelta(minutes=45),
            day_start=NOW - timedelta(hours=7),
            speed=60.0,
        )

    app = open_page(Role.OPS)

    [stale] = [w.value for w in app.warning]
    assert stale.startswith("**Stale:** built 2026-12-04 13:00 CET, 45 minutes ago")
