"""The Payments screen, headless: node health, the fail-over log, invoices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.auth.models import Role
from controlroom.payments.lab.regtest import LabChain
from controlroom.payments.tracking.service import track_once
from tests.overview.small_day import NOW, SmallDay
from tests.pages.conftest import sign_in
from tests.payments.tracking.conftest import LabNode


@pytest.fixture
def lab_nodes() -> list[LabNode]:
    """Three nodes in three regions on one regtest chain of four blocks."""
    chain = LabChain(start=NOW - timedelta(hours=1))
    chain.mine(4)
    return [
        LabNode(chain, "node-eu", "eu-north", "Hetzner"),
        LabNode(chain, "node-us", "us-east", "AWS"),
        LabNode(chain, "node-ap", "ap-southeast", "OVHcloud"),
    ]


def track(engine: Engine, nodes: list[LabNode], minutes: int) -> None:
    with Session(engine) as session, session.begin():
        track_once(
            session,
            nodes=nodes,
            now=NOW + timedelta(minutes=minutes),
            actor="tracker",
            start_height=1,
        )


def test_ops_see_the_node_that_fell_behind_and_where_tracking_went(
    small_day_app: SmallDay,
    engine: Engine,
    lab_nodes: list[LabNode],
) -> None:
    track(engine, lab_nodes, 0)
    lab_nodes[0].stuck_at = 4
    lab_nodes[1].chain.mine(6)
    track(engine, lab_nodes, 1)
    app = sign_in(Role.OPS)

    app.switch_page("pages/payments.py").run()

    assert not app.exception
    assert [t.value for t in app.title] == ["Payments"]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Following": "node-us", "Last processed block": "10"}
    nodes = app.dataframe[0].value
    assert list(nodes["Node"]) == ["node-eu", "node-us", "node-ap"]
    assert list(nodes["Trusted"]) == ["no", "yes", "yes"]
    assert list(nodes["Lag (blocks)"]) == ["6", "0", "0"]
    log = app.dataframe[1].value
    assert list(zip(log["From"], log["To"], strict=True)) == [("node-eu", "node-us")]
    states = app.dataframe[2].value
    assert states["Invoices"].sum() == 5
    assert len(app.get("plotly_chart")) == 3


def test_with_no_node_trusted_the_screen_says_tracking_stopped(
    small_day_app: SmallDay,
    engine: Engine,
    lab_nodes: list[LabNode],
) -> None:
    track(engine, lab_nodes, 0)
    for node in lab_nodes:
        node.down = True
    track(engine, lab_nodes, 1)
    app = sign_in(Role.MANAGEMENT)

    app.switch_page("pages/payments.py").run()

    assert not app.exception
    assert {m.label: m.value for m in app.metric}["Following"] == "no node"
    assert "Payment tracking is stopped" in app.error[0].value
    assert list(app.dataframe[0].value["Trusted"]) == ["no", "no", "no"]


def test_before_the_tracker_ever_ran_the_screen_says_so(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.OPS)

    app.switch_page("pages/payments.py").run()

    assert not app.exception
    assert "has not run yet" in app.info[0].value
    assert app.dataframe[0].value["Invoices"].sum() == 5


def regular_customer(engine: Engine) -> int:
    """Make the small day's first customer a regular; return their id."""
    from sqlalchemy import select

    from controlroom.orders.models import CustomerKind, Party, PartyKind

    with Session(engine) as session, session.begin():
        party = session.scalars(
            select(Party).where(Party.kind == PartyKind.CUSTOMER).order_by(Party.id)
        ).first()
        assert party is not None
        party.customer_kind = CustomerKind.REGULAR
        return party.id


def test_a_lightning_limit_proposed_by_ops_waits_for_someone_else(
    small_day_app: SmallDay, engine: Engine
) -> None:
    party_id = regular_customer(engine)
    ops = sign_in(Role.OPS)
    ops.switch_page("pages/payments.py").run()

    ops.selectbox[0].select(party_id)
    ops.number_input[0].set_value(400_000)
    ops.text_input[0].input("Pays every week for two years")
    ops.button[0].click().run()

    assert not ops.exception
    assert "someone else must approve it" in ops.success[0].value
    approve = next(b for b in ops.button if b.label == "Approve")
    assert approve.disabled

    manager = sign_in(Role.MANAGEMENT)
    manager.switch_page("pages/payments.py").run()
    next(b for b in manager.button if b.label == "Approve").click().run()

    assert not manager.exception
    assert "400,000 sat" in manager.success[0].value
    limits = manager.dataframe[-1].value
    assert "400,000" in list(limits["Limit (sat)"])
