"""Verification names the first event an attacker edited, removed or moved.

Each test changes a journal of six events with SQL behind the service's back,
as someone with database access would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text, update

from controlroom.errors import JournalBroken
from controlroom.journal import GENESIS_HASH, JournalHead
from controlroom.journal.chain import event_hash
from tests.journal.tampering import (
    EVENTS,
    append_numbered,
    delete_from,
    edit,
    stored,
    tamper,
    verify,
)

HEAD = JournalHead.metadata.tables["journal_head"]


def rewind_head(engine: Engine, seq: int) -> None:
    """Point the head row at ``seq``, as someone covering a cut would."""
    digest = stored(engine, seq)["hash"] if seq else GENESIS_HASH
    tamper(engine, update(HEAD).values(seq=seq, hash=digest))


def test_an_intact_journal_verifies_to_its_head(journal_of_six: Engine) -> None:
    seq, digest = verify(journal_of_six)

    assert seq == 6
    assert digest == stored(journal_of_six, 6)["hash"]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", '{"number":3,"via":"sms"}'),
        ("kind", "ParcelDelivered"),
        ("actor", "driver:D99"),
        ("subject", "parcel:99"),
    ],
)
def test_an_edited_field_is_named_at_its_event(
    journal_of_six: Engine, column: str, value: str
) -> None:
    edit(journal_of_six, 3, **{column: value})

    with pytest.raises(JournalBroken, match="event 3: edited") as broken:
        verify(journal_of_six)

    assert broken.value.seq == 3


@pytest.mark.parametrize("column", ["occurred_at", "recorded_at"])
def test_an_edited_timestamp_is_named_at_its_event(
    journal_of_six: Engine, column: str
) -> None:
    moved = stored(journal_of_six, 4)[column] - timedelta(seconds=1)
    edit(journal_of_six, 4, **{column: moved})

    with pytest.raises(JournalBroken, match="event 4: edited") as broken:
        verify(journal_of_six)

    assert broken.value.seq == 4


def test_an_event_resealed_after_editing_breaks_the_next_link(
    journal_of_six: Engine,
) -> None:
    row = stored(journal_of_six, 3)
    payload = '{"number":3,"via":"forged"}'
    forged = event_hash(
        seq=3,
        recorded_at=row["recorded_at"],
        occurred_at=row["occurred_at"],
        kind=row["kind"],
        subject=row["subject"],
        actor=row["actor"],
        payload=payload,
        prev_hash=row["prev_hash"],
    )
    edit(journal_of_six, 3, payload=payload, hash=forged)

    with pytest.raises(JournalBroken, match="event 4: reordered or replaced"):
        verify(journal_of_six)


def test_a_deleted_middle_event_is_named(journal_of_six: Engine) -> None:
    tamper(journal_of_six, text("DELETE FROM journal_events WHERE seq = 3"))

    with pytest.raises(JournalBroken, match=r"event 3: missing: events 3\.\.3"):
        verify(journal_of_six)


def test_swapped_sequence_numbers_are_named_at_the_first(
    journal_of_six: Engine,
) -> None:
    for old, new in ((2, -2), (5, 2), (-2, 5)):
        tamper(
            journal_of_six, update(EVENTS).where(EVENTS.c.seq == old).values(seq=new)
        )

    with pytest.raises(JournalBroken, match="event 2: ") as broken:
        verify(journal_of_six)

    assert broken.value.seq == 2


def test_swapped_event_contents_are_named_at_the_first(
    journal_of_six: Engine,
) -> None:
    second, fifth = stored(journal_of_six, 2), stored(journal_of_six, 5)
    content = [c.name for c in EVENTS.c if c.name != "seq"]
    edit(journal_of_six, 2, **{c: fifth[c] for c in content})
    edit(journal_of_six, 5, **{c: second[c] for c in content})

    with pytest.raises(JournalBroken, match="event 2: ") as broken:
        verify(journal_of_six)

    assert broken.value.seq == 2


def test_a_cut_off_tail_is_caught_by_the_head_row(journal_of_six: Engine) -> None:
    delete_from(journal_of_six, 5)

    with pytest.raises(JournalBroken, match="event 5: truncated") as broken:
        verify(journal_of_six)

    assert broken.value.problem.startswith("truncated")


def test_a_journal_emptied_entirely_is_caught_by_the_head_row(
    journal_of_six: Engine,
) -> None:
    delete_from(journal_of_six, 1)

    with pytest.raises(JournalBroken, match="event 1: truncated"):
        verify(journal_of_six)


def test_an_edited_head_row_is_caught(journal_of_six: Engine) -> None:
    tamper(journal_of_six, update(HEAD).values(hash="f" * 64))

    with pytest.raises(JournalBroken, match="event 6: head mismatch"):
        verify(journal_of_six)


def test_a_tail_cut_with_its_head_rewound_passes_without_an_outside_head(
    journal_of_six: Engine,
) -> None:
    delete_from(journal_of_six, 5)
    rewind_head(journal_of_six, 4)

    assert verify(journal_of_six)[0] == 4


def test_a_tail_cut_with_its_head_rewound_is_caught_by_the_expected_head(
    journal_of_six: Engine,
) -> None:
    kept_elsewhere = verify(journal_of_six)
    delete_from(journal_of_six, 5)
    rewind_head(journal_of_six, 4)

    with pytest.raises(JournalBroken, match="event 5: truncated") as broken:
        verify(journal_of_six, expected_head=kept_elsewhere)

    assert broken.value.seq == 5


def test_an_expected_head_from_earlier_still_verifies_a_longer_journal(
    journal_of_six: Engine,
) -> None:
    earlier = verify(journal_of_six)
    append_numbered(journal_of_six, 3, start=7)

    assert verify(journal_of_six, expected_head=earlier)[0] == 9


def test_a_rewritten_chain_is_caught_by_the_expected_head(
    journal_of_six: Engine,
) -> None:
    kept_elsewhere = verify(journal_of_six)
    delete_from(journal_of_six, 4)
    rewind_head(journal_of_six, 3)
    append_numbered(journal_of_six, 3, start=40)

    with pytest.raises(JournalBroken, match="event 6: replaced"):
        verify(journal_of_six, expected_head=kept_elsewhere)


def test_the_first_of_several_problems_is_named(journal_of_six: Engine) -> None:
    edit(journal_of_six, 5, actor="intruder")
    edit(journal_of_six, 2, kind="Forged")
    delete_from(journal_of_six, 6)

    with pytest.raises(JournalBroken, match="event 2: edited"):
        verify(journal_of_six)
