"""The journal: append-only, hash-chained record of every state change."""

from controlroom.journal.chain import (
    GENESIS_HASH,
    ChainProblem,
    EventDraft,
    find_first_problem,
)
from controlroom.journal.models import JournalEvent, JournalHead
from controlroom.journal.service import (
    append_event,
    append_events,
    journal_head,
    verify_journal,
)

__all__ = [
    "GENESIS_HASH",
    "ChainProblem",
    "EventDraft",
    "JournalEvent",
    "JournalHead",
    "append_event",
    "append_events",
    "find_first_problem",
    "journal_head",
    "verify_journal",
]
