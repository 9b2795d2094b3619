"""Lightning limits from the Payments screen: who may, and two different people."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.errors import PaymentError, PermissionDenied
from controlroom.orders.models import CustomerKind
from controlroom.payments.lightning.actions import (
    approve_limit,
    propose_limit,
    reject_limit,
)
from controlroom.payments.lightning.board import lightning_board
from controlroom.session_frame import SignedInUser
from tests.orders.world import customers

OPS = SignedInUser("olga", "Olga", Role.OPS)
MANAGER = SignedInUser("mats", "Mats", Role.MANAGEMENT)
DISPATCHER = SignedInUser("dina", "Dina", Role.DISPATCHER)


@pytest.fixture
def regular(engine: Engine) -> int:
    with Session(engine) as session, session.begin():
        _, recipient = customers(session)  # the recipient is a regular
        assert recipient.customer_kind is CustomerKind.REGULAR
        return recipient.id


def test_a_dispatcher_may_not_propose_a_limit(engine: Engine, regular: int) -> None:
    with pytest.raises(PermissionDenied, match="propose a Lightning limit"):
        propose_limit(
            engine, user=DISPATCHER, party_id=regular, limit_sat=1, reason="x"
        )


def test_the_proposer_cannot_approve_but_a_second_person_can(
    engine: Engine, regular: int
) -> None:
    propose_limit(
        engine, user=OPS, party_id=regular, limit_sat=400_000, reason="weekly payer"
    )
    change = lightning_board(engine).pending[0].change_id

    with pytest.raises(PaymentError, match="someone else must approve"):
        approve_limit(engine, user=OPS, change_id=change)
    done = approve_limit(engine, user=MANAGER, change_id=change)

    board = lightning_board(engine)
    assert "400,000 sat" in done
    assert board.pending == ()
    assert [(c.party_id, c.limit_sat) for c in board.customers] == [(regular, 400_000)]


def test_a_rejection_needs_a_reason_and_leaves_the_limit(
    engine: Engine, regular: int
) -> None:
    propose_limit(
        engine, user=OPS, party_id=regular, limit_sat=900_000, reason="asked by phone"
    )
    change = lightning_board(engine).pending[0].change_id

    with pytest.raises(PaymentError, match="Say why"):
        reject_limit(engine, user=MANAGER, change_id=change, reason=" ")
    reject_limit(engine, user=MANAGER, change_id=change, reason="not verified")

    board = lightning_board(engine)
    assert board.pending == ()
    assert [(c.party_id, c.limit_sat) for c in board.customers] == [(regular, 250_000)]


def test_a_private_key_pasted_as_a_limit_reason_is_refused_unstored(
    engine: Engine, regular: int
) -> None:
    wif = "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617"

    with pytest.raises(PaymentError, match="never takes private keys"):
        propose_limit(engine, user=OPS, party_id=regular, limit_sat=400_000, reason=wif)
    propose_limit(
        engine, user=OPS, party_id=regular, limit_sat=400_000, reason="weekly payer"
    )
    change = lightning_board(engine).pending[0].change_id
    with pytest.raises(PaymentError, match="never takes private keys"):
        reject_limit(engine, user=MANAGER, change_id=change, reason=wif)

    assert [p.reason for p in lightning_board(engine).pending] == ["weekly payer"]
