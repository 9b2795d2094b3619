"""Re-applying journalled events to a restored database's tables.

A restore copies a snapshot and then appends the journal events shipped
after it; the events below are re-applied to their tables too, each as the
service that journalled it wrote the row, with the row id its subject or
payload names, so every acknowledged order, invoice and payment is back.

==========================  ===============================================
tables (who writes them)    events re-applied
==========================  ===============================================
parties, parcels            PartyRegistered, ParcelOrdered, ParcelPickedUp,
(orders.service)            ParcelDelivered, ParcelCancelled
invoices (payments.service  InvoiceIssued; InvoiceReopened, InvoiceProcessing,
and .standing, the          InvoiceSettled, InvoiceExpired, InvoiceInvalid;
Lightning and fallback      InvoiceMarked; InvoiceMonitoringEnded
services through them)
payments, payment_spends    PaymentSeen, PaymentConfirmed, PaymentReorged,
(.service, .onchain)        PaymentReplaced, PaymentDoubleSpent
invoice_mark_requests       InvoiceMarkProposed, InvoiceMarkRejected; an
(.marking)                  approval is the ``request`` of InvoiceMarked
lightning_invoices,         LightningInvoiceOpened, LightningInvoiceStateChanged,
lightning_limit_changes     LightningLimitProposed, LightningLimitApproved,
(.lightning.service)        LightningLimitRejected
fallback_wallets,           FallbackWalletActivated, FallbackAddressIssued
fallback_addresses
(.wallet_watch.service)
wallet_observations,        PaymentObserved; WalletMatchProposed,
wallet_matches              WalletMatchedByHand, WalletMatchConfirmed,
(.wallet_watch.observations WalletMatchVerified, WalletMatchRejected
and .verification)
==========================  ===============================================

An invoice's sums (``paid_sat``, ``exception``, ``needs_operator``) move
with each payment but are journalled only when its status moves; after the
events are applied they are derived again, for every invoice an event was
about, with the lifecycle rules the live service uses
(:func:`controlroom.payments.lifecycle.assess_invoice`).

Kept in the journal only, and counted for the restore report:

* ``ObservationsImported``: a file import's summary; each row it added is
  its own ``PaymentObserved``.
* ``PaymentTrackingStarted``, ``PaymentChainReorganised`` and
  ``PaymentTrackingFailedOver``: the tracker's own tables (tracked_blocks,
  payment_tracker_progress, payment_tracker_failovers, and
  payment_node_checks, which no event records) are its cache of the chain
  and of node health. The restored tracker resumes from the snapshot's
  progress and walks the later blocks again, which changes nothing the
  replay restored: an output is seen once, a block confirms a payment once.
* every kind about other capabilities (health, incidents, dispatch, ...).

``FallbackWalletAdded`` refuses the restore, naming the wallet: its
watch-only key is kept out of the journal on purpose (a key shows every
address of the wallet), so a wallet added after the snapshot cannot be
rebuilt, and the addresses and payments that follow would hang off nothing.

An event whose payload lacks a field its row needs (journalled before the
field was: ``bolt11``, ``method``, ``spends``, a reorg's ``state``, a
mark's ``request``, ``payee_node_id``, an address's ``issued`` and
``wallet_id``, an observation's ``note``, a match's ``confidence``) refuses
the restore naming the event and the field; no value is made up.

Known gaps: a mined payment's depth moves with every block but is journalled
only when its state moves, so ``payments.confirmations`` comes back as last
journalled until the restored tracker's first round counts it from the tip
again; and the fallback addresses ``fallback_orders.merge`` writes are not
journalled, so a restore cannot bring those rows back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Executable,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from controlroom.errors import RestoreRefused
from controlroom.orders.models import (
    CustomerKind,
    OrderChannel,
    Parcel,
    ParcelStatus,
    Party,
    PartyKind,
)
from controlroom.payments.lifecycle import (
    InvoiceTerms,
    PaymentFacts,
    assess_invoice,
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
from controlroom.payments.wallet_watch.matching import MatchRule
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    IssuedAddress,
    MatchProposal,
    MatchStatus,
    Observation,
    ObservationSource,
)

Event = Mapping[str, Any]
Row = dict[str, Any]
Build = Callable[[Event, Any], Row | list[Row] | None]
_E = TypeVar("_E", bound=StrEnum)


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


_PARTIES = _table(Party)
_PARCELS = _table(Parcel)
_INVOICES = _table(Invoice)
_PAYMENTS = _table(Payment)
_SPENDS = _table(PaymentSpend)
_MARKS = _table(MarkRequest)
_LIGHTNING = _table(LightningInvoice)
_LIMITS = _table(LightningLimitChange)
_WALLETS = _table(FallbackWallet)
_ADDRESSES = _table(IssuedAddress)
_OBSERVATIONS = _table(Observation)
_MATCHES = _table(MatchProposal)
# ParcelOrdered does not journal the stop's service time; the default that
# place_order uses is the best we can restore until it does.
DEFAULT_SERVICE_MINUTES = 5


@dataclass
class Replay:
    """What a replay applied, the rows it added, and what it left alone."""

    applied: Counter[str] = field(default_factory=Counter)
    journal_only: Counter[str] = field(default_factory=Counter)
    rows_added: Counter[str] = field(default_factory=Counter)

    @property
    def parties(self) -> int:
        """Parties registered after the snapshot."""
        return self.applied["PartyRegistered"]

    @property
    def parcels(self) -> int:
        """Parcels ordered after the snapshot."""
        return self.applied["ParcelOrdered"]


@dataclass(frozen=True)
class _Write:
    """One statement a kind of event runs, and the parameters each event gives.

    An insert adds one row to ``adds`` per parameter set (an upsert: as many
    as it reports); an update must find the row its ``row`` parameter names
    in ``table``, a ``noun`` the refusal uses.
    """

    statement: Executable
    build: Build
    adds: str | None = None
    table: Table | None = None
    noun: str = ""
    key: str = "id"
    upsert: bool = False


@dataclass(frozen=True)
class _Step:
    """How one kind of event is re-applied; ``single``: one event at a time."""

    writes: tuple[_Write, ...]
    single: bool = False


def _insert(table: Table, build: Build) -> _Write:
    return _Write(insert(table), build, adds=table.name)


def _update(
    table: Table,
    noun: str,
    build: Build,
    columns: Iterable[str] = (),
    fixed: Mapping[str, Any] | None = None,
    *,
    key: str = "id",
) -> _Write:
    values: dict[str, Any] = {
        column: bindparam(f"new_{column}", type_=table.c[column].type)
        for column in columns
    }
    values.update(fixed or {})
    statement = update(table).where(table.c[key] == bindparam("row")).values(values)
    return _Write(statement, build, table=table, noun=noun, key=key)


def _set(row: int, **values: Any) -> Row:
    return {"row": row, **{f"new_{name}": value for name, value in values.items()}}


def _row_id(event: Event, prefix: str) -> int:
    subject: str = event["subject"]
    kind, _, number = subject.partition(":")
    if kind != prefix or not number.isdigit():
        raise RestoreRefused(
            f"Event {event['seq']} ({event['kind']}) has the subject {subject!r}, "
            f"not {prefix}:<id>; the journal cannot be re-applied."
        )
    return int(number)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _maybe(enum: type[_E], value: str | None) -> _E | None:
    return None if value is None else enum(value)


# Orders ------------------------------------------------------------------


def _party(event: Event, body: Any) -> Row:
    return {
        "id": _row_id(event, "party"),
        "kind": PartyKind(body["kind"]),
        "name": body["name"],
        "phone": body["phone"],
        "street": body["street"],
        "postcode": body["postcode"],
        "city": body["city"],
        "lat": body["lat"],
        "lon": body["lon"],
        "customer_kind": CustomerKind(body["customer_kind"]),
        "created_at": event["occurred_at"],
    }


def _ordered(event: Event, body: Any) -> Row:
    pickup = [_at(at) for at in body["pickup_window"]]
    delivery = [_at(at) for at in body["delivery_window"]]
    return {
        "id": _row_id(event, "parcel"),
        "code": body["code"],
        "idempotency_key": body["idempotency_key"],
        "status": ParcelStatus.ORDERED,
        "channel": OrderChannel(body["channel"]),
        "sender_id": body["sender"],
        "recipient_id": body["recipient"],
        "load": body["load"],
        "service_minutes": body.get("service_minutes", DEFAULT_SERVICE_MINUTES),
        "pickup_from": pickup[0],
        "pickup_until": pickup[1],
        "deliver_from": delivery[0],
        "deliver_until": delivery[1],
        "ordered_at": event["occurred_at"],
        "price_sat": body["price_sat"],
    }


def _move(status: ParcelStatus, column: str | None) -> _Step:
    def build(event: Event, _body: Any) -> Row:
        at = {column: event["occurred_at"]} if column else {}
        return _set(_row_id(event, "parcel"), **at)

    columns = (column,) if column else ()
    fixed = {"status": status}
    return _Step((_update(_PARCELS, "parcel", build, columns, fixed),))


# Invoices ----------------------------------------------------------------


def _issued(event: Event, body: Any) -> Row:
    return {
        "id": _row_id(event, "invoice"),
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
        "expires_at": _at(body["expires_at"]),
        "monitoring_until": _at(body["monitoring_until"]),
        "monitoring_ended_at": None,
        "settled_at": None,
        "needs_operator": False,
    }


def _standing(status: InvoiceStatus) -> _Step:
    # reassess_invoice: the status moved, with its sums; Settled keeps when.
    settles = status is InvoiceStatus.SETTLED

    def build(event: Event, body: Any) -> Row:
        values = {
            "exception": _maybe(InvoiceException, body["exception"]),
            "paid_sat": body["paid_sat"],
            "needs_operator": bool(body["queue"]),
        }
        if settles:
            values["settled_at"] = event["occurred_at"]
        return _set(_row_id(event, "invoice"), **values)

    columns = ["exception", "paid_sat", "needs_operator"]
    columns += ["settled_at"] if settles else []
    fixed = {"status": status}
    return _Step((_update(_INVOICES, "invoice", build, columns, fixed),))


def _marked(event: Event, body: Any) -> Row:
    status = InvoiceStatus(body["status"])
    settled = event["occurred_at"] if status is InvoiceStatus.SETTLED else None
    return _set(_row_id(event, "invoice"), status=status, settled_at=settled)


def _approved(event: Event, body: Any) -> Row | None:
    request = body["request"]
    if request is None:
        return None
    return _set(request, decided_by=event["actor"], decided_at=event["occurred_at"])


def _monitoring_ended(event: Event, _body: Any) -> Row:
    return _set(_row_id(event, "invoice"), monitoring_ended_at=event["occurred_at"])


def _proposed_mark(event: Event, body: Any) -> Row:
    return {
        "id": body["request"],
        "invoice_id": _row_id(event, "invoice"),
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
        return _set(
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
        "invoice_id": _row_id(event, "invoice"),
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
    return _set(body["payment"], **values)


def _confirmation(columns: Sequence[str]) -> _Write:
    first = func.coalesce(
        _PAYMENTS.c.confirmed_at,
        bindparam("new_confirmed_at", type_=_PAYMENTS.c.confirmed_at.type),
    )
    return _update(
        _PAYMENTS,
        "payment",
        _confirmed,
        ["state", "confirmations", *columns],
        {"confirmed_at": first},
    )


def _reorged(_event: Event, body: Any) -> Row:
    return _set(body["payment"], state=PaymentState(body["state"]))


def _lost(state: PaymentState, column: str) -> _Step:
    def build(_event: Event, body: Any) -> Row:
        return _set(body["payment"], **{column: body["by"]})

    fixed: dict[str, Any] = {"state": state, "confirmations": 0}
    fixed |= {"block_height": None, "block_hash": None}
    return _Step((_update(_PAYMENTS, "payment", build, [column], fixed),))


# Lightning ---------------------------------------------------------------


def _lightning_opened(event: Event, body: Any) -> Row:
    return {
        "invoice_id": _row_id(event, "invoice"),
        "node_key": body["node"],
        "add_index": body["add_index"],
        "payee_node_id": body["payee_node_id"],
        "expiry_clamped": body["expiry_clamped"],
        "node_state": LightningInvoiceState.OPEN,
        "node_state_at": event["occurred_at"],
    }


def _node_state(event: Event, body: Any) -> Row:
    return _set(
        _row_id(event, "invoice"),
        node_state=LightningInvoiceState(body["to"]),
        node_state_at=event["occurred_at"],
    )


def _limit_proposed(event: Event, body: Any) -> Row:
    return {
        "id": body["change"],
        "party_id": _row_id(event, "party"),
        "limit_sat": body["limit_sat"],
        "previous_limit_sat": body["previous_limit_sat"],
        "reason": body["reason"],
        "status": LimitChangeStatus.PROPOSED,
        "proposed_by": event["actor"],
        "proposed_at": event["occurred_at"],
        "decided_by": None,
        "decided_at": None,
    }


# Fallback wallets --------------------------------------------------------


def _wallet_id(event: Event, _body: Any) -> Row:
    return {"row": _row_id(event, "fallback_wallet")}


def _address_issued(event: Event, body: Any) -> Row:
    return {
        "id": body["issued"],
        "wallet_id": body["wallet_id"],
        "derivation_index": body["index"],
        "address": body["address"],
        "invoice_id": _row_id(event, "invoice"),
        "parcel_id": body["parcel"],
        "issued_by": event["actor"],
        "issued_at": event["occurred_at"],
    }


def _observed(event: Event, body: Any) -> Row:
    return {
        "id": _row_id(event, "wallet_observation"),
        "address": body["address"],
        "amount_sat": body["amount_sat"],
        "txid": body["txid"],
        "observed_at": _at(body["observed_at"]),
        "source": ObservationSource(body["source"]),
        "file_name": body["file"],
        "file_row": body["row"],
        "note": body["note"],
        "recorded_by": event["actor"],
        "recorded_at": event["occurred_at"],
    }


def _match(status: MatchStatus) -> Build:
    def build(event: Event, body: Any) -> Row:
        at, actor = event["occurred_at"], event["actor"]
        confirmed = status is MatchStatus.CONFIRMED
        return {
            "id": body["match"],
            "observation_id": body["observation"],
            "invoice_id": _row_id(event, "invoice"),
            "rule": MatchRule(body["rule"]),
            "confidence": body["confidence"],
            "status": status,
            "proposed_at": at,
            "proposed_by": actor,
            "confirmed_by": actor if confirmed else None,
            "confirmed_at": at if confirmed else None,
        }

    return build


def _by_hand(event: Event, body: Any) -> Row:
    # match_by_hand: a new match, or one rejected before, now confirmed.
    return _set(
        body["match"],
        rule=MatchRule(body["rule"]),
        confidence=body["confidence"],
        confirmed_by=event["actor"],
        confirmed_at=event["occurred_at"],
    )


def _match_step(status: MatchStatus, who: str) -> _Step:
    def build(event: Event, body: Any) -> Row:
        values = {f"{who}_by": event["actor"], f"{who}_at": event["occurred_at"]}
        if status is MatchStatus.REJECTED:
            values["reject_reason"] = body["reason"][:240]
        return _set(body["match"], **values)

    columns = [f"{who}_by", f"{who}_at"]
    columns += ["reject_reason"] if status is MatchStatus.REJECTED else []
    fixed = {"status": status}
    return _Step((_update(_MATCHES, "wallet match", build, columns, fixed),))


# The steps, built once: a run of events of one kind goes to the database
# as one executemany, which is what lets a restore replay thousands of
# orders in well under a second (benchmarks/restore_bench.py).
_STEPS: dict[str, _Step] = {
    "PartyRegistered": _Step((_insert(_PARTIES, _party),)),
    "ParcelOrdered": _Step((_insert(_PARCELS, _ordered),)),
    "ParcelPickedUp": _move(ParcelStatus.PICKED_UP, "picked_up_at"),
    "ParcelDelivered": _move(ParcelStatus.DELIVERED, "delivered_at"),
    "ParcelCancelled": _move(ParcelStatus.CANCELLED, None),
    "InvoiceIssued": _Step((_insert(_INVOICES, _issued),)),
    "InvoiceReopened": _standing(InvoiceStatus.NEW),
    "InvoiceProcessing": _standing(InvoiceStatus.PROCESSING),
    "InvoiceSettled": _standing(InvoiceStatus.SETTLED),
    "InvoiceExpired": _standing(InvoiceStatus.EXPIRED),
    "InvoiceInvalid": _standing(InvoiceStatus.INVALID),
    "InvoiceMarked": _Step(
        (
            _update(
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
            _update(
                _MARKS,
                "mark request",
                _approved,
                ["decided_by", "decided_at"],
                {"status": MarkRequestStatus.APPROVED},
            ),
        )
    ),
    "InvoiceMonitoringEnded": _Step(
        (_update(_INVOICES, "invoice", _monitoring_ended, ["monitoring_ended_at"]),)
    ),
    "InvoiceMarkProposed": _Step((_insert(_MARKS, _proposed_mark),)),
    "InvoiceMarkRejected": _Step(
        (
            _update(
                _MARKS,
                "mark request",
                _decided("request"),
                ["decided_by", "decided_at"],
                {"status": MarkRequestStatus.REJECTED},
            ),
        )
    ),
    "PaymentSeen": _Step((_insert(_PAYMENTS, _seen), _insert(_SPENDS, _spends))),
    "PaymentConfirmed/mined": _Step(
        (
            _confirmation(
                ["block_height", "block_hash", "replaced_by", "double_spent_by"]
            ),
        )
    ),
    "PaymentConfirmed/depth": _Step((_confirmation([]),)),
    "PaymentReorged": _Step(
        (
            _update(
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
    "LightningInvoiceOpened": _Step((_insert(_LIGHTNING, _lightning_opened),)),
    "LightningInvoiceStateChanged": _Step(
        (
            _update(
                _LIGHTNING,
                "Lightning invoice",
                _node_state,
                ["node_state", "node_state_at"],
                key="invoice_id",
            ),
        )
    ),
    "LightningLimitProposed": _Step((_insert(_LIMITS, _limit_proposed),)),
    "LightningLimitApproved": _Step(
        (
            _update(
                _LIMITS,
                "Lightning limit change",
                _decided("change"),
                ["decided_by", "decided_at"],
                {"status": LimitChangeStatus.APPROVED},
            ),
        )
    ),
    "LightningLimitRejected": _Step(
        (
            _update(
                _LIMITS,
                "Lightning limit change",
                _decided("change"),
                ["decided_by", "decided_at"],
                {"status": LimitChangeStatus.REJECTED},
            ),
        )
    ),
    # activate_wallet: one active wallet at a time, so one event at a time.
    "FallbackWalletActivated": _Step(
        (
            _Write(
                update(_WALLETS)
                .where(_WALLETS.c.active, _WALLETS.c.id != bindparam("row"))
                .values(active=False),
                _wallet_id,
            ),
            _update(_WALLETS, "fallback wallet", _wallet_id, (), {"active": True}),
        ),
        single=True,
    ),
    "FallbackAddressIssued": _Step((_insert(_ADDRESSES, _address_issued),)),
    "PaymentObserved": _Step((_insert(_OBSERVATIONS, _observed),)),
    "WalletMatchProposed": _Step((_insert(_MATCHES, _match(MatchStatus.PROPOSED)),)),
    # match_by_hand re-uses a rejected match of the same pair, or adds one;
    # the target is always SQLite (restore.target_path), hence its upsert.
    "WalletMatchedByHand": _Step(
        (
            _Write(
                sqlite.insert(_MATCHES).on_conflict_do_nothing(),
                _match(MatchStatus.CONFIRMED),
                adds=_MATCHES.name,
                upsert=True,
            ),
            _update(
                _MATCHES,
                "wallet match",
                _by_hand,
                ["rule", "confidence", "confirmed_by", "confirmed_at"],
                {
                    "status": MatchStatus.CONFIRMED,
                    "rejected_by": None,
                    "rejected_at": None,
                    "reject_reason": None,
                },
            ),
        ),
        single=True,
    ),
    "WalletMatchConfirmed": _match_step(MatchStatus.CONFIRMED, "confirmed"),
    "WalletMatchVerified": _match_step(MatchStatus.VERIFIED, "verified"),
    "WalletMatchRejected": _match_step(MatchStatus.REJECTED, "rejected"),
}
# PaymentConfirmed comes from a block (confirm_in_block journals its hash)
# or from a depth alone (update_confirmations, record_confirmations).
_VARIANTS: dict[str, Callable[[Any], str]] = {
    "PaymentConfirmed": lambda body: (
        "PaymentConfirmed/mined" if "block_hash" in body else "PaymentConfirmed/depth"
    ),
}
REAPPLIED_KINDS = frozenset(
    {name.partition("/")[0] for name in _STEPS} | _VARIANTS.keys()
)
# Bounds one executemany, and the IN list that names a missing row.
RUN_LIMIT = 5_000
_BAD_PAYLOAD = (KeyError, ValueError, TypeError, IndexError, AttributeError)


def _refuse_payload(event: Event, exc: Exception) -> RestoreRefused:
    where = f"Event {event['seq']} ({event['kind']}, {event['subject']})"
    if isinstance(exc, KeyError):
        return RestoreRefused(
            f"{where} cannot be re-applied: its payload has no {exc.args[0]!r}, "
            "which the row it re-creates needs (an older control room did not "
            "journal it). The restore will not make a value up; restore from "
            f"a snapshot taken after event {event['seq']}."
        )
    return RestoreRefused(
        f"{where} cannot be re-applied: its payload garbles a field ({exc})."
    )


def _refuse_new_wallet(event: Event) -> RestoreRefused:
    try:
        name = repr(json.loads(event["payload"])["name"])
    except _BAD_PAYLOAD:
        name = "(unnamed)"
    return RestoreRefused(
        f"Event {event['seq']} ({event['kind']}, {event['subject']}) adds the "
        f"fallback wallet {name} after the snapshot. Its watch-only key is kept "
        "out of the journal on purpose, so the restore cannot rebuild it, nor "
        "the addresses it gave orders. Restore from a snapshot taken after "
        f"event {event['seq']}; 'controlroom backup snapshot' takes one."
    )


def _step_name(event: Event) -> tuple[str, Any]:
    try:
        body = json.loads(event["payload"])
        choose = _VARIANTS.get(event["kind"])
        return (choose(body) if choose else event["kind"]), body
    except _BAD_PAYLOAD as exc:
        raise _refuse_payload(event, exc) from exc


def _built(write: _Write, run: Sequence[tuple[Event, Any]]) -> list[Row]:
    params: list[Row] = []
    for event, body in run:
        try:
            built = write.build(event, body)
        except _BAD_PAYLOAD as exc:
            raise _refuse_payload(event, exc) from exc
        if isinstance(built, list):
            params += built
        elif built is not None:
            params.append(built)
    return params


def _apply_run(
    connection: Connection, replay: Replay, name: str, run: Sequence[tuple[Event, Any]]
) -> None:
    first, last = run[0][0], run[-1][0]
    where = f"events {first['seq']}..{last['seq']} ({first['kind']})"
    for write in _STEPS[name].writes:
        params = _built(write, run)
        if not params:
            continue
        try:
            changed = connection.execute(write.statement, params).rowcount
        except IntegrityError as exc:
            raise RestoreRefused(
                f"The {where} cannot be re-applied: a row they create is already "
                "in the snapshot, or names a row that is not; the journal and "
                "the snapshot do not belong together."
            ) from exc
        if write.adds is not None:
            replay.rows_added[write.adds] += changed if write.upsert else len(params)
        elif write.table is not None and changed != len(params):
            _refuse_missing(connection, write, where, params)


def _refuse_missing(
    connection: Connection, write: _Write, where: str, params: Sequence[Row]
) -> None:
    assert write.table is not None
    column = write.table.c[write.key]
    wanted = [p["row"] for p in params]
    known = set(connection.execute(select(column).where(column.in_(wanted))).scalars())
    missing = next((row for row in wanted if row not in known), "?")
    raise RestoreRefused(
        f"Among the {where}, one is about {write.noun} {missing}, which is neither "
        "in the snapshot nor added after it; the journal and the snapshot do not "
        "belong together."
    )


def _restate_invoices(connection: Connection, ids: set[int]) -> None:
    """Derive the sums of the invoices ``ids`` again, as reassess_invoice does."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), RUN_LIMIT):
        chunk = ordered[start : start + RUN_LIMIT]
        invoices = connection.execute(
            select(_INVOICES).where(_INVOICES.c.id.in_(chunk))
        ).all()
        payments: dict[int, list[Any]] = {}
        for payment in connection.execute(
            select(_PAYMENTS).where(_PAYMENTS.c.invoice_id.in_(chunk))
        ):
            payments.setdefault(payment.invoice_id, []).append(payment)
        params = [_sums(i, payments.get(i.id, [])) for i in invoices]
        if params:
            connection.execute(_RESTATE, params)


