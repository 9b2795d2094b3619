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
    frames = {next(iter(f.value.columns)): f.value for f in app.dataframe}
    log = frames["When"]
    assert list(zip(log["From"], log["To"], strict=True)) == [("node-eu", "node-us")]
    states = frames["State"]
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


def test_a_tracker_that_stopped_running_is_said_loudly_not_shown_as_following(
    small_day_app: SmallDay, engine: Engine, lab_nodes: list[LabNode]
) -> None:
    from controlroom.health.models import ComponentState
    from controlroom.health.service import report_health
    from controlroom.payments.tracking.node_health import tracker_component

    track(engine, lab_nodes, 0)
    with Session(engine) as session, session.begin():
        report_health(
            session,
            component=tracker_component(session, now=NOW, actor="probe"),
            state=ComponentState.MAJOR_OUTAGE,
            at=NOW + timedelta(minutes=5),
            actor="probe",
            detail="tracker process not running",
        )
    app = sign_in(Role.OPS)

    app.switch_page("pages/payments.py").run()

    assert not app.exception
    assert "The payment tracker is down since" in app.error[0].value
    assert "tracker process not running" in app.error[0].value
    assert {m.label: m.value for m in app.metric}["Last followed"] == "node-eu"


def test_an_underpaid_invoice_past_expiry_waits_in_the_operator_queue(
    small_day_app: SmallDay, engine: Engine, lab_nodes: list[LabNode]
) -> None:
    from sqlalchemy import select

    from controlroom.payments.models import Invoice, PaymentMethod
    from controlroom.payments.onchain import see_onchain_payment
    from controlroom.payments.service import refresh_invoices

    with Session(engine) as session, session.begin():
        invoice = session.scalars(
            select(Invoice)
            .where(Invoice.method == PaymentMethod.ONCHAIN, Invoice.paid_sat == 0)
            .order_by(Invoice.id)
        ).first()
        assert invoice is not None
        code = invoice.parcel.code
        see_onchain_payment(
            session,
            invoice=invoice,
            txid="ef" * 32,
            vout=0,
            amount_sat=invoice.amount_sat // 2,
            spends=["aa" * 32 + ":1"],
            signals_rbf=False,
            seen_at=invoice.created_at + timedelta(minutes=1),
            actor="tracker",
        )
        refresh_invoices(
            session, now=invoice.expires_at + timedelta(minutes=1), actor="tracker"
        )
    app = sign_in(Role.OPS)

    app.switch_page("pages/payments.py").run()

    assert not app.exception
    queue = next(f.value for f in app.dataframe if "What to do" in f.value.columns)
    row = queue[queue["Package code"] == code]
    assert list(row["State"]) == ["Expired (paid partial)"]
    assert "refund what was paid" in row["What to do"].iloc[0]
    assert "wait for a person" in app.warning[0].value


def test_ops_propose_settling_a_queued_invoice_and_a_manager_approves(
    small_day_app: SmallDay, engine: Engine
) -> None:
    from sqlalchemy import select

    from controlroom.payments.models import (
        Invoice,
        InvoiceException,
        InvoiceStatus,
        PaymentMethod,
    )
    from controlroom.payments.onchain import see_onchain_payment
    from controlroom.payments.service import refresh_invoices

    with Session(engine) as session, session.begin():
        invoice = session.scalars(
            select(Invoice)
            .where(Invoice.method == PaymentMethod.ONCHAIN, Invoice.paid_sat == 0)
            .order_by(Invoice.id)
        ).first()
        assert invoice is not None
        invoice_id, code = invoice.id, invoice.parcel.code
        see_onchain_payment(
            session,
            invoice=invoice,
            txid="cd" * 32,
            vout=0,
            amount_sat=invoice.amount_sat - 1_000,
            spends=["bb" * 32 + ":0"],
            signals_rbf=False,
            seen_at=invoice.created_at + timedelta(minutes=1),
            actor="tracker",
        )
        refresh_invoices(
            session, now=invoice.expires_at + timedelta(minutes=1), actor="tracker"
        )
    ops = sign_in(Role.OPS)
    ops.switch_page("pages/payments.py").run()

    form_select = next(s for s in ops.selectbox if s.label == "Package")
    form_select.select(code)
    next(t for t in ops.text_input if t.label == "Why").input(
        "Customer agreed to pay the missing 1,000 sat to the driver"
    )
    next(b for b in ops.button if b.label == "Propose").click().run()

    assert not ops.exception
    assert "Someone else must approve it" in ops.success[0].value
    assert next(b for b in ops.button if b.label == "Approve").disabled

    manager = sign_in(Role.MANAGEMENT)
    manager.switch_page("pages/payments.py").run()
    next(b for b in manager.button if b.label == "Approve").click().run()

    assert not manager.exception
    assert f"{code} is settled" in manager.success[0].value
    with Session(engine) as session:
        marked = session.get(Invoice, invoice_id)
        assert marked is not None
        assert marked.status is InvoiceStatus.SETTLED
        assert marked.exception is InvoiceException.MARKED
