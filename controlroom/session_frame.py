"""The frame around every screen: who may see which screen, and what it says.

The Streamlit entry point draws the frame; the rules it follows live here so
they can be tested without a browser: the screens each role may open, the
colours and words of the posture banner, local times with their zone, and the
development-only automatic sign-in used to take screenshots of the demo.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role, User
from controlroom.auth.service import authenticate
from controlroom.config import Settings
from controlroom.db import read_only
from controlroom.demo.parameters import SEEDED_EVENT
from controlroom.errors import (
    AuthenticationError,
    ConfigurationError,
    ControlRoomError,
    DatabaseCorrupt,
    DatabaseUnavailable,
    PermissionDenied,
    SchemaOutdated,
    SignInRequired,
    StorageError,
)
from controlroom.health.posture import Posture, PostureLevel, PromiseStatus
from controlroom.journal.models import JournalEvent

logger = logging.getLogger(__name__)

EVERY_ROLE = frozenset(Role)


@dataclass(frozen=True)
class Screen:
    """One page of the control room and the roles that may open it."""

    key: str
    title: str
    path: str
    url: str
    icon: str
    section: str
    roles: frozenset[Role]
    # The screen draws the posture banner itself, from its own read, so the
    # banner's time is the screen's time; the frame draws it for the others.
    draws_banner: bool = False


# The single table of screens. A new screen is one more row here and one
# thin file in pages/. The URL differs from the file's name on purpose:
# Streamlit runs a pages/ file directly, without this frame, for a URL that
# matches its file name until the first st.navigation call of the process.
SCREENS: tuple[Screen, ...] = (
    Screen(
        "overview",
        "Overview",
        "pages/overview.py",
        "live",
        ":material/monitoring:",
        "Live operations",
        EVERY_ROLE,
        draws_banner=True,
    ),
    Screen(
        "health",
        "System health",
        "pages/health.py",
        "systems",
        ":material/health_and_safety:",
        "Live operations",
        EVERY_ROLE,
    ),
    Screen(
        "dispatch",
        "Dispatch",
        "pages/dispatch.py",
        "routes",
        ":material/local_shipping:",
        "Live operations",
        # Analysts study pseudonymised data; routes name package codes.
        frozenset({Role.MANAGEMENT, Role.DISPATCHER, Role.OPS}),
    ),
    Screen(
        "payments",
        "Payments",
        "pages/payments.py",
        "payments",
        ":material/currency_bitcoin:",
        "Payments",
        # Invoices name package codes, so not analysts.
        frozenset({Role.MANAGEMENT, Role.OPS}),
    ),
    Screen(
        "wallet_watch",
        "Wallet watch",
        "pages/wallet_watch.py",
        "wallets",
        ":material/account_balance_wallet:",
        "Payments",
        frozenset({Role.MANAGEMENT, Role.OPS}),
    ),
    Screen(
        "incident_call",
        "Incident call",
        "pages/incident_call.py",
        "call",
        ":material/call:",
        "Incident",
        frozenset({Role.MANAGEMENT, Role.OPS, Role.DISPATCHER}),
    ),
    Screen(
        "broadcasts",
        "Broadcasts",
        "pages/broadcasts.py",
        "broadcasts",
        ":material/campaign:",
        "Incident",
        frozenset({Role.MANAGEMENT, Role.OPS}),
    ),
    Screen(
        "driver_texts",
        "Driver texts",
        "pages/driver_texts.py",
        "driver-texts",
        ":material/sms:",
        "Incident",
        frozenset({Role.MANAGEMENT, Role.DISPATCHER, Role.OPS}),
    ),
    Screen(
        "status_site",
        "Status site",
        "pages/status_site.py",
        "status-site",
        ":material/public:",
        "Incident",
        frozenset({Role.MANAGEMENT, Role.OPS}),
    ),
    Screen(
        "backups",
        "Backups and fail-over",
        "pages/backups.py",
        "availability",
        ":material/backup:",
        "Audit",
        # Server addresses and the spool's folder: for the people who run them.
        frozenset({Role.MANAGEMENT, Role.OPS}),
    ),
    Screen(
        "journal",
        "Journal",
        "pages/journal.py",
        "audit",
        ":material/receipt_long:",
        "Audit",
        # Not analysts: the journal names people and rows; they study the
        # pseudonymised data of controlroom.analytics instead.
        frozenset({Role.MANAGEMENT, Role.OPS}),
    ),
)

# Who may change a component's state by hand (the rest may only look).
HEALTH_EDITORS = frozenset({Role.MANAGEMENT, Role.OPS})
# Who may see package codes. A code is the key to a parcel's status on the
# public status site; analysts' data never carries one (they see the keyed
# pseudonyms of controlroom.analytics instead).
CODE_READERS = frozenset({Role.MANAGEMENT, Role.DISPATCHER, Role.OPS})


def shows_codes(role: Role) -> bool:
    """Whether screens show ``role`` package codes (else parcel pseudonyms)."""
    return role in CODE_READERS


@dataclass(frozen=True)
class SignedInUser:
    """The person at the screen, as the session keeps them."""

    username: str
    display_name: str
    role: Role

    @classmethod
    def of(cls, user: User) -> SignedInUser:
        """Keep only what the frame needs of a stored user."""
        return cls(user.username, user.display_name, user.role)


@dataclass(frozen=True)
class Frame:
    """What every page gets from the entry point: settings, database, user."""

    settings: Settings
    engine: Engine
    user: SignedInUser

    @property
    def zone(self) -> str:
        """The operator's time zone."""
        return self.settings.timezone

    @property
    def url(self) -> str:
        """The database URL, a cache key that hides no secret from the cache."""
        return self.engine.url.render_as_string(hide_password=True)


