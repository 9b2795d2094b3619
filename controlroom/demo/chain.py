"""The demo day's lab chain, served by the demo's three payment nodes.

The simulator hosts a :class:`DemoChain` while it runs: one regtest
``LabChain`` and the three lab servers of ``LabNodeSet`` on 127.0.0.1 (ports
chosen by the OS), so the payment tracker meets the day's payments through
the real node adapters, over HTTP.

The chain is a pure function of the day plan and the simulated time: the
planned on-chain payments are broadcast at their planned moments, each
spending an outpoint named after its planned txid, and blocks are mined at
the plan's block times, each taking what was broadcast before it. A
payment's output goes to the address its invoice was given, read from the
database (an order is placed before it is paid, and its address never
changes), so a simulator started again rebuilds the same transactions and
block hashes up to the stored clock and the tracker's stored progress
matches them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.demo.day import OSLO, PlannedPayment
from controlroom.demo.parameters import DemoWorld
from controlroom.errors import DemoWorldError
from controlroom.orders.models import Parcel
from controlroom.payments.lab.regtest import LabChain
from controlroom.payments.models import Invoice, PaymentMethod
from controlroom.payments.nodes.base import PaymentNode
from controlroom.payments.tracking.lab_nodes import DEMO_NODES, LabNodeSet

# The adapters' timeout: the lab servers answer in milliseconds, and a
# node scripted down refuses at once, so a short timeout only guards a hang.
NODE_TIMEOUT_SECONDS = 2.0

AddressOf = Callable[[int], str | None]


def invoice_addresses(session: Session, world: DemoWorld) -> AddressOf:
    """Return the invoice address of each order placed, by pickup task id."""
    task_of = {party: task for task, party in world.senders.items()}
    rows = session.execute(
        select(Parcel.sender_id, Invoice.address)
        .join(Invoice, Invoice.parcel_id == Parcel.id)
        .order_by(Parcel.id)
    ).all()
    addresses: dict[int, str | None] = {}
    for sender_id, address in rows:
        task = task_of.get(sender_id)
        if task is not None:
            # A sender's first parcel is the demo's order, as in play.py.
            addresses.setdefault(task, address)
    return addresses.get


@dataclass(frozen=True)
class _ChainPayment:
    at: datetime
    pickup_id: int
    planned: PlannedPayment


class DemoChain:
    """The day's lab chain and the lab nodes that serve it.

    Use it as a context manager (or ``start``/``close``): the servers run
    only while the simulation does.
    """

    def __init__(
        self, world: DemoWorld, *, timeout_seconds: float = NODE_TIMEOUT_SECONDS
    ) -> None:
        self.world = world
        self.chain = LabChain(start=world.plan.sim_start, name="demo")
        self.lab = LabNodeSet(self.chain, timeout_seconds=timeout_seconds)
        self._payments = sorted(
            (
                _ChainPayment(planned.at, order.pickup.id, planned)
                for order in world.plan.orders
                if order.method is PaymentMethod.ONCHAIN
                for planned in order.payments
            ),
            key=lambda p: (p.at, p.pickup_id, p.planned.txid or ""),
        )
        self._paid = 0
        self._mined = 0

    @property
    def nodes(self) -> list[PaymentNode]:
        """The adapters of the three lab nodes, in the demo's order."""
        return self.lab.nodes

    @property
    def played_to(self) -> tuple[int, int]:
        """How many planned payments were broadcast and blocks mined."""
        return self._paid, self._mined

    def start(self) -> DemoChain:
        """Start the lab servers."""
        self.lab.start()
        return self

    def close(self) -> None:
        """Stop the lab servers."""
        self.lab.close()

    def __enter__(self) -> DemoChain:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def next_event(self) -> datetime | None:
        """Return when the next payment or block not yet on the chain comes."""
        moments = []
        if self._paid < len(self._payments):
            moments.append(self._payments[self._paid].at)
        if self._mined < len(self.world.plan.blocks):
            moments.append(self.world.plan.blocks[self._mined])
        return min(moments, default=None)

    def advance_to(self, at: datetime, address_of: AddressOf) -> None:
        """Broadcast the payments and mine the blocks due by ``at``, in order.

        A payment broadcast at a block's very moment goes into that block.
        ``address_of`` gives the address of an order's invoice by its pickup
        task id.
        """
        blocks = self.world.plan.blocks
        while True:
            payment = (
                self._payments[self._paid] if self._paid < len(self._payments) else None
            )
            block = blocks[self._mined] if self._mined < len(blocks) else None
            if (
                payment is not None
                and payment.at <= at
                and (block is None or payment.at <= block)
            ):
                self._broadcast(payment, address_of)
                continue
            if block is not None and block <= at:
                self.chain.mine(at=block)
                self._mined += 1
                continue
            return

    def apply_faults(self, at: datetime) -> None:
        """Switch each lab node's scripted fault on or off for moment ``at``."""
        local = at.astimezone(OSLO).time()
        for key, _, _, _ in DEMO_NODES:
            faults = self.lab.servers[key].faults
            faults.down = False
            faults.lag_height = None
            for disruption in self.world.script:
                if disruption.component != key or not disruption.lab_fault:
                    continue
                if not disruption.start <= local < disruption.end:
                    continue
                if disruption.lab_fault == "down":
                    faults.down = True
                else:
                    faults.lag_height = max(
                        0, self.chain.height - disruption.lag_blocks
                    )

    def _broadcast(self, payment: _ChainPayment, address_of: AddressOf) -> None:
        address = address_of(payment.pickup_id)
        if address is None or payment.planned.txid is None:
            raise DemoWorldError(
                f"The on-chain payment planned at {payment.at:%H:%M} UTC for pickup "
                f"{payment.pickup_id} has no invoice address to pay; reseed the "
                "demo world with 'controlroom demo seed --reset'."
            )
        # The planned txid names the outpoint the customer spends, so the
        # transaction (and its txid) is the same whenever the day is rebuilt.
        self.chain.pay(
            [(address, payment.planned.amount_sat)],
            spends=[f"{payment.planned.txid}:0"],
        )
        self._paid += 1
