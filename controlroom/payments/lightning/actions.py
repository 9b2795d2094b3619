"""What ops and management may do about Lightning limits from the Payments screen.

Each function checks the role, opens its own transaction (a page is an
entry point) and hands over to the service, which journals. Each returns the
sentence the screen shows when it worked.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.clock import operating_now
from controlroom.errors import PaymentError
from controlroom.orders.models import Party
from controlroom.payments.lightning.models import LightningLimitChange
from controlroom.payments.lightning.service import (
    approve_limit_change,
    propose_limit_change,
    reject_limit_change,
)
from controlroom.session_frame import SignedInUser, require_role

LIMIT_SETTERS = frozenset({Role.OPS, Role.MANAGEMENT})


def propose_limit(
    engine: Engine,
    *,
    user: SignedInUser,
    party_id: int,
    limit_sat: int,
    reason: str,
) -> str:
    """Propose a customer's new Lightning limit; a second person must approve."""
    require_role(user, LIMIT_SETTERS, "propose a Lightning limit")
    with Session(engine) as session, session.begin():
        customer = session.get(Party, party_id)
        if customer is None:
            raise PaymentError(f"There is no customer #{party_id}.")
        change = propose_limit_change(
            session,
            customer=customer,
            limit_sat=limit_sat,
            reason=reason,
            actor=user.username,
            at=operating_now(session),
        )
        return (
            f"Proposed {limit_sat:,} sat for customer #{party_id} (change "
            f"#{change.id}); someone else must approve it."
        )


def approve_limit(engine: Engine, *, user: SignedInUser, change_id: int) -> str:
    """Approve a proposed limit as the second person."""
    require_role(user, LIMIT_SETTERS, "approve a Lightning limit")
    with Session(engine) as session, session.begin():
        change = _change(session, change_id)
        approve_limit_change(
            session, change=change, actor=user.username, at=operating_now(session)
        )
        return (
            f"Approved: customer #{change.party_id} may now have "
            f"{change.limit_sat:,} sat open over Lightning."
        )


def reject_limit(
    engine: Engine, *, user: SignedInUser, change_id: int, reason: str
) -> str:
    """Reject a proposed limit (its proposer may withdraw it this way)."""
    require_role(user, LIMIT_SETTERS, "reject a Lightning limit")
    with Session(engine) as session, session.begin():
        change = _change(session, change_id)
        reject_limit_change(
            session,
            change=change,
            actor=user.username,
            reason=reason,
            at=operating_now(session),
        )
        return f"Rejected limit change #{change_id}."


def _change(session: Session, change_id: int) -> LightningLimitChange:
    change = session.get(LightningLimitChange, change_id)
    if change is None:
        raise PaymentError(f"There is no limit change #{change_id}.")
    return change
