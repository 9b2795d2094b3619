"""The progress-report cadence: when a report is due, and one prompt each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from controlroom.errors import IncidentError
from controlroom.incidents.cadence import (
    DEFAULT_CADENCES,
    Cadence,
    Severity,
    cadence_for,
    no_change_report,
    prompt_between,
    report_due,
)

OSLO = ZoneInfo("Europe/Oslo")
HOURLY = Cadence(first_notice=timedelta(minutes=5), interval=timedelta(hours=1))


def oslo(hour: int, minute: int, second: int = 0, *, day: int = 4) -> datetime:
    """A winter day's Oslo wall-clock time (CET), as aware UTC."""
    local = datetime(2026, 12, day, hour, minute, second, tzinfo=OSLO)
    return local.astimezone(UTC)


STARTED = oslo(9, 40)
LAST_REPORT = oslo(10, 5)


def due_at_hourly(now: datetime) -> datetime:
    due = report_due(
        started_at=STARTED,
        last_report_at=LAST_REPORT,
        cadence=HOURLY,
        now=now,
        zone=OSLO,
    )
    return due.due_at


def test_report_is_overdue_from_the_last_report_plus_the_interval() -> None:
    # Arrange
    just_before, on_time = oslo(11, 4, 59), oslo(11, 5)

    # Act
    before = report_due(
        started_at=STARTED,
        last_report_at=LAST_REPORT,
        cadence=HOURLY,
        now=just_before,
        zone=OSLO,
    )
    at = report_due(
        started_at=STARTED,
        last_report_at=LAST_REPORT,
        cadence=HOURLY,
        now=on_time,
        zone=OSLO,
    )

    # Assert
    assert before.due_at == oslo(11, 5)
    assert (before.overdue, before.due_in) == (False, timedelta(seconds=1))
    assert (at.overdue, at.overdue_by, at.missed) == (True, timedelta(0), 1)


def test_checks_at_11_00_11_05_11_06_11_30_give_exactly_one_prompt() -> None:
    # Arrange
    checks = [oslo(11, 0), oslo(11, 5), oslo(11, 6), oslo(11, 30)]
    previous = oslo(10, 5)

    # Act
    prompts = []
    for now in checks:
        prompt = prompt_between(
            due_at=due_at_hourly(now),
            interval=HOURLY.interval,
            previous_check=previous,
            now=now,
            zone=OSLO,
        )
        prompts.append(prompt)
        previous = now

    # Assert
    assert [p is not None for p in prompts] == [False, True, False, False]
    assert prompts[1] is not None
    assert prompts[1].for_due_at == oslo(11, 5)
    assert prompts[1].words == "Progress report overdue by under 1 min (due 11:05 CET)."


def test_a_check_every_second_across_the_due_time_prompts_once() -> None:
    # Arrange
    start = oslo(11, 0)
    seconds = [start + timedelta(seconds=n) for n in range(1, 601)]
    due_at = due_at_hourly(start)

    # Act
    prompts = []
    previous = start
    for now in seconds:
        prompt = prompt_between(
            due_at=due_at,
            interval=HOURLY.interval,
            previous_check=previous,
            now=now,
            zone=OSLO,
        )
        if prompt is not None:
            prompts.append((now, prompt.for_due_at))
        previous = now

    # Assert
    assert prompts == [(oslo(11, 5), oslo(11, 5))]


def test_screens_that_store_the_prompted_due_time_never_prompt_twice() -> None:
    # Arrange: two screens share the stored due time of the last prompt.
    first = prompt_between(
        due_at=oslo(11, 5),
        interval=HOURLY.interval,
        previous_check=None,
        now=oslo(11, 20),
        zone=OSLO,
    )
    assert first is not None

    # Act
    second = prompt_between(
        due_at=oslo(11, 5),
        interval=HOURLY.interval,
        previous_check=first.for_due_at,
        now=oslo(11, 21),
        zone=OSLO,
    )

    # Assert
    assert second is None


