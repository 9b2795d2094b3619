"""The Streamlit app, headless, pointed at a test database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from tests.overview.small_day import PASSWORD, USERS, SmallDay, build_small_day

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
TIMEOUT = 30


@pytest.fixture(autouse=True)
def navigation_already_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every AppTest run behave like a server past its first request.

    Until a process has run ``st.navigation`` once, Streamlit treats a
    ``pages/`` folder as old-style pages and runs the requested file without
    the entry point. A server leaves that state on its first request; AppTest
    re-enters it on every run (it resets ``uses_pages_directory``), which
    would skip the frame. Pages refuse to run without the frame either way.
    """
    original = PagesManager.__init__

    def init(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def point_app_at(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[str], None]:
    """Aim the app at a database URL, with no stray settings from outside.

    The data folder (where the pseudonym key is kept) is the test's own. The
    refresh is long, so a simulated clock set by the test counts as moving
    unless the test ages it on purpose.
    """

    def aim(url: str) -> None:
        monkeypatch.setenv("CONTROLROOM_DATABASE_URL", url)
        monkeypatch.delenv("CONTROLROOM_DEMO_AUTOLOGIN", raising=False)
        monkeypatch.delenv("CONTROLROOM_ANALYTICS_KEY", raising=False)
        monkeypatch.setenv("CONTROLROOM_TIMEZONE", "Europe/Oslo")
        monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("CONTROLROOM_REFRESH_SECONDS", "120")

    return aim


@pytest.fixture
def small_day_app(
    engine: Engine, sqlite_url: str, point_app_at: Callable[[str], None]
) -> SmallDay:
    """The small day with its users, and the app aimed at it."""
    day = build_small_day(engine)
    point_app_at(sqlite_url)
    return day


def new_app() -> AppTest:
    """The app before anyone signs in."""
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()


def sign_in(role: Role, password: str = PASSWORD) -> AppTest:
    """The app after the role's user typed their name and ``password``."""
    app = new_app()
    app.text_input(key="login_username").input(USERS[role])
    app.text_input(key="login_password").input(password)
    app.button[0].click().run()
    return app
