"""The backup alarm's rules: a refused write first, then retention, then lag."""

from __future__ import annotations

from controlroom.backup.alarm import BackupLag, decide_alarm
from controlroom.backup.stores import RetentionCheck
from controlroom.health.models import ComponentState

KEEPING_UP = BackupLag(events=3, seconds=0.4)
BEHIND = BackupLag(events=900, seconds=75.0)
SHRUNK = RetentionCheck(False, "", ("the default retention is 7 days",))


def test_no_alarm_while_shipping_keeps_up() -> None:
    assert decide_alarm(
        lag=KEEPING_UP, error="", retention=None, lag_alarm_seconds=10
    ) == ("", ComponentState.OPERATIONAL)


def test_a_lag_past_the_threshold_is_a_partial_outage() -> None:
    assert decide_alarm(lag=BEHIND, error="", retention=None, lag_alarm_seconds=10) == (
        "Backup is more than 10 s behind the journal",
        ComponentState.PARTIAL_OUTAGE,
    )


def test_a_refused_write_is_a_major_outage_even_without_lag() -> None:
    note, state = decide_alarm(
        lag=KEEPING_UP, error="access denied", retention=SHRUNK, lag_alarm_seconds=10
    )

    assert note == "Backup store refused a write: access denied"
    assert state is ComponentState.MAJOR_OUTAGE


def test_a_retention_problem_outranks_the_lag() -> None:
    note, state = decide_alarm(
        lag=BEHIND, error="", retention=SHRUNK, lag_alarm_seconds=10
    )

    assert note.endswith("the default retention is 7 days")
    assert state is ComponentState.MAJOR_OUTAGE
