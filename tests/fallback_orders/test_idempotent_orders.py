"""Orders carry an idempotency key: placing one twice stores it once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from controlroom.db import create_db_engine
from controlroom.errors import OrderError
from controlroom.orders.models import OrderChannel, Parcel, Party
from controlroom.orders.service import find_order_by_key, place_order
from controlroom.schema import alembic_config, upgrade_database
from tests.conftest import DAY
from tests.orders.world import customers, head_seq, kinds_after, order

KEY = "web-0b6f1c9e-4d2a-4e55-9a51-3f0d2c7e8a11"


def keyed_order(session: Session, key: str = KEY, **changes: object) -> Parcel:
    sender, recipient = customers(session)
    details: dict[str, object] = {
        "sender": sender,
        "recipient": recipient,
        "load": 3,
        "pickup_window": (DAY + timedelta(hours=2), DAY + timedelta(hours=4)),
        "delivery_window": (DAY + timedelta(hours=4), DAY + timedelta(hours=8)),
        "price_sat": 25_000,
        "ordered_at": DAY,
        "actor": "webshop",
        "idempotency_key": key,
    }
    details.update(changes)
    return place_order(session, **details)  # type: ignore[arg-type]


def test_an_order_placed_again_under_its_key_is_returned_not_stored_twice(
    session: Session,
) -> None:
    first = keyed_order(session, channel=OrderChannel.PHONE)
    sender, recipient = first.sender, first.recipient
    before = head_seq(session)

    again = place_order(
        session,
        sender=sender,
        recipient=recipient,
        load=3,
        pickup_window=(first.pickup_from, first.pickup_until),
        delivery_window=(first.deliver_from, first.deliver_until),
        price_sat=25_000,
        ordered_at=DAY,
        actor="webshop",
        idempotency_key=KEY,
    )

    assert again.id == first.id
    assert (again.code, again.channel) == (first.code, OrderChannel.PHONE)
    assert session.scalar(select(func.count()).select_from(Parcel)) == 1
    assert kinds_after(session, before) == []


def test_the_key_is_journalled_with_the_order(session: Session) -> None:
    parcel = keyed_order(session)

    payload = session.scalar(
        text("SELECT payload FROM journal_events ORDER BY seq DESC")
    )

    assert f'"idempotency_key":"{KEY}"' in str(payload)
    assert find_order_by_key(session, KEY) is parcel


def test_an_order_without_a_key_gets_a_fresh_one(session: Session) -> None:
    sender, recipient = customers(session)

    one, two = order(session, sender, recipient), order(session, sender, recipient)

    assert one.idempotency_key.startswith("auto-")
    assert one.idempotency_key != two.idempotency_key


@pytest.mark.parametrize("key", ["short", "has space in it", "x" * 65, "ключ-ключ-1"])
def test_a_malformed_key_is_refused(session: Session, key: str) -> None:
    with pytest.raises(OrderError, match="idempotency key is 8 to 64"):
        keyed_order(session, key)


def test_a_given_package_code_is_kept_and_a_taken_one_refused(
    session: Session,
) -> None:
    parcel = keyed_order(session, code="7kq2 9xwm 4tcz")

    assert parcel.code == "7KQ2-9XWM-4TCZ"
    with pytest.raises(OrderError, match="already belongs to another order"):
        keyed_order(session, "another-key-1", code="7KQ2-9XWM-4TCZ")


@pytest.mark.postgres
def test_the_same_key_from_two_transactions_at_once_is_one_order(
    postgres_url: str,
) -> None:
    engine = create_db_engine(postgres_url)
    upgrade_database(engine)
    with Session(engine) as setup, setup.begin():
        sender, recipient = customers(setup)
        parties = (sender.id, recipient.id)
    placed: list[int] = []

    def second_writer() -> None:
        with Session(engine) as second, second.begin():
            placed.append(_place_with(second, parties).id)

    # The first transaction holds its new row uncommitted while the second
    # inserts the same key: the second waits on the unique index, then
    # finds the first's order once it commits.
    with Session(engine) as first:
        first.begin()
        first_id = _place_with(first, parties).id
        writer = threading.Thread(target=second_writer)
        writer.start()
        _wait_for_a_lock_wait(engine)
        first.commit()
        writer.join(timeout=30)

    assert placed == [first_id]
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM parcels")) == 1
    engine.dispose()


def _wait_for_a_lock_wait(engine: Engine) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(2000):
        with engine.connect() as connection:
            if connection.scalar(query):
                return
        time.sleep(0.005)
    raise AssertionError("the second writer never waited for the first")


def _place_with(session: Session, parties: tuple[int, int]) -> Parcel:
    sender = session.get_one(Party, parties[0])
    recipient = session.get_one(Party, parties[1])
    return place_order(
        session,
        sender=sender,
        recipient=recipient,
        load=1,
        pickup_window=(DAY, DAY + timedelta(hours=1)),
        delivery_window=(DAY, DAY + timedelta(hours=2)),
        price_sat=21_000,
        ordered_at=DAY,
        actor="webshop",
        idempotency_key=KEY,
    )


def test_orders_placed_before_the_migration_get_a_key_from_their_code(
    sqlite_url: str,
) -> None:
    engine = create_db_engine(sqlite_url, create_folder=True)
    config = alembic_config(sqlite_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")
    with Session(engine) as session, session.begin():
        _old_order_rows(session)

    upgrade_database(engine)

    with engine.connect() as connection:
        keys = connection.execute(
            text("SELECT code, idempotency_key FROM parcels ORDER BY id")
        ).all()
    assert keys == [
        ("AAAA-BBBB-CCC0", "legacy-AAAA-BBBB-CCC0"),
        ("AAAA-BBBB-CCC1", "legacy-AAAA-BBBB-CCC1"),
    ]
    engine.dispose()


def _old_order_rows(session: Session) -> None:
    # The 0011 schema has no key column: plain SQL, as an old version wrote.
    session.execute(
        text(
            "INSERT INTO parties (id, kind, name, phone, street, postcode, city, "
            "lat, lon, customer_kind, created_at) VALUES (1, 'customer', 'A', "
            "'+4790000001', 'S 1', '0155', 'Oslo', 59.9, 10.7, 'new', :at)"
        ),
        {"at": DAY},
    )
    for number in (0, 1):
        session.execute(
            text(
                "INSERT INTO parcels (code, status, channel, sender_id, "
                "recipient_id, load, service_minutes, pickup_from, pickup_until, "
                "deliver_from, deliver_until, ordered_at, price_sat) VALUES "
                "(:code, 'ordered', 'web_shop', 1, 1, 1, 5, :at, :at, :at, :at, "
                ":at, 21000)"
            ),
            {"code": f"AAAA-BBBB-CCC{number}", "at": DAY},
        )


def test_an_order_resubmitted_in_a_later_transaction_is_the_first_one(
    engine: Engine,
) -> None:
    with Session(engine) as session, session.begin():
        keyed_order(session)

    with Session(engine) as session, session.begin():
        again = keyed_order(session)
        assert session.scalar(select(func.count()).select_from(Parcel)) == 1
        assert again.idempotency_key == KEY