def test_each_further_due_time_missed_gives_one_more_prompt() -> None:
    # Arrange
    due_at = oslo(11, 5)

    # Act
    at_11_06 = prompt_between(
        due_at=due_at,
        interval=HOURLY.interval,
        previous_check=oslo(11, 0),
        now=oslo(11, 6),
        zone=OSLO,
    )
    at_12_10 = prompt_between(
        due_at=due_at,
        interval=HOURLY.interval,
        previous_check=oslo(11, 6),
        now=oslo(12, 10),
        zone=OSLO,
    )

    # Assert
    assert at_11_06 is not None
    assert at_12_10 is not None
    assert (at_11_06.missed, at_12_10.missed) == (1, 2)
    assert at_12_10.for_due_at == oslo(12, 5)
    assert at_12_10.words == (
        "Progress report overdue by 1 h 5 min (due 11:05 CET); 2 updates missed."
    )


def test_several_intervals_missed_while_nobody_looked_give_one_prompt() -> None:
    # Arrange: the screen was last open at 10:30, reopened at 13:40.
    due_at = due_at_hourly(oslo(13, 40))

    # Act
    prompt = prompt_between(
        due_at=due_at,
        interval=HOURLY.interval,
        previous_check=oslo(10, 30),
        now=oslo(13, 40),
        zone=OSLO,
    )

    # Assert
    assert prompt is not None
    assert (prompt.missed, prompt.missed_since_check) == (3, 3)
    assert prompt.for_due_at == oslo(13, 5)
    assert prompt.words == (
        "Progress report overdue by 2 h 35 min (due 11:05 CET); 3 updates missed."
    )


def test_words_say_how_long_until_the_next_report_in_local_time() -> None:
    # Arrange
    now = oslo(10, 53)

    # Act
    due = report_due(
        started_at=STARTED,
        last_report_at=LAST_REPORT,
        cadence=HOURLY,
        now=now,
        zone=OSLO,
    )

    # Assert
    assert due.words == "next progress report due in 12 min (11:05 CET)"


def test_words_say_how_long_the_report_is_overdue() -> None:
    # Arrange
    now = oslo(11, 8, 40)

    # Act
    due = report_due(
        started_at=STARTED,
        last_report_at=LAST_REPORT,
        cadence=HOURLY,
        now=now,
        zone=OSLO,
    )

    # Assert
    assert due.words == "progress report overdue by 3 min (since 11:05 CET)"
    assert due.overdue_by == timedelta(minutes=3, seconds=40)


def test_time_left_rounds_up_so_a_due_report_never_reads_zero() -> None:
    # Arrange
    now = oslo(11, 4, 30)

    # Act
    due = report_due(
        started_at=STARTED,
        last_report_at=LAST_REPORT,
        cadence=HOURLY,
        now=now,
        zone=OSLO,
    )

    # Assert
    assert due.words == "next progress report due in 1 min (11:05 CET)"


def test_first_notice_is_due_from_the_start_before_any_report() -> None:
    # Arrange
    cadence = cadence_for(Severity.SEV1)
    started = oslo(10, 0)

    # Act
    waiting = report_due(
        started_at=started,
        last_report_at=None,
        cadence=cadence,
        now=oslo(10, 2),
        zone=OSLO,
    )
    late = report_due(
        started_at=started,
        last_report_at=None,
        cadence=cadence,
        now=oslo(10, 7),
        zone=OSLO,
    )

    # Assert
    assert waiting.first_notice
    assert waiting.due_at == oslo(10, 5)
    assert waiting.words == "first notice due in 3 min (10:05 CET)"
    assert late.words == "first notice overdue by 2 min (since 10:05 CET)"


def test_a_report_after_the_first_notice_switches_to_the_interval() -> None:
    # Arrange
    cadence = cadence_for(Severity.SEV1)

    # Act
    due = report_due(
        started_at=oslo(10, 0),
        last_report_at=oslo(10, 4),
        cadence=cadence,
        now=oslo(10, 6),
        zone=OSLO,
    )

    # Assert
    assert not due.first_notice
    assert due.due_at == oslo(10, 24)


def test_severities_have_stricter_cadences_the_worse_they_are() -> None:
    # Arrange
    order = [Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4]

    # Act
    intervals = [DEFAULT_CADENCES[s].interval for s in order]
    notices = [DEFAULT_CADENCES[s].first_notice for s in order]

    # Assert
    assert DEFAULT_CADENCES[Severity.SEV1] == Cadence(
        timedelta(minutes=5), timedelta(minutes=20)
    )
    assert intervals == sorted(intervals)
    assert notices == sorted(notices)


def test_an_incident_can_override_its_severitys_cadence() -> None:
    # Act
    cadence = cadence_for(Severity.SEV3, interval_minutes=45)

    # Assert
    assert cadence == Cadence(timedelta(minutes=15), timedelta(minutes=45))


