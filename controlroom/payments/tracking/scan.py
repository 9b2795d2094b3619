"""Match transactions against the invoices the control room is waiting on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from controlroom.errors import PaymentError
from controlroom.payments import service as invoices
from controlroom.payments.addresses import Network, address_from_script
from controlroom.payments.blocks import ParsedTransaction
from controlroom.payments.models import Invoice, Payment


def scan_transactions(
    session: Session,
    transactions: Sequence[ParsedTransaction],
    *,
    network: Network,
    seen_at: datetime,
    actor: str,
) -> int:
    """Hand payments and conflicting spends to the invoices; return outputs paid.

    An output to a watched address is a payment; a transaction that pays no
    watched address but spends an outpoint an unsettled payment spent is a
    conflict (a double spend, or a replacement that no longer pays us).
    """
    watched = invoices.watched_addresses(session)
    outpoints = invoices.watched_outpoints(session)
    paid = 0
    for tx in transactions:
        # Coinbase outputs cannot be spent for 100 blocks (consensus rule
        # COINBASE_MATURITY): no customer pays an invoice with one.
        if tx.is_coinbase:
            continue
        hits = _paying_outputs(tx, watched, network)
        for vout, amount_sat, invoice_id in hits:
            invoice = session.get_one(Invoice, invoice_id)
            invoices.see_onchain_payment(
                session,
                invoice=invoice,
                txid=tx.txid,
                vout=vout,
                amount_sat=amount_sat,
                spends=tx.inputs,
                signals_rbf=tx.signals_rbf,
                # A block's time may run ahead of ours or before the invoice
                # (miners' clocks may be off by up to two hours).
                seen_at=max(invoice.created_at, seen_at),
                actor=actor,
            )
        paid += len(hits)
        if not hits and _conflicts(session, tx, outpoints):
            invoices.record_conflict(
                session, txid=tx.txid, spends=tx.inputs, at=seen_at, actor=actor
            )
    return paid


def _paying_outputs(
    tx: ParsedTransaction, watched: dict[str, int], network: Network
) -> list[tuple[int, int, int]]:
    hits = []
    for output in tx.outputs:
        try:
            address = address_from_script(output.script_pubkey, network=network)
        except PaymentError:
            continue  # OP_RETURN, bare multisig: no address, so no invoice
        invoice_id = watched.get(address.text)
        if invoice_id is not None:
            hits.append((output.vout, output.value_sat, invoice_id))
    return hits


def _conflicts(
    session: Session, tx: ParsedTransaction, outpoints: dict[str, int]
) -> bool:
    for outpoint in tx.inputs:
        payment_id = outpoints.get(outpoint)
        if payment_id is None:
            continue
        # The payment's own transaction spends these outpoints too.
        if session.get_one(Payment, payment_id).txid != tx.txid:
            return True
    return False
