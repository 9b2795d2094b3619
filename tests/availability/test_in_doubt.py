"""Submitting a write whose commit may be lost: stored once, never failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from controlroom.availability.in_doubt import RetryPolicy, submit_with_key
from controlroom.errors import OrderError, WriteInDoubt


def connection_lost() -> OperationalError:
    return OperationalError(
        "COMMIT", {}, Exception("server closed the connection unexpectedly")
    )


class FlakyOrderStore:
    """A fake engine whose commits fail as scripted.

    ``ok`` commits; ``lost_ack`` commits and then loses the connection
    before the answer arrives; ``lost`` loses the connection before COMMIT
    reaches the server; ``late`` loses the connection while the commit is
    still on its way, so it lands just after the client gave up. Keys are
    unique, as the database keeps them.
    """

    def __init__(self, script: Iterable[str], *, lookup_down: int = 0) -> None:
        self.script = list(script)
        self.stored: Counter[str] = Counter()
        self.arriving: list[str] = []
        self.lookups_down = lookup_down
        self.writes = 0

    def write(self, key: str) -> None:
        self.writes += 1
        self._land_late_commits()
        if self.stored[key]:
            raise IntegrityError(
                "INSERT", {}, Exception("duplicate key violates unique constraint")
            )
        step = self.script.pop(0) if self.script else "ok"
        if step in ("ok", "lost_ack"):
            self.stored[key] += 1
        if step == "late":
            self.arriving.append(key)
        if step != "ok":
            raise connection_lost()

    def is_stored(self, key: str) -> bool:
        if self.lookups_down:
            self.lookups_down -= 1
            raise connection_lost()
        return self.stored[key] > 0

    def _land_late_commits(self) -> None:
        for key in self.arriving:
            self.stored[key] += 1
        self.arriving.clear()


def no_pause(_seconds: float) -> None:
    """Back-off without waiting, so the tests run at once."""


def test_a_commit_that_succeeds_is_acknowledged_at_once() -> None:
    store = FlakyOrderStore(["ok"])

    ack = submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    assert (ack.attempts, ack.doubts, ack.found_stored) == (1, 0, False)
    assert store.stored == Counter({"order-1": 1})


def test_a_lost_acknowledgement_is_found_stored_and_not_written_again() -> None:
    store = FlakyOrderStore(["lost_ack"])

    ack = submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    assert (ack.attempts, ack.doubts, ack.found_stored) == (1, 1, True)
    assert store.writes == 1
    assert store.stored == Counter({"order-1": 1})


def test_a_commit_that_never_arrived_is_resubmitted_with_the_same_key() -> None:
    store = FlakyOrderStore(["lost", "lost", "ok"])

    ack = submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    assert (ack.attempts, ack.doubts, ack.found_stored) == (3, 2, False)
    assert store.stored == Counter({"order-1": 1})


def test_a_commit_landing_after_the_lookup_is_not_stored_twice() -> None:
    store = FlakyOrderStore(["late"])

    ack = submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    assert ack.found_stored
    assert ack.attempts == 2
    assert store.stored == Counter({"order-1": 1})


def test_a_lookup_that_cannot_answer_keeps_the_write_in_doubt() -> None:
    store = FlakyOrderStore(["lost_ack"], lookup_down=1)

    ack = submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    assert ack.found_stored
    assert store.stored == Counter({"order-1": 1})


def test_retries_back_off_and_give_up_saying_the_write_is_in_doubt() -> None:
    store = FlakyOrderStore(["lost"] * 10)
    pauses: list[float] = []
    policy = RetryPolicy(attempts=4, first_delay=0.1, max_delay=0.3)

    with pytest.raises(WriteInDoubt, match="'order-1' is still in doubt") as doubt:
        submit_with_key(
            "order-1", store.write, store.is_stored, policy=policy, sleep=pauses.append
        )

    assert pauses == [0.1, 0.2, 0.3, 0.3]
    assert (doubt.value.key, doubt.value.attempts) == ("order-1", 4)
    assert "do not report it as failed" in str(doubt.value)
    assert store.stored == Counter()


def test_a_refused_order_is_a_plain_failure_not_a_doubt() -> None:
    def refuse(_key: str) -> None:
        raise OrderError("A parcel needs a size.")

    with pytest.raises(OrderError, match="needs a size"):
        submit_with_key("order-1", refuse, lambda _key: False, sleep=no_pause)


def test_another_constraint_violation_is_raised_not_retried() -> None:
    calls: list[str] = []

    def violate(key: str) -> None:
        calls.append(key)
        raise IntegrityError("INSERT", {}, Exception("violates check constraint"))

    with pytest.raises(IntegrityError, match="check constraint"):
        submit_with_key("order-1", violate, lambda _key: False, sleep=no_pause)
    assert calls == ["order-1"]


def test_a_key_stored_by_an_earlier_submission_is_acknowledged() -> None:
    store = FlakyOrderStore(["ok"])
    submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    again = submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    assert again.found_stored
    assert store.stored == Counter({"order-1": 1})


def test_a_policy_without_attempts_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        RetryPolicy(attempts=0)


def test_a_duplicate_key_while_the_lookup_is_down_stays_in_doubt() -> None:
    store = FlakyOrderStore(["ok"])
    submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)
    store.lookups_down = 1

    again = submit_with_key("order-1", store.write, store.is_stored, sleep=no_pause)

    assert (again.found_stored, again.attempts) == (True, 1)
    assert store.stored == Counter({"order-1": 1})