_RESTATE = (
    update(_INVOICES)
    .where(_INVOICES.c.id == bindparam("row"))
    .values(
        {
            column: bindparam(f"new_{column}", type_=_INVOICES.c[column].type)
            for column in ("exception", "paid_sat", "needs_operator")
        }
    )
)


def _sums(invoice: Any, payments: Sequence[Any]) -> Row:
    terms = InvoiceTerms(
        amount_sat=invoice.amount_sat,
        created_at=invoice.created_at,
        expires_at=invoice.expires_at,
        monitoring_until=invoice.monitoring_until,
        tolerance_bp=invoice.tolerance_bp,
        required_confirmations=invoice.required_confirmations,
    )
    offchain = invoice.method is PaymentMethod.LIGHTNING
    facts = [
        PaymentFacts(
            amount_sat=p.amount_sat,
            seen_at=p.seen_at,
            state=p.state,
            confirmations=p.confirmations,
            signals_rbf=p.signals_rbf,
            offchain=offchain,
        )
        for p in payments
    ]
    verdict = assess_invoice(
        terms,
        facts,
        status=invoice.status,
        marked=invoice.exception is InvoiceException.MARKED,
    )
    return _set(
        invoice.id,
        exception=verdict.exception,
        paid_sat=verdict.paid_sat,
        needs_operator=verdict.needs_operator,
    )


def reapply_orders(connection: Connection, events: Sequence[Event]) -> Replay:
    """Apply the order and payment events among ``events``, in order."""
    replay = Replay()
    invoices: set[int] = set()
    run: list[tuple[Event, Any]] = []
    name = ""
    for event in events:
        kind = event["kind"]
        if kind == "FallbackWalletAdded":
            raise _refuse_new_wallet(event)
        if kind not in REAPPLIED_KINDS:
            replay.journal_only[kind] += 1
            continue
        replay.applied[kind] += 1
        step, body = _step_name(event)
        limit = 1 if _STEPS[step].single else RUN_LIMIT
        if run and (step != name or len(run) >= limit):
            _apply_run(connection, replay, name, run)
            run = []
        name = step
        run.append((event, body))
        subject: str = event["subject"]
        if subject.startswith("invoice:"):
            invoices.add(_row_id(event, "invoice"))
    if run:
        _apply_run(connection, replay, name, run)
    _restate_invoices(connection, invoices)
    return replay