FRAME_KEY = "controlroom_frame"


class SessionLookup(Protocol):
    """What the frame needs of a session's state: a dict-like ``get``."""

    def get(self, key: str, /) -> Any: ...


def frame_of(state: SessionLookup | Mapping[str, Any], *, screen: str) -> Frame:
    """Return the frame the entry point stored, if its user may see ``screen``.

    Each page asks for itself, so a page run outside the frame (see
    ``SCREENS``) never shows anything to a user whose role may not see it.
    """
    frame = state.get(FRAME_KEY)
    if not isinstance(frame, Frame):
        raise SignInRequired(
            "This page opens inside the control room: go to the start page and sign in."
        )
    allowed = next((s.roles for s in SCREENS if s.key == screen), frozenset())
    require_role(frame.user, allowed, f"open the {screen} screen")
    return frame


_ERROR_TITLES: tuple[tuple[type[ControlRoomError], str], ...] = (
    (DatabaseCorrupt, "The database file is damaged"),
    (SchemaOutdated, "The database needs its migrations"),
    (DatabaseUnavailable, "The database cannot be reached"),
    (StorageError, "The database failed"),
    (ConfigurationError, "The configuration is not valid"),
    (SignInRequired, "Sign in first"),
    (AuthenticationError, "Sign-in failed"),
    (PermissionDenied, "Not allowed for your role"),
)


def error_title(error: ControlRoomError) -> str:
    """Return a short heading for an error shown on screen."""
    for kind, title in _ERROR_TITLES:
        if isinstance(error, kind):
            return title
    return "The control room could not do that"


def error_markdown(error: ControlRoomError) -> str:
    """Return the error as one Markdown line: bold heading, then what to do.

    Some messages already open with the heading ("The configuration is not
    valid: ..."); it is said once, not twice.
    """
    title = error_title(error)
    message = str(error)
    if message.lower().startswith(title.lower()):
        message = message[len(title) :].lstrip(" .:;,-—")
    return f"**{title}.** {message}".rstrip()


def sign_in(engine: Engine, *, username: str, password: str) -> SignedInUser:
    """Check the credentials and return who signed in; raise if they are wrong."""
    with Session(read_only(engine)) as session:
        try:
            user = authenticate(session, username=username, password=password)
        except AuthenticationError:
            # Repeated failures are how guessing shows; the name is logged
            # (never the password) so an operator can see it.
            logger.warning("sign-in failed user=%r", username[:64])
            raise
        signed_in = SignedInUser.of(user)
    logger.info("signed in user=%s role=%s", signed_in.username, signed_in.role)
    return signed_in


def screens_for(role: Role) -> dict[str, list[Screen]]:
    """Return the screens ``role`` may open, grouped by section in table order."""
    sections: dict[str, list[Screen]] = {}
    for screen in SCREENS:
        if role in screen.roles:
            sections.setdefault(screen.section, []).append(screen)
    return sections


