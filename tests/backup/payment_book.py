"""Invoices and payments in every state, made through the payment services.

Each change is its own transaction, as the tracker, the Lightning poller,
the Wallet watch screen and the operator queue make them, so the journal
holds exactly what a restore must replay. :meth:`PaymentBook.round` builds
one round of everything; :meth:`PaymentBook.later` moves an earlier round's
invoices on (mined again, marked, approved, verified, monitoring ended).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from controlroom.orders.models import CustomerKind, Party, PartyKind
from controlroom.orders.service import find_parcel, register_party
from controlroom.payments.addresses import Network
from controlroom.payments.lab.lightning_node import LabLightningNode
from controlroom.payments.lightning.models import LightningLimitChange
from controlroom.payments.lightning.node import LightningNode
from controlroom.payments.lightning.service import (
    approve_limit_change,
    open_lightning_invoice,
    poll_lightning_invoices,
    propose_limit_change,
    reject_limit_change,
)
from controlroom.payments.marking import approve_mark, propose_mark, reject_mark
from controlroom.payments.models import (
    Invoice,
    InvoiceStatus,
    MarkRequest,
    Payment,
    PaymentMethod,
)
from controlroom.payments.service import (
    confirm_in_block,
    issue_invoice,
    record_confirmations,
    record_conflict,
    refresh_invoices,
    see_onchain_payment,
    unconfirm_block,
    update_confirmations,
)
from controlroom.payments.wallet_watch.models import (
    FallbackWallet,
    MatchProposal,
    WalletKind,
)
from controlroom.payments.wallet_watch.observations import record_observation
from controlroom.payments.wallet_watch.service import (
    activate_wallet,
    add_fallback_wallet,
    issue_fallback_address,
)
from controlroom.payments.wallet_watch.verification import (
    confirm_match,
    match_by_hand,
    reject_match,
    verify_match,
)
from tests.backup.order_book import place_orders
from tests.conftest import DAY
from tests.orders.world import order
from tests.payments.wallet_watch.conftest import ACCOUNT_ZPUB, REUSED

TRACKER = "tracker"
POLLER = "lightning-poller"


class LabClock:
    """The lab Lightning node's clock, set by the book to its own time."""

    def __init__(self) -> None:
        self.now = DAY

    def __call__(self) -> datetime:
        return self.now


def txid(round_number: int, letter: str) -> str:
    """A txid unique to a round and a payment of it."""
    return f"{round_number:02x}{ord(letter):02x}" * 16


def block(round_number: int, number: int) -> str:
    """A block hash unique to a round."""
    return f"{round_number:04x}{number:04x}".rjust(64, "0")


@dataclass
class Round:
    """The ids one round made, for :meth:`PaymentBook.later`."""

    number: int
    invoices: dict[str, int] = field(default_factory=dict)
    pending_mark: int = 0
    pending_limit: int = 0
    pending_match: int = 0