def test_a_cadence_of_zero_minutes_is_refused() -> None:
    # Act / Assert
    with pytest.raises(IncidentError, match="interval must be positive"):
        cadence_for(Severity.SEV2, interval_minutes=0)


def test_no_change_report_names_the_last_report_and_the_next_update() -> None:
    # Act
    text = no_change_report(last_report_at=oslo(10, 5), next_due=oslo(11, 5), zone=OSLO)

    # Assert
    assert text == "No change since 10:05. Next update at 11:05 CET."


def test_spring_dst_change_in_oslo_shows_cet_then_cest() -> None:
    # Arrange: on 29 March 2026 Oslo's clocks jump from 02:00 CET to 03:00
    # CEST (01:00 UTC), so 60 elapsed minutes after 01:30 read as 03:30.
    last = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    started = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)

    # Act
    due = report_due(
        started_at=started,
        last_report_at=last,
        cadence=HOURLY,
        now=datetime(2026, 3, 29, 1, 10, tzinfo=UTC),
        zone=OSLO,
    )
    text = no_change_report(last_report_at=last, next_due=due.due_at, zone=OSLO)

    # Assert
    assert due.due_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert due.words == "next progress report due in 20 min (03:30 CEST)"
    assert text == "No change since 01:30 CET. Next update at 03:30 CEST."


def test_autumn_dst_change_in_oslo_tells_the_repeated_hour_apart() -> None:
    # Arrange: on 25 October 2026 Oslo's clocks fall back from 03:00 CEST
    # to 02:00 CET (01:00 UTC), so 02:30 happens twice.
    last = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)

    # Act
    due = report_due(
        started_at=last,
        last_report_at=last,
        cadence=HOURLY,
        now=datetime(2026, 10, 25, 1, 40, tzinfo=UTC),
        zone=OSLO,
    )
    text = no_change_report(last_report_at=last, next_due=due.due_at, zone=OSLO)

    # Assert
    assert due.words == "progress report overdue by 10 min (since 02:30 CET)"
    assert text == "No change since 02:30 CEST. Next update at 02:30 CET."


def test_a_due_time_on_another_day_shows_its_date() -> None:
    # Act
    due = report_due(
        started_at=oslo(22, 0, day=3),
        last_report_at=oslo(22, 50, day=3),
        cadence=HOURLY,
        now=oslo(0, 10),
        zone=OSLO,
    )

    # Assert
    assert due.words == "progress report overdue by 20 min (since 3 Dec 23:50 CET)"


@pytest.mark.parametrize(
    "naive",
    ["started_at", "last_report_at", "now"],
)
def test_naive_times_are_refused_by_report_due(naive: str) -> None:
    # Arrange
    times = {"started_at": STARTED, "last_report_at": LAST_REPORT, "now": oslo(11, 0)}
    times[naive] = times[naive].replace(tzinfo=None)

    # Act / Assert
    with pytest.raises(IncidentError, match=f"{naive} has no time zone"):
        report_due(cadence=HOURLY, zone=OSLO, **times)


def test_naive_times_are_refused_by_the_prompt_and_the_no_change_report() -> None:
    # Arrange
    naive = datetime(2026, 12, 4, 11, 5)

    # Act / Assert
    with pytest.raises(IncidentError, match="due_at has no time zone"):
        prompt_between(
            due_at=naive,
            interval=HOURLY.interval,
            previous_check=None,
            now=oslo(11, 6),
            zone=OSLO,
        )
    with pytest.raises(IncidentError, match="next_due has no time zone"):
        no_change_report(last_report_at=LAST_REPORT, next_due=naive, zone=OSLO)


def test_a_last_report_before_the_incident_started_is_refused() -> None:
    # Act / Assert
    with pytest.raises(IncidentError, match="before the incident started"):
        report_due(
            started_at=STARTED,
            last_report_at=STARTED - timedelta(minutes=1),
            cadence=HOURLY,
            now=oslo(11, 0),
            zone=OSLO,
        )


def test_a_previous_check_later_than_now_is_refused() -> None:
    # Act / Assert
    with pytest.raises(IncidentError, match="clock went backwards"):
        prompt_between(
            due_at=oslo(11, 5),
            interval=HOURLY.interval,
            previous_check=oslo(11, 10),
            now=oslo(11, 6),
            zone=OSLO,
        )