def require_role(user: SignedInUser, allowed: frozenset[Role], action: str) -> None:
    """Raise ``PermissionDenied`` unless the user's role may do ``action``."""
    if user.role not in allowed:
        raise PermissionDenied(
            f"Your role ({user.role.value}) may not {action}. Ask a colleague in "
            f"{', '.join(sorted(r.value for r in allowed))}.",
            role=user.role.value,
            action=action,
        )


@dataclass(frozen=True)
class BannerStyle:
    """How the posture banner looks at one level."""

    background: str
    foreground: str
    label: str


BANNER_STYLES: dict[PostureLevel, BannerStyle] = {
    PostureLevel.NORMAL: BannerStyle("#1b5e20", "#ffffff", "NORMAL"),
    PostureLevel.DEGRADED: BannerStyle("#f9a825", "#1a1a1a", "DEGRADED"),
    PostureLevel.FALLBACK: BannerStyle("#e65100", "#ffffff", "FALLBACK ACTIVE"),
    PostureLevel.AT_RISK: BannerStyle("#b71c1c", "#ffffff", "PROMISE AT RISK"),
}

PROMISE_MARKS: dict[PromiseStatus, str] = {
    PromiseStatus.KEPT: "✔ kept",
    PromiseStatus.KEPT_BY_FALLBACK: "⚠ kept by fallback",
    PromiseStatus.AT_RISK: "✖ AT RISK",
}


def promise_lines(posture: Posture) -> list[str]:
    """Return one short line per customer promise, e.g. ``Pay: ✔ kept``."""
    return [
        f"{promise.value.capitalize()}: {PROMISE_MARKS[status]}"
        for promise, status in posture.promises.items()
    ]


def local_time(moment: datetime | None, zone: str, *, seconds: bool = False) -> str:
    """Show a UTC moment in the operator's zone, with the zone's abbreviation."""
    if moment is None:
        return ""
    shown = moment.astimezone(ZoneInfo(zone))
    pattern = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return shown.strftime(pattern)


def short_time(moment: datetime | None, zone: str) -> str:
    """Show a UTC moment compactly in the operator's zone, e.g. ``04 Dec 16:23``."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%d %b %H:%M")


def day_time(moment: datetime | None, zone: str, *, today: datetime) -> str:
    """Show a moment as ``16:23`` on ``today``'s local date, else ``03 Dec 16:23``.

    The live table is about today; the date is only said when it differs.
    """
    if moment is None:
        return ""
    tz = ZoneInfo(zone)
    shown = moment.astimezone(tz)
    if shown.date() == today.astimezone(tz).date():
        return shown.strftime("%H:%M")
    return shown.strftime("%d %b %H:%M")


def demo_autologin_user(engine: Engine, role_name: str) -> SignedInUser:
    """Return the demo user to sign in automatically for screenshots.

    Development only: refused unless the database is a SQLite file holding
    the seeded demo world (its ``DemoDaySeeded`` journal event), so the
    setting cannot open a production control room.
    """
    try:
        role = Role(role_name)
    except ValueError:
        raise ConfigurationError(
            f"CONTROLROOM_DEMO_AUTOLOGIN must name a role "
            f"({', '.join(r.value for r in Role)}), not {role_name!r}.",
            setting="demo_autologin",
        ) from None
    if engine.dialect.name != "sqlite":
        raise ConfigurationError(
            "CONTROLROOM_DEMO_AUTOLOGIN only works on the SQLite demo world; unset it.",
            setting="demo_autologin",
        )
    with Session(read_only(engine)) as session:
        seeded = session.scalar(
            select(JournalEvent.seq).where(JournalEvent.kind == SEEDED_EVENT).limit(1)
        )
        user = session.scalar(
            select(User)
            .where(User.role == role, User.active.is_(True))
            .order_by(User.id)
            .limit(1)
        )
        if seeded is None or user is None:
            raise ConfigurationError(
                "CONTROLROOM_DEMO_AUTOLOGIN is refused: this database is not the "
                "seeded demo world. Unset it and sign in.",
                setting="demo_autologin",
            )
        return SignedInUser.of(user)
