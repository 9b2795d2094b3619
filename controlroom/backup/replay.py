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
fallback_wallets,           FallbackWalletAdded (with its key, below),
fallback_addresses          FallbackWalletActivated, FallbackAddressIssued
(.wallet_watch.service,
fallback_orders.merge)
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

``FallbackWalletAdded`` is re-applied only with the wallet's key, which
ops give the restore (``--wallet-key NAME=KEY``): the journal keeps it out
on purpose (a key shows every address of the wallet). Without it the
restore refuses, naming the wallet and the option, since the addresses and
payments that follow would hang off nothing (:mod:`.replay_wallets`).

An event whose payload lacks a field its row needs (journalled before the
field was: ``bolt11``, ``method``, ``spends``, a reorg's ``state``, a
mark's ``request``, ``payee_node_id``, an address's ``issued`` and
``wallet_id``, an observation's ``note``, a match's ``confidence``) refuses
the restore naming the event and the field; no value is made up.

Known gaps: a mined payment's depth moves with every block but is journalled
only when its state moves, so ``payments.confirmations`` comes back as last
journalled until the restored tracker's first round counts it from the tip
again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from controlroom.backup.replay_payments import PAYMENT_STEPS, PAYMENT_VARIANTS
from controlroom.backup.replay_wallets import WALLET_STEPS, with_wallet_key
from controlroom.backup.replay_writes import (
    Event,
    Row,
    Step,
    Write,
    inserts,
    parse_time,
    row_id,
    set_values,
    table_of,
    updates,
)
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
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    Payment,
    PaymentMethod,
)

_PARTIES = table_of(Party)
_PARCELS = table_of(Parcel)
_INVOICES = table_of(Invoice)
_PAYMENTS = table_of(Payment)

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


# Orders ------------------------------------------------------------------


def _party(event: Event, body: Any) -> Row:
    return {
        "id": row_id(event, "party"),
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
    pickup = [parse_time(at) for at in body["pickup_window"]]
    delivery = [parse_time(at) for at in body["delivery_window"]]
    return {
        "id": row_id(event, "parcel"),
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


def _move(status: ParcelStatus, column: str | None) -> Step:
    def build(event: Event, _body: Any) -> Row:
        at = {column: event["occurred_at"]} if column else {}
        return set_values(row_id(event, "parcel"), **at)

    columns = (column,) if column else ()
    fixed = {"status": status}
    return Step((updates(_PARCELS, "parcel", build, columns, fixed),))


# The steps, built once: a run of events of one kind goes to the database
# as one executemany, which is what lets a restore replay thousands of
# orders in well under a second (benchmarks/restore_bench.py).
_STEPS: dict[str, Step] = {
    "PartyRegistered": Step((inserts(_PARTIES, _party),)),
    "ParcelOrdered": Step((inserts(_PARCELS, _ordered),)),
    "ParcelPickedUp": _move(ParcelStatus.PICKED_UP, "picked_up_at"),
    "ParcelDelivered": _move(ParcelStatus.DELIVERED, "delivered_at"),
    "ParcelCancelled": _move(ParcelStatus.CANCELLED, None),
    **PAYMENT_STEPS,
    **WALLET_STEPS,
}
REAPPLIED_KINDS = frozenset(
    {name.partition("/")[0] for name in _STEPS} | PAYMENT_VARIANTS.keys()
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


def _step_name(event: Event, wallet_keys: Mapping[str, str]) -> tuple[str, Any]:
    try:
        body = json.loads(event["payload"])
        if event["kind"] == "FallbackWalletAdded":
            body = with_wallet_key(event, body, wallet_keys)
        choose = PAYMENT_VARIANTS.get(event["kind"])
        return (choose(body) if choose else event["kind"]), body
    except _BAD_PAYLOAD as exc:
        raise _refuse_payload(event, exc) from exc


def _built(write: Write, run: Sequence[tuple[Event, Any]]) -> list[Row]:
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
    connection: Connection, write: Write, where: str, params: Sequence[Row]
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
    return set_values(
        invoice.id,
        exception=verdict.exception,
        paid_sat=verdict.paid_sat,
        needs_operator=verdict.needs_operator,
    )


def reapply_orders(
    connection: Connection,
    events: Sequence[Event],
    *,
    wallet_keys: Mapping[str, str] | None = None,
) -> Replay:
    """Apply the order and payment events among ``events``, in order.

    ``wallet_keys`` holds, by name, the key of each fallback wallet added
    after the snapshot; it is checked and never logged.
    """
    keys = wallet_keys or {}
    replay = Replay()
    invoices: set[int] = set()
    run: list[tuple[Event, Any]] = []
    name = ""
    for event in events:
        kind = event["kind"]
        if kind not in REAPPLIED_KINDS:
            replay.journal_only[kind] += 1
            continue
        replay.applied[kind] += 1
        step, body = _step_name(event, keys)
        limit = 1 if _STEPS[step].single else RUN_LIMIT
        if run and (step != name or len(run) >= limit):
            _apply_run(connection, replay, name, run)
            run = []
        name = step
        run.append((event, body))
        subject: str = event["subject"]
        if subject.startswith("invoice:"):
            invoices.add(row_id(event, "invoice"))
    if run:
        _apply_run(connection, replay, name, run)
    _restate_invoices(connection, invoices)
    return replay
