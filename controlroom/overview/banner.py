"""The posture banner at the top of every screen: what it says, read once.

The banner and the screen under it must tell the same time, so the overview
reads the banner inside its own snapshot (same session, same clock reading)
and the other screens read it through :func:`banner_state`.

A simulated day whose simulator has stopped must never look live: when the
simulated clock has not moved for a while in real time, the banner says the
day is frozen and how to start a new one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.clock import CLOCK_ROW, SimulatedClock, operating_now
from controlroom.db import read_only, utcnow
from controlroom.health.posture import Posture
from controlroom.health.service import current_posture
from controlroom.incidents.board import IncidentNotice, incident_notice
from controlroom.session_frame import BANNER_STYLES, local_time, promise_lines

# The simulator ticks about once a real second; a clock that has not moved
# for three screen refreshes is no longer being played.
STALE_AFTER_REFRESHES = 3
STOPPED_COLOURS = ("#37474f", "#ffffff")


@dataclass(frozen=True)
class BannerState:
    """What the posture banner shows: the posture and the operating time.

    ``simulated`` says the operating clock is the simulator's;
    ``simulator_stopped`` that it has not moved for a while in real time.
    """

    posture: Posture
    now: datetime
    simulated: bool = False
    simulator_stopped: bool = False
    incident: IncidentNotice | None = None


def read_banner(
    session: Session,
    *,
    stale_after: timedelta,
    zone: str,
    now: datetime | None = None,
) -> BannerState:
    """Read the posture and the clock; ``now`` reuses a clock reading already made."""
    clock = session.get(SimulatedClock, CLOCK_ROW)
    stopped = clock is not None and utcnow() - clock.updated_at > stale_after
    now = now if now is not None else operating_now(session)
    return BannerState(
        posture=current_posture(session),
        now=now,
        simulated=clock is not None,
        simulator_stopped=stopped,
        incident=incident_notice(session, now=now, zone=zone),
    )


def banner_state(engine: Engine, *, refresh_seconds: float, zone: str) -> BannerState:
    """Read the banner in its own short read transaction."""
    stale_after = timedelta(seconds=STALE_AFTER_REFRESHES * refresh_seconds)
    with Session(read_only(engine)) as session:
        return read_banner(session, stale_after=stale_after, zone=zone)


def incident_words(notice: IncidentNotice) -> str:
    """The open incident in one line: what, how bad, where it is, next report."""
    line = notice.line
    more = f" (+{notice.others} more open)" if notice.others else ""
    return (
        f"Incident: {line.severity_label} · {line.status.label} · {line.title}"
        f"{more} — {notice.due.words}"
    )


def banner_headline(posture: Posture) -> str:
    """One line for the banner, with ``fallback`` or ``fallbacks`` as it should."""
    count = len(posture.fallbacks)
    if not count:
        return posture.headline
    titles = "; ".join(f.title for f in posture.fallbacks)
    noun = "fallback" if count == 1 else "fallbacks"
    return f"{count} {noun} active: {titles}"


def stopped_notice(state: BannerState, zone: str) -> str:
    """The plain words for a simulated day whose simulator no longer runs."""
    frozen_at = state.now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    return (
        f"Simulator stopped — the simulated day is frozen at {frozen_at}. "
        "Nothing on this screen moves. Run ./run demo --keep to carry on "
        "with this day, or ./run demo for a new day."
    )


def banner_html(state: BannerState, zone: str) -> str:
    """The banner as one block of HTML, every text escaped."""
    posture = state.posture
    style = BANNER_STYLES[posture.level]
    promises = " &nbsp;|&nbsp; ".join(html.escape(p) for p in promise_lines(posture))
    fallbacks = "".join(
        f"<li><b>{html.escape(f.title)}</b>: {html.escape(f.action)}"
        f" <i>(because: {html.escape(', '.join(f.because))})</i></li>"
        for f in posture.fallbacks
    )
    clock = local_time(state.now, zone, seconds=True)
    if state.simulator_stopped:
        clock = f"Simulated time {clock}, frozen"
    elif state.simulated:
        clock = f"Operating time {clock} (simulated day)"
    else:
        clock = f"Operating time {clock}"
    incident = ""
    if state.incident is not None:
        weight = (
            "700;text-decoration:underline" if state.incident.due.overdue else "600"
        )
        incident = (
            f'<div style="font-weight:{weight};margin:0.2rem 0">'
            f"{html.escape(incident_words(state.incident))}</div>"
        )
    stopped = ""
    if state.simulator_stopped:
        background, foreground = STOPPED_COLOURS
        stopped = (
            f'<div style="background:{background};color:{foreground};'
            "padding:0.4rem 0.7rem;border-radius:0.4rem;margin:0.2rem 0 0.4rem 0;"
            f'font-weight:600">{html.escape(stopped_notice(state, zone))}</div>'
        )
    # One line of HTML: indented lines would turn into a Markdown code block.
    parts = [
        f'<div style="background:{style.background};color:{style.foreground};'
        'padding:0.6rem 1rem;border-radius:0.5rem;margin-bottom:0.5rem">',
        stopped,
        f'<div style="font-size:1.2rem"><b>{style.label}</b> · '
        f"{html.escape(banner_headline(posture))}</div>",
        f"<div>{promises}</div>",
        incident,
        f"<ul style='margin:0.3rem 0 0 0'>{fallbacks}</ul>" if fallbacks else "",
        f'<div style="font-size:0.85rem;opacity:0.85">{clock}</div>',
        "</div>",
    ]
    return "".join(parts)