class PaymentBook:
    """Makes invoices and payments through the services, one transaction each."""

    def __init__(
        self,
        engine: Engine,
        node: LightningNode,
        lab: LabLightningNode,
        clock: LabClock,
    ) -> None:
        self.engine = engine
        self.node = node
        self.lab = lab
        self.clock = clock

    @contextmanager
    def change(self) -> Iterator[Session]:
        """One transaction, committed at the end."""
        with Session(self.engine) as session, session.begin():
            yield session

    def add_wallets(self) -> None:
        """The HD wallet new fallback orders use, and a single reused address."""
        with self.change() as session:
            add_fallback_wallet(
                session,
                name="Reused",
                kind=WalletKind.SINGLE_ADDRESS,
                public_key=REUSED,
                network=Network.MAINNET,
                at=DAY,
                actor="olga",
            )
            add_fallback_wallet(
                session,
                name="Cold HD",
                kind=WalletKind.HD,
                public_key=ACCOUNT_ZPUB,
                network=Network.MAINNET,
                at=DAY,
                actor="olga",
            )

    def round(self, number: int) -> Round:
        """Invoices and payments in every state; ids of those still moving."""
        made = Round(number)
        start = DAY + timedelta(hours=3 * number)
        codes = place_orders(self.engine, 14, first=100 * number)
        parcels = dict(zip("ABCDEFGKNPWXYZ", codes, strict=True))
        ids = made.invoices

        def at(minutes: float) -> datetime:
            return start + timedelta(minutes=minutes)

        # N and P have a day to be paid: still New and Processing at the end.
        for letter in "ABCDEFGKNP":
            with self.change() as session:
                required = {"G": 0, "K": 3, "E": 1}.get(letter, 2)
                ids[letter] = issue_invoice(
                    session,
                    parcel=find_parcel(session, code=parcels[letter]),
                    method=PaymentMethod.ONCHAIN,
                    amount_sat=100_000,
                    created_at=at(0),
                    expires_at=at(24 * 60 if letter in "NP" else 15),
                    actor="webshop",
                    required_confirmations=required,
                    address=f"bc1q-round-{number}-{letter}",
                ).id
        self._pay(number, ids, "A", 100_000, at(1))
        self._pay(number, ids, "B", 40_000, at(1))  # partly paid
        self._pay(number, ids, "C", 100_000, at(1), coin="C", rbf=True)
        self._pay(number, ids, "C2", 100_000, at(2), coin="C", rbf=True, pays="C")
        self._pay(number, ids, "D", 100_000, at(1), coin="D")
        self._pay(number, ids, "E", 100_000, at(1))
        self._pay(number, ids, "G", 130_000, at(1))  # paid over, 0-conf
        self._pay(number, ids, "K", 100_000, at(1))
        self._pay(number, ids, "P", 100_000, at(1))
        self._pay(number, ids, "N", 100_000, at(1), coin="N")  # reopened below
        with self.change() as session:
            for letter, height in (("A", 10), ("E", 11)):
                confirm_in_block(
                    session,
                    txid=txid(number, letter),
                    block_height=100 * number + height,
                    block_hash=block(number, height),
                    at=at(3),
                    actor=TRACKER,
                )
            update_confirmations(
                session, tip_height=100 * number + 11, at=at(3), actor=TRACKER
            )
        with self.change() as session:
            record_conflict(
                session,
                txid=txid(number, "X"),
                spends=[f"{txid(number, 'D')}:9", f"{txid(number, 'N')}:9"],
                at=at(4),
                actor=TRACKER,
            )
            unconfirm_block(
                session, block_hash=block(number, 11), at=at(4), actor=TRACKER
            )
        with self.change() as session:
            payment = session.scalars(
                select(Payment).where(Payment.invoice_id == ids["K"])
            ).one()
            record_confirmations(
                session, payment=payment, confirmations=3, at=at(5), actor="explorer"
            )
        with self.change() as session:
            refresh_invoices(session, now=at(20), actor="clock")

        made.pending_mark = self._marks(ids["G"], at(6))
        made.pending_limit = self._limits(number, at(6))
        self._lightning(number, at(7))
        made.pending_match = self._fallback(number, parcels, at(8))
        return made

    def later(self, earlier: Round, now: datetime) -> None:
        """Move an earlier round on: mined again, approved, verified, let go."""
        number = earlier.number
        with self.change() as session:
            # The reorged payment is mined again; the replaced original is
            # the one mined after all, so its fee bump loses instead.
            for letter, height in (("E", 12), ("C", 12)):
                confirm_in_block(
                    session,
                    txid=txid(number, letter),
                    block_height=100 * number + height,
                    block_hash=block(number, 90 + height),
                    at=now,
                    actor=TRACKER,
                )
        with self.change() as session:
            request = session.get_one(MarkRequest, earlier.pending_mark)
            approve_mark(session, request=request, actor="mona", at=now)
        with self.change() as session:
            change = session.get_one(LightningLimitChange, earlier.pending_limit)
            approve_limit_change(session, change=change, actor="mona", at=now)
        with self.change() as session:
            match = session.get_one(MatchProposal, earlier.pending_match)
            verify_match(session, match=match, actor="mona", at=now)
        with self.change() as session:
            refresh_invoices(session, now=now + timedelta(hours=2), actor="clock")
            reused = session.scalars(
                select(FallbackWallet).where(FallbackWallet.name == "Reused")
            ).one()
            activate_wallet(session, wallet=reused, at=now, actor="olga")

    def _pay(
        self,
        number: int,
        ids: dict[str, int],
        letter: str,
        amount: int,
        at: datetime,
        *,
        coin: str | None = None,
        rbf: bool = False,
        pays: str | None = None,
    ) -> None:
        with self.change() as session:
            see_onchain_payment(
                session,
                invoice=session.get_one(Invoice, ids[pays or letter]),
                txid=txid(number, letter[0] if pays is None else "R"),
                vout=0,
                amount_sat=amount,
                spends=[f"{txid(number, coin or letter)}:9"],
                signals_rbf=rbf,
                seen_at=at,
                actor=TRACKER,
            )

    def _marks(self, invoice_id: int, at: datetime) -> int:
        with self.change() as session:
            invoice = session.get_one(Invoice, invoice_id)
            first = propose_mark(
                session,
                invoice=invoice,
                target=InvoiceStatus.INVALID,
                reason="refund the customer",
                actor="olga",
                at=at,
            )
            reject_mark(session, request=first, actor="mona", reason="no", at=at)
            again = propose_mark(
                session,
                invoice=invoice,
                target=InvoiceStatus.SETTLED,
                reason="customer keeps the change as credit",
                actor="olga",
                at=at,
            )
            return again.id

    def _limits(self, number: int, at: datetime) -> int:
        with self.change() as session:
            customer = self._regular(session, number)
            change = propose_limit_change(
                session,
                customer=customer,
                limit_sat=700_000 + number,
                reason="pays on time",
                actor="olga",
                at=at,
            )
            approve_limit_change(session, change=change, actor="mona", at=at)
            refused = propose_limit_change(
                session,
                customer=customer,
                limit_sat=9_000_000,
                reason="big customer",
                actor="olga",
                at=at,
            )
            reject_limit_change(
                session, change=refused, actor="mona", reason="too much", at=at
            )
            pending = propose_limit_change(
                session,
                customer=customer,
                limit_sat=800_000 + number,
                reason="more parcels",
                actor="olga",
                at=at,
            )
            return pending.id

    def _regular(self, session: Session, number: int) -> Party:
        return register_party(
            session,
            kind=PartyKind.CUSTOMER,
            name=f"Regular {number}",
            phone=f"+47 410 {number:05d}",
            street="Storgata 1",
            postcode="0155",
            city="Oslo",
            lat=59.91,
            lon=10.75,
            actor="webshop",
            customer_kind=CustomerKind.REGULAR,
            at=DAY,
        )

    def _lightning(self, number: int, at: datetime) -> None:
        self.clock.now = at
        hashes = []
        with self.change() as session:
            sender = self._regular(session, 1000 + number)
            parcel = order(session, sender, self._regular(session, 2000 + number))
            for amount in (20_000, 21_000):
                opened = open_lightning_invoice(
                    session,
                    node=self.node,
                    parcel=parcel,
                    amount_sat=amount,
                    deadline=at + timedelta(hours=2),
                    now=at,
                    actor="webshop",
                )
                hashes.append(opened.invoice.payment_hash or "")
        self.lab.settle(hashes[0], at=at + timedelta(minutes=1))
        self.lab.cancel(hashes[1])
        with self.change() as session:
            poll_lightning_invoices(
                session, node=self.node, now=at + timedelta(minutes=2), actor=POLLER
            )

    def _fallback(self, number: int, parcels: dict[str, str], at: datetime) -> int:
        with self.change() as session:
            wallets = session.scalars(
                select(FallbackWallet).order_by(FallbackWallet.id)
            )
            for wallet in wallets:  # the reused one, then the HD one again
                activate_wallet(session, wallet=wallet, at=at, actor="olga")
        issued: dict[str, tuple[str, int]] = {}
        amounts = {"W": 40_000, "X": 50_000, "Y": 60_000, "Z": 70_000}
        for letter, amount in amounts.items():
            with self.change() as session:
                made = issue_fallback_address(
                    session,
                    parcel=find_parcel(session, code=parcels[letter]),
                    amount_sat=amount + number,
                    at=at,
                    actor="webshop",
                )
                issued[letter] = (made.address, made.invoice_id)
        seen = at + timedelta(minutes=5)
        matches = {}
        for letter, address in (("W", None), ("X", None), ("Y", None), ("Z", REUSED)):
            with self.change() as session:
                observation = record_observation(
                    session,
                    address=address or issued[letter][0],
                    amount_sat=amounts[letter] + number,
                    observed_at=seen,
                    recorded_by="olga",
                    at=seen,
                    note=f"seen by olga, round {number}",
                )
                matches[letter] = (observation.id, issued[letter][1])
        with self.change() as session:
            by_rule = {m.invoice_id: m for m in session.scalars(select(MatchProposal))}
            w = by_rule[matches["W"][1]]
            reject_match(session, match=w, reason="not ours", actor="olga", at=seen)
            x = by_rule[matches["X"][1]]
            confirm_match(session, match=x, actor="olga", at=seen)
            y = by_rule[matches["Y"][1]]
            reject_match(
                session, match=y, reason="other customer", actor="olga", at=seen
            )
            match_by_hand(
                session,
                observation=y.observation,
                invoice=y.invoice,
                reason="the customer sent the txid after all",
                actor="mona",
                at=seen,
            )
            verify_match(session, match=y, actor="olga", at=seen)
            observation_z, invoice_z = matches["Z"]
            z = match_by_hand(
                session,
                observation=session.get_one(type(y.observation), observation_z),
                invoice=session.get_one(Invoice, invoice_z),
                reason="paid to the old reused address",
                actor="olga",
                at=seen,
            )
            verify_match(session, match=z, actor="mona", at=seen)
            return x.id


# Every table the payment services write, but the tracker's own cache of
# the chain and of node health (see controlroom.backup.replay).
PAYMENT_TABLES = (
    "invoices",
    "payments",
    "payment_spends",
    "invoice_mark_requests",
    "lightning_invoices",
    "lightning_limit_changes",
    "fallback_wallets",
    "fallback_addresses",
    "wallet_observations",
    "wallet_matches",
)
# A mined payment's depth is counted from the tip on every tracker round
# and journalled only when its state moves; the restored tracker's first
# round counts it again (controlroom.payments.onchain.update_confirmations).
UNJOURNALLED = {"payments": ("confirmations",)}


def payment_rows(engine: Engine) -> dict[str, list[dict[str, object]]]:
    """Every payment table's rows as column dicts, in key order."""
    tables: dict[str, list[dict[str, object]]] = {}
    with engine.connect() as connection:
        for name in PAYMENT_TABLES:
            table = Invoice.metadata.tables[name]
            columns = [c for c in table.c if c.name not in UNJOURNALLED.get(name, ())]
            query = select(*columns).order_by(*table.primary_key.columns)
            tables[name] = [dict(row._mapping) for row in connection.execute(query)]
    return tables
