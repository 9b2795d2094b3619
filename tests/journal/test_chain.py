"""The hash-chain rules on plain events, with no database."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

import pytest

from controlroom.journal.chain import (
    GENESIS_HASH,
    ChainProblem,
    canonical_payload,
    event_hash,
    find_first_problem,
)
from tests.conftest import DAY


@dataclass(frozen=True)
class PlainEvent:
    seq: int
    recorded_at: datetime
    occurred_at: datetime
    kind: str
    subject: str
    actor: str
    payload: str
    prev_hash: str
    hash: str


def chain_of(count: int) -> list[PlainEvent]:
    """A valid chain of ``count`` events."""
    events = []
    prev_hash = GENESIS_HASH
    for seq in range(1, count + 1):
        fields = {
            "seq": seq,
            "recorded_at": DAY + timedelta(seconds=seq),
            "occurred_at": DAY,
            "kind": "StopCompleted",
            "subject": f"stop:{seq}",
            "actor": "driver:D03",
            "payload": canonical_payload({"seq": seq}),
            "prev_hash": prev_hash,
        }
        digest = event_hash(**fields)
        events.append(PlainEvent(**fields, hash=digest))
        prev_hash = digest
    return events


class Colour(StrEnum):
    RED = "red"


def test_a_valid_chain_has_no_problem() -> None:
    events = chain_of(4)

    assert find_first_problem(events, expected_head=(4, events[-1].hash)) is None


def test_an_empty_chain_ends_at_genesis() -> None:
    assert find_first_problem([], expected_head=(0, GENESIS_HASH)) is None


def test_the_payload_is_canonical_whatever_the_key_order() -> None:
    first = canonical_payload({"b": 1, "a": {"d": 2, "c": 3}})
    second = canonical_payload({"a": {"c": 3, "d": 2}, "b": 1})

    assert first == second == '{"a":{"c":3,"d":2},"b":1}'


def test_times_enums_and_sets_have_one_journal_form() -> None:
    payload = {"at": DAY, "colour": Colour.RED, "tags": {"b", "a"}}

    assert canonical_payload(payload) == (
        '{"at":"2026-12-04T06:00:00+00:00","colour":"red","tags":["a","b"]}'
    )


def test_a_value_the_journal_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot journal a value of type bytes"):
        canonical_payload({"raw": b"\x00"})


@pytest.mark.parametrize(
    "field",
    ["seq", "recorded_at", "occurred_at", "kind", "subject", "actor", "payload"],
)
def test_every_field_changes_the_hash(field: str) -> None:
    event = chain_of(1)[0]
    changed = {
        "seq": 2,
        "recorded_at": DAY + timedelta(microseconds=1),
        "occurred_at": DAY - timedelta(hours=1),
        "kind": "StopSkipped",
        "subject": "stop:2",
        "actor": "driver:D04",
        "payload": "{}",
    }[field]
    fields = {k: v for k, v in vars(event).items() if k != "hash"}
    fields[field] = changed

    assert event_hash(**fields) != event.hash


def test_fields_cannot_be_shifted_across_their_separator() -> None:
    base = chain_of(1)[0]
    fields = {k: v for k, v in vars(base).items() if k != "hash"}

    shifted = dict(fields, kind=base.kind + "x", subject=base.subject[1:])

    assert event_hash(**shifted) != base.hash


def test_a_repeated_sequence_number_is_out_of_order() -> None:
    events = chain_of(3)

    problem = find_first_problem([events[0], events[1], events[1], events[2]])

    assert problem == ChainProblem(2, "out of order: sequence number repeats")


def test_a_head_beyond_the_last_event_means_a_cut_off_tail() -> None:
    events = chain_of(5)

    problem = find_first_problem(events[:3], expected_head=(5, events[4].hash))

    assert problem is not None
    assert (problem.seq, str(problem)) == (
        4,
        "event 4: truncated: the journal ends at 3 but its head is 5",
    )


def test_a_checkpoint_must_be_on_the_chain() -> None:
    events = chain_of(5)
    other = replace(events[2], hash="a" * 64)

    problem = find_first_problem(events, checkpoint=(3, other.hash))

    assert problem is not None
    assert problem.seq == 3
    assert problem.problem.startswith("replaced")


def test_a_checkpoint_inside_the_chain_accepts_later_events() -> None:
    events = chain_of(5)

    assert find_first_problem(events, checkpoint=(2, events[1].hash)) is None
