"""How the invoice, payment and Lightning events are re-applied.

The step table :data:`PAYMENT_STEPS` that :mod:`controlroom.backup.replay`
runs, one entry per event kind, each writing its row as the service that
journalled it did (:mod:`controlroom.payments.service`, ``.onchain``,
``.marking``, ``.standing`` and ``.lightning.service``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, func

from controlroom.backup.replay_writes import (
    Build,
    Event,
    Row,
    Step,
    Write,
    inserts,
    maybe,
    parse_time,
    row_id,
    set_values,
    table_of,
    updates,
)
from controlroom.payments.lightning.models import (
    LightningInvoice,
    LightningLimitChange,
    LimitChangeStatus,
)
from controlroom.payments.lightning.node import LightningInvoiceState
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    MarkRequest,
    MarkRequestStatus,
    OrderClass,
    Payment,
    PaymentMethod,
    PaymentSpend,
    PaymentState,
)

_INVOICES = table_of(Invoice)
_PAYMENTS = table_of(Payment)
_SPENDS = table_of(PaymentSpend)
_MARKS = table_of(MarkRequest)
_LIGHTNING = table_of(LightningInvoice)
_LIMITS = table_of(LightningLimitChange)


# Invoices ----------------------------------------------------------------


def _issued(event: Event, body: Any) -> Row:
    return {
        "id": row_id(event, "invoice"),
        "parcel_id": body["parcel"],
        "method": PaymentMethod(body["method"]),
        "status": InvoiceStatus.NEW,
        "exception": None,
        "amount_sat": body["amount_sat"],
        "paid_sat": 0,
        "required_confirmations": body["required_confirmations"],
        "order_class": OrderClass(body["order_class"]),
        "tolerance_bp": body["tolerance_bp"],
        "address": body["address"],
        "bolt11": body["bolt11"],
        "payment_hash": body["payment_hash"],
        "created_at": event["occurred_at"],
        "expires_at": parse_time(body["expires_at"]),
        "monitoring_until": parse_time(body["monitoring_until"]),
        "monitoring_ended_at": None,
        "settled_at": None,
        "needs_operator": False,
    }


def _standing(status: InvoiceStatus) -> Step:
    # reassess_invoice: the status moved, with its sums; Settled keeps when.
    settles = status is InvoiceStatus.SETTLED

    def build(event: Event, body: Any) -> Row:
        values = {
            "exception": maybe(InvoiceException, body["exception"]),
            "paid_sat": body["paid_sat"],
            "needs_operator": bool(body["queue"]),
        }
        if settles:
            values["settled_at"] = event["occurred_at"]
        return set_values(row_id(event, "invoice"), **values)

    columns = ["exception", "paid_sat", "needs_operator"]
    columns += ["settled_at"] if settles else []
    fixed = {"status": status}
    return Step((updates(_INVOICES, "invoice", build, columns, fixed),))


def _marked(event: Event, body: Any) -> Row:
    status = InvoiceStatus(body["status"])
    settled = event["occurred_at"] if status is InvoiceStatus.SETTLED else None
    return set_values(row_id(event, "invoice"), status=status, settled_at=settled)


def _approved(event: Event, body: Any) -> Row | None:
    request = body["request"]
    if request is None:
        return None
    return set_values(
        request, decided_by=event["actor"], decided_at=event["occurred_at"]
    )


def _monitoring_ended(event: Event, _body: Any) -> Row:
    return set_values(
        row_id(event, "invoice"), monitoring_ended_at=event["occurred_at"]
    )


def _proposed_mark(event: Event, body: Any) -> Row:
    return {
        "id": body["request"],
        "invoice_id": row_id(event, "invoice"),
        "target": InvoiceStatus(body["target"]),
        "reason": body["reason"],
        "status": MarkRequestStatus.PROPOSED,
        "proposed_by": event["actor"],
        "proposed_at": event["occurred_at"],
        "decided_by": None,
        "decided_at": None,
    }


def _decided(key: str) -> Build:
    def build(event: Event, body: Any) -> Row:
        return set_values(
            body[key], decided_by=event["actor"], decided_at=event["occurred_at"]
        )

    return build


# Payments ----------------------------------------------------------------


def _seen(event: Event, body: Any) -> Row:
    onchain = PaymentMethod(body["method"]) is PaymentMethod.ONCHAIN
    state = PaymentState(body["state"])
    at = event["occurred_at"]
    return {
        "id": body["payment"],
        "invoice_id": row_id(event, "invoice"),
        "state": state,
        "txid": body["txid"] if onchain else None,
        "vout": body["vout"] if onchain else None,
        "payment_hash": None if onchain else body["payment_hash"],
        "amount_sat": body["amount_sat"],
        "confirmations": 0,
        "seen_at": at,
        "confirmed_at": at if state is PaymentState.CONFIRMED else None,
        "signals_rbf": body["signals_rbf"] if onchain else False,
        "block_height": None,
        "block_hash": None,
        "replaced_by": None,
        "double_spent_by": None,
    }


def _spends(_event: Event, body: Any) -> list[Row]:
    if PaymentMethod(body["method"]) is PaymentMethod.LIGHTNING:
        return []
    return [{"payment_id": body["payment"], "outpoint": o} for o in body["spends"]]


def _confirmed(event: Event, body: Any) -> Row:
    # restate_payment: the first time a payment is confirmed is kept.
    state = PaymentState(body["state"])
    first = event["occurred_at"] if state is PaymentState.CONFIRMED else None
    values: dict[str, Any] = {
        "state": state,
        "confirmations": body["confirmations"],
        "confirmed_at": first,
    }
    if "block_hash" in body:  # confirm_in_block: mined, whatever it lost
        values |= {
            "block_height": body["block_height"],
            "block_hash": body["block_hash"],
            "replaced_by": None,
            "double_spent_by": None,
        }
    return set_values(body["payment"], **values)


def _confirmation(columns: Sequence[str]) -> Write:
    first = func.coalesce(
        _PAYMENTS.c.confirmed_at,
        bindparam("new_confirmed_at", type_=_PAYMENTS.c.confirmed_at.type),
    )
    return updates(
        _PAYMENTS,
        "payment",
        _confirmed,
        ["state", "confirmations", *columns],
        {"confirmed_at": first},
    )


def _reorged(_event: Event, body: Any) -> Row:
    return set_values(body["payment"], state=PaymentState(body["state"]))


def _lost(state: PaymentState, column: str) -> Step:
    def build(_event: Event, body: Any) -> Row:
        return set_values(body["payment"], **{column: body["by"]})

    fixed: dict[str, Any] = {"state": state, "confirmations": 0}
    fixed |= {"block_height": None, "block_hash": None}
    return Step((updates(_PAYMENTS, "payment", build, [column], fixed),))


# Lightning ---------------------------------------------------------------


def _lightning_opened(event: Event, body: Any) -> Row:
    return {
        "invoice_id": row_id(event, "invoice"),
        "node_key": body["node"],
        "add_index": body["add_index"],
        "payee_node_id": body["payee_node_id"],
        "expiry_clamped": body["expiry_clamped"],
        "node_state": LightningInvoiceState.OPEN,
        "node_state_at": event["occurred_at"],
    }


def _node_state(event: Event, body: Any) -> Row:
    return set_values(
        row_id(event, "invoice"),
        node_state=LightningInvoiceState(body["to"]),
        node_state_at=event["occurred_at"],
    )


def _limit_proposed(event: Event, body: Any) -> Row:
    return {
        "id": body["change"],
        "party_id": row_id(event, "party"),
        "limit_sat": body["limit_sat"],
        "previous_limit_sat": body["previous_limit_sat"],
        "reason": body["reason"],
        "status": LimitChangeStatus.PROPOSED,
        "proposed_by": event["actor"],
        "proposed_at": event["occurred_at"],
        "decided_by": None,
        "decided_at": None,
    }


PAYMENT_STEPS: dict[str, Step] = {
    "InvoiceIssued": Step((inserts(_INVOICES, _issued),)),
    "InvoiceReopened": _standing(InvoiceStatus.NEW),
    "InvoiceProcessing": _standing(InvoiceStatus.PROCESSING),
    "InvoiceSettled": _standing(InvoiceStatus.SETTLED),
    "InvoiceExpired": _standing(InvoiceStatus.EXPIRED),
    "InvoiceInvalid": _standing(InvoiceStatus.INVALID),
    "InvoiceMarked": Step(
        (
            updates(
                _INVOICES,
                "invoice",
                _marked,
                ["status"],
                {
                    "exception": InvoiceException.MARKED,
                    "needs_operator": False,
                    "settled_at": func.coalesce(
                        _INVOICES.c.settled_at,
                        bindparam("new_settled_at", type_=_INVOICES.c.settled_at.type),
                    ),
                },
            ),
            updates(
                _MARKS,
                "mark request",
                _approved,
                ["decided_by", "decided_at"],
                {"status": MarkRequestStatus.APPROVED},
            ),
        )
    ),
    "InvoiceMonitoringEnded": Step(
        (updates(_INVOICES, "invoice", _monitoring_ended, ["monitoring_ended_at"]),)
    ),
    "InvoiceMarkProposed": Step((inserts(_MARKS, _proposed_mark),)),
    "InvoiceMarkRejected": Step(
        (
            updates(
                _MARKS,
                "mark request",
                _decided("request"),
                ["decided_by", "decided_at"],
                {"status": MarkRequestStatus.REJECTED},
            ),
        )
    ),
    "PaymentSeen": Step((inserts(_PAYMENTS, _seen), inserts(_SPENDS, _spends))),
    "PaymentConfirmed/mined": Step(
        (
            _confirmation(
                ["block_height", "block_hash", "replaced_by", "double_spent_by"]
            ),
        )
    ),
    "PaymentConfirmed/depth": Step((_confirmation([]),)),
    "PaymentReorged": Step(
        (
            updates(
                _PAYMENTS,
                "payment",
                _reorged,
                ["state"],
                {"block_height": None, "block_hash": None, "confirmations": 0},
            ),
        )
    ),
    "PaymentReplaced": _lost(PaymentState.REPLACED, "replaced_by"),
    "PaymentDoubleSpent": _lost(PaymentState.DOUBLE_SPENT, "double_spent_by"),
    "LightningInvoiceOpened": Step((inserts(_LIGHTNING, _lightning_opened),)),
    "LightningInvoiceStateChanged": Step(
        (
            updates(
                _LIGHTNING,
                "Lightning invoice",
                _node_state,
                ["node_state", "node_state_at"],
                key="invoice_id",
            ),
        )
    ),
    "LightningLimitProposed": Step((inserts(_LIMITS, _limit_proposed),)),
    "LightningLimitApproved": Step(
        (
            updates(
                _LIMITS,
                "Lightning limit change",
                _decided("change"),
                ["decided_by", "decided_at"],
                {"status": LimitChangeStatus.APPROVED},
            ),
        )
    ),
    "LightningLimitRejected": Step(
        (
            updates(
                _LIMITS,
                "Lightning limit change",
                _decided("change"),
                ["decided_by", "decided_at"],
                {"status": LimitChangeStatus.REJECTED},
            ),
        )
    ),
}
# PaymentConfirmed comes from a block (confirm_in_block journals its hash)
# or from a depth alone (update_confirmations, record_confirmations).
PAYMENT_VARIANTS: dict[str, Callable[[Any], str]] = {
    "PaymentConfirmed": lambda body: (
        "PaymentConfirmed/mined" if "block_hash" in body else "PaymentConfirmed/depth"
    ),
}
