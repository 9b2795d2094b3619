"""Lightning invoices end to end: the lab node, our adapter, the database."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.errors import (
    NodeAccessDenied,
    NodeMisbehaving,
    NodeUnavailable,
    PaymentError,
)
from controlroom.journal import JournalEvent
from controlroom.orders.models import CustomerKind, Parcel, Party
from controlroom.payments.addresses import Network
from controlroom.payments.bolt11 import decode_invoice
from controlroom.payments.lab.lightning_node import LabLightningNode, LightningLie
from controlroom.payments.lab.lightning_server import LabLightningServer
from controlroom.payments.lightning.lnd_rest import LndRestNode
from controlroom.payments.lightning.models import (
    LightningInvoice,
    LimitChangeStatus,
)
from controlroom.payments.lightning.node import LightningInvoiceState
from controlroom.payments.lightning.rules import DEFAULT_LIGHTNING_LIMIT_SAT
from controlroom.payments.lightning.service import (
    LightningPoll,
    approve_limit_change,
    lightning_limit,
    open_lightning_invoice,
    open_lightning_sat,
    pending_limit_changes,
    poll_lightning_invoices,
    propose_limit_change,
    reject_limit_change,
)
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    PaymentMethod,
    PaymentState,
)
from controlroom.payments.service import expire_invoices
from tests.conftest import DAY
from tests.orders.world import head_seq, kinds_after
from tests.payments.lightning.conftest import (
    LabClock,
    customer,
    parcel_from,
)

ACTOR = "webshop"
POLLER = "lightning-poller"


def open_invoice(
    session: Session,
    node: LndRestNode,
    parcel: Parcel,
    amount_sat: int = 25_000,
    minutes: int = 0,
    deadline_minutes: int = 120,
) -> Invoice:
    return open_lightning_invoice(
        session,
        node=node,
        parcel=parcel,
        amount_sat=amount_sat,
        deadline=DAY + timedelta(minutes=deadline_minutes),
        now=DAY + timedelta(minutes=minutes),
        actor=ACTOR,
    ).invoice


def poll(session: Session, node: LndRestNode, minutes: int) -> LightningPoll:
    return poll_lightning_invoices(
        session, node=node, now=DAY + timedelta(minutes=minutes), actor=POLLER
    )


def test_a_settled_lightning_invoice_settles_ours_without_any_confirmation(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular_parcel: Parcel,
) -> None:
    invoice = open_invoice(session, lnd, regular_parcel)
    lab_lnd.node.settle(invoice.payment_hash or "", at=DAY + timedelta(minutes=3))
    before = head_seq(session)

    report = poll(session, lnd, minutes=5)

    assert report.settled == [invoice.id]
    assert invoice.status is InvoiceStatus.SETTLED
    assert invoice.exception is None
    assert invoice.paid_sat == 25_000
    [payment] = invoice.payments
    assert payment.state is PaymentState.CONFIRMED
    assert payment.confirmations == 0
    assert payment.txid is None
    assert payment.seen_at == DAY + timedelta(minutes=3)
    assert kinds_after(session, before) == [
        "LightningInvoiceStateChanged",
        "PaymentSeen",
        "InvoiceSettled",
    ]


def test_the_stored_invoice_is_the_nodes_bolt11_for_the_parcel(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular_parcel: Parcel,
) -> None:
    invoice = open_invoice(session, lnd, regular_parcel)

    decoded = decode_invoice(invoice.bolt11 or "", network=Network.REGTEST)
    record = session.get(LightningInvoice, invoice.id)
    assert invoice.method is PaymentMethod.LIGHTNING
    assert decoded.payment_hash == invoice.payment_hash
    assert decoded.amount_sat == invoice.amount_sat == 25_000
    assert decoded.expires_at == invoice.expires_at == DAY + timedelta(hours=1)
    assert decoded.description == f"CryptoPack parcel {regular_parcel.code}"
    assert record is not None
    assert record.node_key == "lab-lnd"
    assert record.payee_node_id == lab_lnd.node.node_id
    assert record.node_state is LightningInvoiceState.OPEN


def test_polling_again_records_the_payment_only_once(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular_parcel: Parcel,
) -> None:
    invoice = open_invoice(session, lnd, regular_parcel)
    lab_lnd.node.settle(invoice.payment_hash or "")
    poll(session, lnd, minutes=5)
    before = head_seq(session)

    report = poll(session, lnd, minutes=6)

    assert report.checked == 0
    assert len(invoice.payments) == 1
    assert kinds_after(session, before) == []


def test_a_payment_settled_after_expiry_is_matched_by_hash_and_paid_late(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    lab_clock: LabClock,
    regular_parcel: Parcel,
) -> None:
    invoice = open_invoice(session, lnd, regular_parcel)
    expire_invoices(session, now=DAY + timedelta(minutes=61), actor=POLLER)
    lab_clock.now = DAY + timedelta(minutes=70)
    lab_lnd.node.settle(invoice.payment_hash or "")

    report = poll(session, lnd, minutes=75)

    assert report.paid_late == [invoice.id]
    assert invoice.exception is InvoiceException.PAID_LATE
    assert invoice.paid_sat == 25_000
    [payment] = invoice.payments
    assert payment.payment_hash == invoice.payment_hash
    assert payment.seen_at == DAY + timedelta(minutes=70)


def test_an_invoice_the_node_canceled_is_noted_once(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular_parcel: Parcel,
) -> None:
    invoice = open_invoice(session, lnd, regular_parcel)
    lab_lnd.node.cancel(invoice.payment_hash or "")
    before = head_seq(session)

    poll(session, lnd, minutes=5)
    poll(session, lnd, minutes=6)

    record = session.get(LightningInvoice, invoice.id)
    assert record is not None
    assert record.node_state is LightningInvoiceState.CANCELED
    assert invoice.status is InvoiceStatus.NEW
    assert kinds_after(session, before) == ["LightningInvoiceStateChanged"]


def test_an_invoice_the_node_lost_is_reported_and_the_others_still_polled(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular_parcel: Parcel,
    regular: Party,
) -> None:
    lost = open_invoice(session, lnd, regular_parcel)
    kept = open_invoice(session, lnd, parcel_from(session, regular))
    lab_lnd.node.forget(lost.payment_hash or "")
    lab_lnd.node.settle(kept.payment_hash or "")

    report = poll(session, lnd, minutes=5)

    assert report.unknown_to_node == [lost.id]
    assert report.settled == [kept.id]


def test_a_new_customer_is_refused_and_the_node_is_not_asked(
    session: Session, lab_lnd: LabLightningServer, lnd: LndRestNode
) -> None:
    parcel = parcel_from(session, customer(session, CustomerKind.NEW, "Nils"))

    with pytest.raises(PaymentError, match="regular customers only"):
        open_invoice(session, lnd, parcel)

    assert lab_lnd.node.payment_hashes() == []


def test_an_invoice_over_the_customers_limit_is_refused_with_the_numbers(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular: Party,
    regular_parcel: Parcel,
) -> None:
    open_invoice(session, lnd, regular_parcel, amount_sat=200_000)

    with pytest.raises(
        PaymentError,
        match=r"would bring the customer's open Lightning invoices to 260,000 sat, "
        r"over their limit of 250,000 sat \(200,000 sat already open\)",
    ):
        open_invoice(session, lnd, parcel_from(session, regular), amount_sat=60_000)

    assert len(lab_lnd.node.payment_hashes()) == 1


def test_settled_and_expired_invoices_free_the_limit_again(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular: Party,
    regular_parcel: Parcel,
) -> None:
    paid = open_invoice(session, lnd, regular_parcel, amount_sat=100_000)
    open_invoice(session, lnd, parcel_from(session, regular), amount_sat=100_000)
    lab_lnd.node.settle(paid.payment_hash or "")
    poll(session, lnd, minutes=1)

    at_minute_2 = open_lightning_sat(
        session, customer=regular, now=DAY + timedelta(minutes=2)
    )
    after_expiry = open_lightning_sat(
        session, customer=regular, now=DAY + timedelta(minutes=61)
    )

    assert at_minute_2 == 100_000
    assert after_expiry == 0


def test_the_expiry_is_clamped_to_the_orders_deadline_and_journalled(
    session: Session, lnd: LndRestNode, regular_parcel: Parcel
) -> None:
    before = head_seq(session)

    opened = open_lightning_invoice(
        session,
        node=lnd,
        parcel=regular_parcel,
        amount_sat=25_000,
        deadline=DAY + timedelta(minutes=20),
        now=DAY,
        actor=ACTOR,
    )

    decoded = decode_invoice(opened.invoice.bolt11 or "", network=Network.REGTEST)
    assert opened.expiry_clamped
    assert decoded.expiry_seconds == 1200
    assert opened.invoice.expires_at == DAY + timedelta(minutes=20)
    assert "shortened from 3600 s to 1200 s" in opened.note
    event = session.scalars(
        select(JournalEvent).where(
            JournalEvent.seq > before, JournalEvent.kind == "LightningInvoiceOpened"
        )
    ).one()
    assert json.loads(event.payload)["expiry_clamped"] is True


def test_no_invoice_is_opened_once_the_deadline_has_passed(
    session: Session,
    lab_lnd: LabLightningServer,
    lnd: LndRestNode,
    regular_parcel: Parcel,
) -> None:
    with pytest.raises(PaymentError, match=r"payment deadline .* has passed"):
        open_invoice(session, lnd, regular_parcel, minutes=121)

    assert lab_lnd.node.payment_hashes() == []


def _opening_fails_and_leaves_nothing(
    engine: Engine, node: LndRestNode, error: type[Exception], match: str
) -> None:
    with Session(engine) as session, session.begin():
        parcel = parcel_from(session, customer(session, CustomerKind.REGULAR))
        parcel_id = parcel.id
    with Session(engine) as session, session.begin():
        before = head_seq(session)
    with (
        pytest.raises(error, match=match),
        Session(engine) as session,
        session.begin(),
    ):
        parcel = session.get_one(Parcel, parcel_id)
        open_invoice(session, node, parcel)

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0
        assert session.scalar(select(func.count()).select_from(LightningInvoice)) == 0
        assert head_seq(session) == before


def test_a_node_that_is_down_leaves_nothing_half_written(
    engine: Engine, lab_lnd: LabLightningServer, lnd: LndRestNode
) -> None:
    lnd.info()
    lab_lnd.faults.down = True

    _opening_fails_and_leaves_nothing(engine, lnd, NodeUnavailable, "cannot be reached")


def test_a_wrong_macaroon_gives_a_clear_error_and_writes_nothing(
    engine: Engine, lab_lnd: LabLightningServer
) -> None:
    config = lab_lnd.node_config()
    wrong = LndRestNode(dataclasses.replace(config, macaroon_hex="ab" * 32))

    _opening_fails_and_leaves_nothing(
        engine, wrong, NodeAccessDenied, "refused our macaroon"
    )
    wrong.close()


@pytest.mark.parametrize("lie", [LightningLie.AMOUNT, LightningLie.PAYMENT_HASH])
def test_a_node_signing_another_amount_or_hash_is_refused_and_nothing_stored(
    engine: Engine, lab_lnd: LabLightningServer, lnd: LndRestNode, lie: LightningLie
) -> None:
    lab_lnd.faults.lie = lie

    _opening_fails_and_leaves_nothing(engine, lnd, NodeMisbehaving, "differs from")


def test_a_node_whose_clock_is_off_is_refused(
    engine: Engine, lab_lnd: LabLightningServer, lnd: LndRestNode, lab_clock: LabClock
) -> None:
    lab_clock.now = DAY + timedelta(minutes=30)

    _opening_fails_and_leaves_nothing(engine, lnd, NodeMisbehaving, "from our clock")


def test_the_default_limit_applies_until_a_change_is_approved(
    session: Session, regular: Party
) -> None:
    change = propose_limit_change(
        session,
        customer=regular,
        limit_sat=600_000,
        reason="ships weekly, always pays",
        actor="ops-anna",
        at=DAY,
    )

    assert lightning_limit(session, customer=regular) == DEFAULT_LIGHTNING_LIMIT_SAT
    assert pending_limit_changes(session) == [change]


def test_a_limit_change_cannot_be_approved_by_its_proposer(
    session: Session, regular: Party
) -> None:
    change = propose_limit_change(
        session,
        customer=regular,
        limit_sat=600_000,
        reason="ships weekly",
        actor="ops-anna",
        at=DAY,
    )

    with pytest.raises(PaymentError, match="someone else must approve"):
        approve_limit_change(session, change=change, actor="ops-anna", at=DAY)

    assert change.status is LimitChangeStatus.PROPOSED


def test_a_limit_change_approved_by_a_second_person_applies_and_names_both(
    session: Session, regular: Party
) -> None:
    before = head_seq(session)
    change = propose_limit_change(
        session,
        customer=regular,
        limit_sat=600_000,
        reason="ships weekly",
        actor="ops-anna",
        at=DAY,
    )

    approve_limit_change(
        session, change=change, actor="ops-bjorn", at=DAY + timedelta(minutes=5)
    )

    assert lightning_limit(session, customer=regular) == 600_000
    events = session.scalars(
        select(JournalEvent).where(JournalEvent.seq > before).order_by(JournalEvent.seq)
    ).all()
    assert [(e.kind, e.actor) for e in events] == [
        ("LightningLimitProposed", "ops-anna"),
        ("LightningLimitApproved", "ops-bjorn"),
    ]
    approval = json.loads(events[1].payload)
    assert approval["proposed_by"] == "ops-anna"
    assert approval["previous_limit_sat"] == DEFAULT_LIGHTNING_LIMIT_SAT


def test_a_raised_limit_lets_a_larger_invoice_through(
    session: Session, lnd: LndRestNode, regular: Party, regular_parcel: Parcel
) -> None:
    change = propose_limit_change(
        session,
        customer=regular,
        limit_sat=400_000,
        reason="bulk sender",
        actor="ops-anna",
        at=DAY,
    )
    approve_limit_change(session, change=change, actor="ops-bjorn", at=DAY)

    invoice = open_invoice(session, lnd, regular_parcel, amount_sat=300_000)

    assert invoice.amount_sat == 300_000


def test_a_second_proposal_waits_for_the_first_to_be_decided(
    session: Session, regular: Party
) -> None:
    first = propose_limit_change(
        session,
        customer=regular,
        limit_sat=600_000,
        reason="ships weekly",
        actor="ops-anna",
        at=DAY,
    )

    with pytest.raises(PaymentError, match=f"already waiting \\(#{first.id}\\)"):
        propose_limit_change(
            session,
            customer=regular,
            limit_sat=700_000,
            reason="even more",
            actor="ops-carl",
            at=DAY,
        )


def test_a_rejected_limit_change_leaves_the_limit_and_cannot_be_approved(
    session: Session, regular: Party
) -> None:
    change = propose_limit_change(
        session,
        customer=regular,
        limit_sat=600_000,
        reason="ships weekly",
        actor="ops-anna",
        at=DAY,
    )
    reject_limit_change(
        session, change=change, actor="ops-bjorn", reason="two chargebacks", at=DAY
    )

    with pytest.raises(PaymentError, match="already rejected by ops-bjorn"):
        approve_limit_change(session, change=change, actor="ops-carl", at=DAY)

    assert lightning_limit(session, customer=regular) == DEFAULT_LIGHTNING_LIMIT_SAT


def test_opening_an_invoice_works_on_every_database(
    any_engine: Engine, lab_clock: LabClock
) -> None:
    with LabLightningServer(LabLightningNode(clock=lab_clock)) as server:
        node = LndRestNode(server.node_config())
        with Session(any_engine) as session, session.begin():
            parcel = parcel_from(session, customer(session, CustomerKind.REGULAR))
            invoice = open_invoice(session, node, parcel)
            invoice_id, payment_hash = invoice.id, invoice.payment_hash or ""
        server.node.settle(payment_hash)
        with Session(any_engine) as session, session.begin():
            report = poll(session, node, minutes=2)
        node.close()

    with Session(any_engine) as session:
        stored = session.get_one(Invoice, invoice_id)
        assert report.settled == [invoice_id]
        assert stored.status is InvoiceStatus.SETTLED
