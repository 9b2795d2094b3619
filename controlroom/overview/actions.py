"""What a person may change from the live-operations screens.

Each function opens its own transaction (a page is an entry point) and hands
the change to the capability's service, which journals it.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.db import read_only
from controlroom.health.models import ComponentState
from controlroom.health.service import (
    get_component,
    release_component,
    set_component_state,
)
from controlroom.overview.journal_view import JournalCheck, check_journal
from controlroom.session_frame import HEALTH_EDITORS, SignedInUser, require_role

logger = logging.getLogger(__name__)


def change_component_state(
    engine: Engine,
    *,
    user: SignedInUser,
    key: str,
    state: ComponentState,
    note: str,
) -> bool:
    """Declare a component's state as ``user``; it holds until released."""
    require_role(user, HEALTH_EDITORS, "change a component's state")
    with Session(engine) as session, session.begin():
        component = get_component(session, key=key)
        changed = set_component_state(
            session,
            component=component,
            state=state,
            at=operating_now(session),
            actor=user.username,
            note=note.strip(),
            hold=True,
        )
    logger.info(
        "component state set component=%s state=%s actor=%s changed=%s",
        key,
        state.value,
        user.username,
        changed,
    )
    return changed


def release_component_to_probes(
    engine: Engine, *, user: SignedInUser, key: str
) -> None:
    """Hand a held component back to its health probes, as ``user``."""
    require_role(user, HEALTH_EDITORS, "release a component to its probes")
    with Session(engine) as session, session.begin():
        component = get_component(session, key=key)
        release_component(
            session,
            component=component,
            at=operating_now(session),
            actor=user.username,
        )
    logger.info("component released component=%s actor=%s", key, user.username)


def verify_journal_now(engine: Engine) -> JournalCheck:
    """Re-hash the whole journal in a read transaction and report the outcome."""
    with Session(read_only(engine)) as session:
        return check_journal(session)
