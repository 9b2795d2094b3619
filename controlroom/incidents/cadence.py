"""When the next progress report of an incident is due, and when to prompt.

Pure rules, no I/O. Every answer is computed from the incident's start, its
last progress report and its cadence -- never from a timer that must fire at
the due time. A screen that was closed over lunch therefore still finds the
report overdue when it opens, and a screen refreshed every second still
prompts only once per due time (see :func:`prompt_between`).

Times come in as timezone-aware datetimes and are reasoned about in UTC, so
an interval of 60 minutes is 60 elapsed minutes even across a daylight
saving change. Only the words for the screen use local time, in a zone the
caller passes, with the zone's abbreviation (``CET``/``CEST``) so that the
repeated hour of an autumn night reads unambiguously.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from controlroom.errors import IncidentError
from controlroom.words import counted


class Severity(StrEnum):
    """How badly an incident hurts the three customer promises."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @property
    def label(self) -> str:
        """The severity in words for the screen."""
        return {
            Severity.SEV1: "SEV1 critical",
            Severity.SEV2: "SEV2 major",
            Severity.SEV3: "SEV3 moderate",
            Severity.SEV4: "SEV4 minor",
        }[self]


@dataclass(frozen=True)
class Cadence:
    """First notice within ``first_notice`` of the start, then every ``interval``."""

    first_notice: timedelta
    interval: timedelta

    def __post_init__(self) -> None:
        if self.first_notice <= timedelta(0):
            raise IncidentError(
                f"The first notice must be due after the incident starts; "
                f"got {self.first_notice}. Give a positive number of minutes."
            )
        if self.interval <= timedelta(0):
            raise IncidentError(
                f"The report interval must be positive; got {self.interval}. "
                f"Give a positive number of minutes."
            )


# SEV1 takes the issue's own figures (first notice within 5 minutes, then at
# least every 20). Lower severities stretch both numbers: people on a minor
# incident's call still hear from it within two hours, but the call is not
# filled with empty "no change" reports while the critical work goes on.
SEV1_CADENCE = Cadence(timedelta(minutes=5), timedelta(minutes=20))
SEV2_CADENCE = Cadence(timedelta(minutes=10), timedelta(minutes=30))
SEV3_CADENCE = Cadence(timedelta(minutes=15), timedelta(minutes=60))
SEV4_CADENCE = Cadence(timedelta(minutes=30), timedelta(minutes=120))

DEFAULT_CADENCES: Mapping[Severity, Cadence] = {
    Severity.SEV1: SEV1_CADENCE,
    Severity.SEV2: SEV2_CADENCE,
    Severity.SEV3: SEV3_CADENCE,
    Severity.SEV4: SEV4_CADENCE,
}


def cadence_for(
    severity: Severity,
    *,
    first_notice_minutes: int | None = None,
    interval_minutes: int | None = None,
) -> Cadence:
    """Return the severity's cadence, with any per-incident override applied."""
    default = DEFAULT_CADENCES[severity]
    first_notice = (
        default.first_notice
        if first_notice_minutes is None
        else timedelta(minutes=first_notice_minutes)
    )
    interval = (
        default.interval
        if interval_minutes is None
        else timedelta(minutes=interval_minutes)
    )
    return Cadence(first_notice=first_notice, interval=interval)


@dataclass(frozen=True)
class ReportDue:
    """When the next progress report is due, seen from ``now``.

    ``due_at`` is the first due time not met by a report: the first notice
    if nothing has been reported yet, else the last report plus the interval.
    ``missed`` counts the due times passed since then (0 while not overdue).
    """

    due_at: datetime
    overdue: bool
    due_in: timedelta
    overdue_by: timedelta
    missed: int
    first_notice: bool
    words: str


def report_due(
    *,
    started_at: datetime,
    last_report_at: datetime | None,
    cadence: Cadence,
    now: datetime,
    zone: tzinfo,
) -> ReportDue:
    """Return when the next progress report is due and how it reads locally."""
    started_at = _utc(started_at, "started_at")
    now = _utc(now, "now")
    if now < started_at:
        raise IncidentError(
            f"The incident starts at {_iso(started_at)}, after the time asked "
            f"about ({_iso(now)}); check the clock or the start time."
        )
    if last_report_at is not None:
        last_report_at = _checked_report(last_report_at, started_at, now)

    first_notice = last_report_at is None
    if last_report_at is None:
        due_at = started_at + cadence.first_notice
    else:
        due_at = last_report_at + cadence.interval

    # Overdue *from* the due time itself: "last report 10:05, interval 60
    # min -> overdue from 11:05".
    overdue = now >= due_at
    due_in = timedelta(0) if overdue else due_at - now
    overdue_by = now - due_at if overdue else timedelta(0)
    missed = _due_times_passed(due_at, cadence.interval, now)

    at = _clock(due_at, zone, today=now)
    if overdue:
        kind = "first notice" if first_notice else "progress report"
        words = f"{kind} overdue by {_minutes(overdue_by, up=False)} (since {at})"
    else:
        kind = "first notice" if first_notice else "next progress report"
        words = f"{kind} due in {_minutes(due_in, up=True)} ({at})"

    return ReportDue(
        due_at=due_at,
        overdue=overdue,
        due_in=due_in,
        overdue_by=overdue_by,
        missed=missed,
        first_notice=first_notice,
        words=words,
    )


