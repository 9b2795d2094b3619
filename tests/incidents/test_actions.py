"""Who may do what from the call screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.errors import PermissionDenied
from controlroom.incidents import actions
from controlroom.incidents.cadence import Severity
from controlroom.incidents.models import CallItem, CallItemKind, Incident, Visibility
from controlroom.session_frame import SignedInUser

MONA = SignedInUser("mona", "Mona", Role.MANAGEMENT)
DAG = SignedInUser("dag", "Dag", Role.DISPATCHER)


def open_as(engine: Engine, user: SignedInUser) -> str:
    return actions.open_new(
        engine,
        user=user,
        title="SMS gateway down",
        kind="sms_gateway_down",
        severity=Severity.SEV2,
        visibility=Visibility.PUBLIC,
        summary="Texts to drivers are not going out.",
        components={},
    )


def test_a_dispatcher_may_not_open_an_incident(components: Engine) -> None:
    with pytest.raises(
        PermissionDenied, match=r"dispatcher\) may not open an incident"
    ):
        open_as(components, DAG)

    with Session(components) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_dispatcher_brings_a_drivers_problem_to_managements_incident(
    components: Engine,
) -> None:
    opened = open_as(components, MONA)

    queued = actions.bring_item(
        components,
        user=DAG,
        incident_id=1,
        kind=CallItemKind.PROBLEM,
        raised_by="VAN-2",
        text="No manifest on my phone",
    )

    assert opened == "Opened incident 1: SMS gateway down."
    assert queued == "Queued problem 1 from VAN-2."
    with Session(components) as session:
        assert session.scalars(select(CallItem.raised_by)).all() == ["VAN-2"]


@pytest.mark.parametrize(
    "action",
    [
        lambda e: actions.set_severity(
            e, user=DAG, incident_id=1, severity=Severity.SEV1
        ),
        lambda e: actions.report_no_change(
            e, user=DAG, incident_id=1, zone="Europe/Oslo"
        ),
    ],
    ids=["severity", "report"],
)
def test_only_management_leads_the_incident(
    components: Engine, action: Callable[[Engine], str]
) -> None:
    open_as(components, MONA)

    with pytest.raises(PermissionDenied, match="dispatcher"):
        action(components)
