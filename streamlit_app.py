"""The CryptoPack control room in the browser: ``streamlit run streamlit_app.py``.

This entry point builds the frame around every screen: logging, settings, the
database, sign-in, navigation by role, sign-out and the posture banner. The
screens themselves are the thin files in ``pages/``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from controlroom.config import Settings, load_settings
from controlroom.errors import AuthenticationError, ControlRoomError
from controlroom.overview.banner import banner_html, banner_state
from controlroom.schema import open_checked_database
from controlroom.session_frame import (
    FRAME_KEY,
    SCREENS,
    Frame,
    SignedInUser,
    demo_autologin_user,
    error_markdown,
    screens_for,
    sign_in,
)

logger = logging.getLogger("controlroom.app")

USER_KEY = "controlroom_user"


def configure_logging() -> None:
    """Send the control room's log lines to stderr once per process."""
    root = logging.getLogger("controlroom")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        root.addHandler(handler)
        root.setLevel(logging.INFO)


@st.cache_resource(show_spinner="Opening the database…")
def open_database(url: str) -> Engine:
    """Build the engine for ``url`` once per server and check the database."""
    return open_checked_database(url)


def show_error(error: ControlRoomError) -> None:
    """Show one of our errors as a red box: what is wrong and what to do."""
    st.error(error_markdown(error), icon=":material/error:")


def every_url(page: Callable[[], None], title: str) -> list[st.Page]:
    """The one page ``page`` at the root and at every screen's URL.

    Signed out (or with the control room unable to start), a deep link such
    as ``/systems`` gets this page instead of "Page not found"; once signed
    in, the same URL opens the screen it names.
    """
    return [
        st.Page(page, title=title, default=True),
        *(st.Page(page, title=title, url_path=s.url) for s in SCREENS),
    ]


def problem_page(error: ControlRoomError) -> None:
    """Route every URL to a page that only explains the problem."""

    def explain() -> None:
        st.title("CryptoPack control room")
        show_error(error)

    st.navigation(every_url(explain, "Problem"), position="hidden").run()


def login_page(engine: Engine) -> None:
    """Ask for user name and password; a wrong one gets a clear message."""

    def form() -> None:
        st.title("CryptoPack control room")
        st.caption("We deliver, no matter what. Sign in to continue.")
        with st.form("sign_in"):
            username = st.text_input("User name", key="login_username")
            password = st.text_input("Password", type="password", key="login_password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if not submitted:
            return
        try:
            user = sign_in(engine, username=username, password=password)
        except AuthenticationError as exc:
            show_error(exc)
            return
        st.session_state[USER_KEY] = user
        st.rerun()

    st.navigation(every_url(form, "Sign in"), position="hidden").run()


def draw_banner(engine: Engine, zone: str, refresh_seconds: float) -> None:
    """The operating posture in one coloured box at the top of the page."""
    try:
        state = banner_state(engine, refresh_seconds=refresh_seconds, zone=zone)
    except ControlRoomError as exc:
        show_error(exc)
        return
    st.markdown(banner_html(state, zone), unsafe_allow_html=True)


def draw_sidebar(user: SignedInUser) -> None:
    """Who is signed in, and the way out."""
    with st.sidebar:
        st.markdown(f"**{user.display_name}**  \n{user.role.value}")
        if st.button("Sign out", icon=":material/logout:"):
            st.session_state.pop(USER_KEY, None)
            st.session_state.pop(FRAME_KEY, None)
            st.rerun()


def current_user(settings: Settings, engine: Engine) -> SignedInUser | None:
    """The signed-in user, or the demo user when autologin is allowed."""
    user = st.session_state.get(USER_KEY)
    if isinstance(user, SignedInUser):
        return user
    if settings.demo_autologin:
        user = demo_autologin_user(engine, settings.demo_autologin)
        logger.warning("demo autologin user=%s role=%s", user.username, user.role)
        st.session_state[USER_KEY] = user
        return user
    return None


def run() -> None:
    """Build the frame and run the page the user picked."""
    configure_logging()
    st.set_page_config(
        page_title="CryptoPack control room",
        # An emoji is drawn locally; a Material icon name here would make
        # every browser fetch it from a third-party font server.
        page_icon="🚚",
        layout="wide",
    )
    try:
        settings = load_settings()
        engine = open_database(settings.resolved_database_url)
        user = current_user(settings, engine)
    except ControlRoomError as exc:
        logger.warning("control room cannot start: %s", exc)
        problem_page(exc)
        return

    if user is None:
        login_page(engine)
        return

    st.session_state[FRAME_KEY] = Frame(settings, engine, user)
    draw_sidebar(user)
    pages = {
        section: [
            st.Page(s.path, title=s.title, icon=s.icon, url_path=s.url) for s in screens
        ]
        for section, screens in screens_for(user.role).items()
    }
    page = st.navigation(pages)
    screen = next((s for s in SCREENS if s.title == page.title), None)
    if screen is None or not screen.draws_banner:
        st.fragment(run_every=settings.refresh_seconds)(draw_banner)(
            engine, settings.timezone, settings.refresh_seconds
        )
    try:
        page.run()
    except DatabaseError as exc:
        # Checked at start, failing now: a table dropped or a server gone
        # under a running page. Say so plainly; the log keeps the detail.
        logger.exception("page failed on the database page=%s", page.title)
        detail = str(exc.orig or exc).strip().splitlines()[0]
        st.error(
            f"**The database failed while reading this page** ({detail}). "
            "Run `controlroom db check` to see what is wrong with it."
        )


run()