@dataclass(frozen=True)
class Prompt:
    """One prompt to report: the latest due time passed, and how many passed.

    ``for_due_at`` identifies the prompt. A caller that stores it and passes
    it back as ``previous_check`` can never prompt twice for one due time,
    however many screens ask.
    """

    for_due_at: datetime
    missed: int
    missed_since_check: int
    words: str


def prompt_between(
    *,
    due_at: datetime,
    interval: timedelta,
    previous_check: datetime | None,
    now: datetime,
    zone: tzinfo,
) -> Prompt | None:
    """Return one prompt if a due time passed in ``(previous_check, now]``.

    The due times are ``due_at``, ``due_at + interval``, ... (from
    :func:`report_due`). A due time passed between two checks gives one
    prompt; the next check gives none for it; several passed while nobody
    looked give a single prompt that counts them. ``previous_check`` is
    ``None`` when this incident was never checked.
    """
    due_at = _utc(due_at, "due_at")
    now = _utc(now, "now")
    if interval <= timedelta(0):
        raise IncidentError(f"The report interval must be positive; got {interval}.")
    if previous_check is not None:
        previous_check = _utc(previous_check, "previous_check")
        if previous_check > now:
            raise IncidentError(
                f"The previous check ({_iso(previous_check)}) is later than "
                f"now ({_iso(now)}); the clock went backwards."
            )

    missed = _due_times_passed(due_at, interval, now)
    already = (
        0
        if previous_check is None
        else _due_times_passed(due_at, interval, previous_check)
    )
    missed_since_check = missed - already
    if missed_since_check == 0:
        return None

    latest = due_at + (missed - 1) * interval
    overdue_by = _minutes(now - due_at, up=False)
    words = (
        f"Progress report overdue by {overdue_by} "
        f"(due {_clock(due_at, zone, today=now)})"
    )
    if missed > 1:
        words += f"; {counted(missed, 'update')} missed"
    return Prompt(
        for_due_at=latest,
        missed=missed,
        missed_since_check=missed_since_check,
        words=words + ".",
    )


def no_change_report(
    *, last_report_at: datetime, next_due: datetime, zone: tzinfo
) -> str:
    """Return the short report for a period with no news."""
    last_report_at = _utc(last_report_at, "last_report_at")
    next_due = _utc(next_due, "next_due")
    if next_due <= last_report_at:
        raise IncidentError(
            f"The next update ({_iso(next_due)}) must come after the last "
            f"report ({_iso(last_report_at)})."
        )

    since = _clock(last_report_at, zone, today=last_report_at)
    until = _clock(next_due, zone, today=last_report_at)
    # Name the zone once when both times share it; on a daylight saving
    # change day each time keeps its own abbreviation.
    if _zone_name(last_report_at, zone) == _zone_name(next_due, zone):
        since = since.rsplit(" ", 1)[0]
    return f"No change since {since}. Next update at {until}."


def _checked_report(
    last_report_at: datetime, started_at: datetime, now: datetime
) -> datetime:
    last_report_at = _utc(last_report_at, "last_report_at")
    if last_report_at < started_at:
        raise IncidentError(
            f"The last report ({_iso(last_report_at)}) is before the incident "
            f"started ({_iso(started_at)}); a report cannot precede its "
            f"incident."
        )
    if last_report_at > now:
        raise IncidentError(
            f"The last report ({_iso(last_report_at)}) is later than now "
            f"({_iso(now)}); check the clock."
        )
    return last_report_at


def _due_times_passed(due_at: datetime, interval: timedelta, now: datetime) -> int:
    """Count ``due_at + k * interval`` (k >= 0) at or before ``now``."""
    if now < due_at:
        return 0
    return 1 + (now - due_at) // interval


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise IncidentError(
            f"{name} has no time zone ({moment.isoformat()}); incident times "
            f"must be timezone-aware UTC."
        )
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _zone_name(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).tzname() or "UTC"


def _clock(moment: datetime, zone: tzinfo, *, today: datetime) -> str:
    """Local ``HH:MM ZONE``, with the day too when it is not ``today``'s."""
    local = moment.astimezone(zone)
    text = f"{local:%H:%M} {_zone_name(moment, zone)}"
    if local.date() != today.astimezone(zone).date():
        text = f"{local.day} {local:%b} {text}"
    return text


def _minutes(span: timedelta, *, up: bool) -> str:
    """``"12 min"`` or ``"1 h 5 min"``; ``up`` rounds part minutes up.

    Time left rounds up, so a report never reads "due in 0 min" before it
    is due; time overdue rounds down, so it never overstates the lateness.
    """
    exact = span.total_seconds() / 60
    minutes = math.ceil(exact) if up else math.floor(exact)
    if minutes < 1:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} min"
    if minutes == 0:
        return f"{hours} h"
    return f"{hours} h {minutes} min"
