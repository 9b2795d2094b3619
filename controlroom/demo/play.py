"""Playing the demo day forward, through the same services the product uses.

What is due is derived from the database and the deterministic day plan, not
from a memory of the last run: an order is placed when its release time has
come and its sender has no parcel yet, a Lightning payment when its invoice
has fewer payments than planned, a stop when its route's earlier stops are
done. On-chain payments are not recorded here: customers broadcast them to
the day's lab chain (:mod:`controlroom.demo.chain`) and the payment tracker,
run every simulated minute like the health probes, finds them there and
records payments, confirmations and expiry. The actions run one by one in
time order, so playing to noon and then on gives the same day as playing
straight through. The incident story (:mod:`controlroom.demo.incident_play`)
puts its steps into the same order, and while the driver app is down some
stops are reported by the drivers' texts (:mod:`controlroom.demo.driver_texts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlroom.clock import operating_now
from controlroom.demo.chain import DemoChain
from controlroom.demo.day import OSLO, OrderPlan
from controlroom.demo.driver_texts import reported_by_text
from controlroom.demo.incident_play import StoryPlay
from controlroom.demo.parameters import DemoWorld
from controlroom.demo.probes import probe_latency
from controlroom.demo.wallet import receive_address
from controlroom.dispatch.degradations import active_degradations
from controlroom.dispatch.models import (
    Route,
    Stop,
    StopKind,
    StopStatus,
    VehicleStatus,
)
from controlroom.dispatch.scheduling import (
    HOLDS_ORDERS,
    SCHEDULER,
    schedule_waiting_orders,
)
from controlroom.dispatch.service import (
    StopSlot,
    complete_stop,
    published_plan,
    schedule_stops,
    skip_stop,
)
from controlroom.errors import DemoWorldError
from controlroom.health.models import Component, ComponentKind, HealthReport
from controlroom.health.service import current_posture, report_health
from controlroom.orders.models import Parcel, ParcelStatus, Party
from controlroom.orders.service import cancel_order, place_order
from controlroom.payments.models import (
    Invoice,
    InvoiceException,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentState,
)
from controlroom.payments.service import (
    expire_invoices,
    issue_invoice,
    mark_invoice,
    record_payment,
)
from controlroom.payments.tracking.node_health import TRACKER_KEY
from controlroom.payments.tracking.service import track_once
from controlroom.payments.wallet_watch.service import issue_fallback_address

logger = logging.getLogger(__name__)

SHOP = "web-shop"
TRACKER = "payment-tracker"
# The plan the demo world publishes at dawn; its routes are the best-known ones.
FIRST_PLAN = 1
PROBE = "health-probe"
PROBE_INTERVAL = timedelta(minutes=1)
TRACK_INTERVAL = timedelta(minutes=1)
# The payment nodes' and the tracker's health comes from the tracker's own
# checks of the lab nodes, so the probes leave those components alone.
TRACKED_KINDS = (ComponentKind.PAYMENT_NODE, ComponentKind.PAYMENT_TRACKER)
# The posture fallback under which new on-chain orders are paid to the
# static watch-only wallet rather than to a tracked address.
STATIC_WALLETS = "static_wallets"
STOP_GAP = timedelta(minutes=1)
# The demo's payments operator and incident manager work the operator queue:
# a customer who paid in full after expiry is served once the payment has a
# confirmation, a few minutes after it (the lifecycle never does it alone).
OPS_REVIEWERS = ("ops", "mgmt")
OPS_REVIEW_DELAY = timedelta(minutes=4)


@dataclass
class DayProgress:
    """What one stretch of play did."""

    orders: int = 0
    payments: int = 0
    blocks: int = 0
    expired: int = 0
    pickups: int = 0
    deliveries: int = 0
    cancelled: int = 0
    health_reports: int = 0
    texted_stops: int = 0
    story_steps: int = 0

    def add(self, other: DayProgress) -> None:
        """Add another stretch's counts to these."""
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, order=True)
class _Action:
    at: datetime
    rank: int
    key: int
    run: Callable[[], None] = field(compare=False)


class _Day:
    """The database's view of the day, kept current as actions run."""

    def __init__(
        self, session: Session, world: DemoWorld, chain: DemoChain | None
    ) -> None:
        self.session = session
        self.world = world
        self.chain = chain
        self.floor = operating_now(session)
        self.progress = DayProgress()
        self.story = StoryPlay(session, world)

        sender_task = {party: task for task, party in world.senders.items()}
        self.parcel_by_pickup: dict[int, Parcel] = {}
        self.pickup_of: dict[int, int] = {}
        for parcel in session.scalars(select(Parcel).order_by(Parcel.id)):
            task = sender_task.get(parcel.sender_id)
            if task is not None and task not in self.parcel_by_pickup:
                self.parcel_by_pickup[task] = parcel
                self.pickup_of[parcel.id] = task

        self.invoice_of: dict[int, Invoice] = {}
        for invoice in session.scalars(select(Invoice).order_by(Invoice.id)):
            self.invoice_of[invoice.parcel_id] = invoice
        self.payments: dict[int, list[Payment]] = {}
        for payment in session.scalars(select(Payment).order_by(Payment.id)):
            self.payments.setdefault(payment.invoice_id, []).append(payment)

        plan = published_plan(session)
        self.routes: list[Route] = list(plan.routes) if plan else []
        components = list(session.scalars(select(Component).order_by(Component.id)))
        self.components = [c for c in components if c.kind not in TRACKED_KINDS]
        self.tracker = next((c for c in components if c.key == TRACKER_KEY), None)
        latest = select(HealthReport.component_id, func.max(HealthReport.at))
        self.last_probe: dict[int, datetime] = {
            component_id: at
            for component_id, at in session.execute(
                latest.group_by(HealthReport.component_id)
            )
        }

    # -- choosing -----------------------------------------------------------

    def next_action(self, until: datetime) -> _Action | None:
        candidates = [
            self._next_order(),
            self._next_payment(),
            self._next_expiry(),
            self._next_review(),
            *self._next_stops(),
            self._next_probe(),
            self._next_tracking(),
            *(_Action(a.at, a.rank, a.key, a.run) for a in self.story.next_actions()),
        ]
        due = [c for c in candidates if c is not None and c.at <= until]
        return min(due) if due else None

    def _next_order(self) -> _Action | None:
        for order in self.world.plan.orders:
            if order.pickup.id not in self.parcel_by_pickup:
                return _Action(order.release, 0, order.pickup.id, self._placer(order))
        return None

    def _next_payment(self) -> _Action | None:
        best: _Action | None = None
        for pickup_id, parcel in self.parcel_by_pickup.items():
            invoice = self.invoice_of.get(parcel.id)
            order = self.world.orders[pickup_id]
            if invoice is None or order.method is PaymentMethod.ONCHAIN:
                continue  # on-chain customers pay on the lab chain
            made = len(self.payments.get(invoice.id, []))
            if made >= len(order.payments):
                continue
            action = _Action(
                order.payments[made].at,
                1,
                pickup_id,
                self._payer(order, invoice, made),
            )
            best = action if best is None else min(best, action)
        return best

    def _next_expiry(self) -> _Action | None:
        open_invoices = [
            i for i in self.invoice_of.values() if i.status is InvoiceStatus.NEW
        ]
        if not open_invoices:
            return None
        first = min(open_invoices, key=lambda invoice: invoice.expires_at)
        return _Action(first.expires_at, 3, first.id, self._expirer(first.expires_at))

    def _next_review(self) -> _Action | None:
        best: _Action | None = None
        for invoice in self.invoice_of.values():
            at = self._late_payment_cleared(invoice)
            if at is None:
                continue
            action = _Action(at, 3, invoice.id, self._reviewer(invoice, at))
            best = action if best is None else min(best, action)
        return best

    def _late_payment_cleared(self, invoice: Invoice) -> datetime | None:
        if not invoice.needs_operator or invoice.status is not InvoiceStatus.EXPIRED:
            return None
        if invoice.exception is not InvoiceException.PAID_LATE:
            return None
        if invoice.paid_sat < invoice.amount_sat:
            return None
        counted = [
            p
            for p in self.payments.get(invoice.id, [])
            if p.state in (PaymentState.SEEN, PaymentState.CONFIRMED)
        ]
        confirmed = [p.confirmed_at for p in counted if p.confirmed_at is not None]
        if not counted or len(confirmed) < len(counted):
            return None
        return max(confirmed) + OPS_REVIEW_DELAY

    def _next_stops(self) -> list[_Action | None]:
        return [self._next_stop(route) for route in self.routes]

    def _next_stop(self, route: Route) -> _Action | None:
        stops = sorted(route.stops, key=lambda stop: stop.sequence)
        pending = [s for s in stops if s.status is StopStatus.PLANNED]
        if not pending:
            return None
        if route.vehicle.status is VehicleStatus.LOST:
            return None  # off the road until a re-plan moves its work
        stop = pending[0]
        parcel = stop.parcel
        order = self.world.orders.get(self.pickup_of.get(parcel.id, -1))
        delay = timedelta(0)
        if order is not None:
            is_pickup = stop.kind is StopKind.PICKUP
            delay = order.pickup_delay if is_pickup else order.delivery_delay
        # Never before the tick began: a plan published just now cannot have
        # been driven in the past.
        at = max(stop.eta + delay, self.floor)
        done = [s.done_at for s in stops if s.done_at is not None]
        if done:
            at = max(at, max(done) + STOP_GAP)

        if parcel.status is ParcelStatus.CANCELLED:
            return _Action(at, 4, stop.id, self._skipper(stop, at, "order cancelled"))
        if stop.kind is StopKind.TRANSFER:
            return _Action(at, 4, stop.id, self._completer(stop, at))
        if stop.kind is StopKind.PICKUP and parcel.picked_up_at is not None:
            return _Action(at, 4, stop.id, self._skipper(stop, at, "already collected"))
        if parcel.status is ParcelStatus.DELIVERED:
            return _Action(at, 4, stop.id, self._skipper(stop, at, "already delivered"))
        if stop.kind is StopKind.DELIVERY:
            if parcel.picked_up_at is None:
                return None
            at = max(at, parcel.picked_up_at + STOP_GAP)
            return _Action(at, 4, stop.id, self._completer(stop, at))

        invoice = self.invoice_of.get(parcel.id)
        if invoice is None:
            return _Action(at, 4, stop.id, self._completer(stop, at))
        if invoice.status is InvoiceStatus.EXPIRED and invoice.paid_sat == 0:
            return _Action(at, 4, stop.id, self._canceller(stop, at))
        cleared = self._cleared_at(invoice)
        if cleared is None:
            return None  # the driver waits for the payment
        at = max(at, cleared)
        return _Action(at, 4, stop.id, self._completer(stop, at))

    def _cleared_at(self, invoice: Invoice) -> datetime | None:
        # The demo's pickup rule: the whole amount has been seen. Confirmation
        # follows on the block rhythm; a courier does not wait at the door.
        if invoice.status is InvoiceStatus.SETTLED and invoice.settled_at:
            return invoice.settled_at
        if invoice.status is not InvoiceStatus.PROCESSING:
            return None
        if invoice.paid_sat < invoice.amount_sat:
            return None
        return max(p.seen_at for p in self.payments.get(invoice.id, []))

    def _next_probe(self) -> _Action | None:
        if not self.components:
            return None
        first = self.world.plan.sim_start
        at = min(
            self.last_probe[c.id] + PROBE_INTERVAL if c.id in self.last_probe else first
            for c in self.components
        )
        if at > self.world.plan.day_end:
            return None
        return _Action(at, 5, 0, self._prober(at))

    def _next_tracking(self) -> _Action | None:
        if self.chain is None or self.tracker is None:
            return None
        start = self.world.plan.sim_start
        last = self.last_probe.get(self.tracker.id)
        at = start if last is None else max(start, last + TRACK_INTERVAL)
        coming = self.chain.next_event()
        if coming is not None and coming < start:
            # Before the simulation starts, a round runs only in the minute
            # after something happened on the chain: the same records as
            # every minute, without hours of idle rounds at seeding.
            at = _next_minute(coming)
            if last is not None:
                at = max(at, last + TRACK_INTERVAL)
        if at > self.world.plan.day_end:
            return None
        return _Action(at, 6, 0, self._tracker(self.chain, self.tracker, at))

    # -- doing --------------------------------------------------------------

    def _placer(self, order: OrderPlan) -> Callable[[], None]:
        def run() -> None:
            self._place(order)

        return run

    def _place(self, order: OrderPlan) -> None:
        session, world = self.session, self.world
        clock = world.plan.clock
        sender = session.get(Party, world.senders[order.pickup.id])
        recipient = session.get(Party, world.recipients[order.delivery.id])
        if sender is None or recipient is None:
            raise DemoWorldError(
                f"The demo customers of pickup {order.pickup.id} are missing; "
                "reseed the demo world with 'controlroom demo seed --reset'."
            )
        parcel = place_order(
            session,
            sender=sender,
            recipient=recipient,
            load=order.pickup.demand,
            pickup_window=(clock.at(order.pickup.ready), clock.at(order.pickup.due)),
            delivery_window=(
                clock.at(order.delivery.ready),
                clock.at(order.delivery.due),
            ),
            price_sat=order.price_sat,
            ordered_at=order.release,
            actor=SHOP,
            service_minutes=max(1, clock.minutes(order.pickup.service)),
        )
        onchain = order.method is PaymentMethod.ONCHAIN
        if onchain and self._paid_to_static_wallets():
            # Tracking is down: the customer is given an address of the
            # static fallback wallet, which ops watch until tracking returns.
            invoice = issue_fallback_address(
                session,
                parcel=parcel,
                amount_sat=order.price_sat,
                at=order.release,
                actor=SHOP,
            ).invoice
        else:
            invoice = issue_invoice(
                session,
                parcel=parcel,
                method=order.method,
                amount_sat=order.price_sat,
                created_at=order.release,
                expires_at=order.expires_at,
                actor=SHOP,
                address=(
                    receive_address(
                        world.account_key, world.address_index[order.pickup.id]
                    )
                    if onchain
                    else None
                ),
                payment_hash=order.payment_hash,
            )
        self.parcel_by_pickup[order.pickup.id] = parcel
        self.pickup_of[parcel.id] = order.pickup.id
        self.invoice_of[parcel.id] = invoice
        self._schedule(order, parcel)
        self.progress.orders += 1

    def _schedule(self, order: OrderPlan, parcel: Parcel) -> None:
        if any(d.kind in HOLDS_ORDERS for d in active_degradations(self.session)):
            logger.info("orders held; parcel=%s waits for a re-plan", parcel.id)
            return
        vehicle_id = self.world.vehicles[order.route]
        route = next((r for r in self.routes if r.vehicle_id == vehicle_id), None)
        pickup, delivery = order.pickup_sequence, order.delivery_sequence
        taken = {stop.sequence for stop in route.stops} if route else set()
        if (
            route is None
            or route.plan.version != FIRST_PLAN
            or route.vehicle.status is VehicleStatus.LOST
            or pickup in taken
            or delivery in taken
        ):
            # The day has been re-planned: the best-known routes no longer
            # hold, so the scheduler fits the order where it costs least.
            done = schedule_waiting_orders(
                self.session, at=order.release, zone=OSLO, actor=SCHEDULER
            )
            if parcel.id in done.waiting:
                logger.warning(
                    "no room in the published plan; parcel=%s left for the dispatchers",
                    parcel.id,
                )
            return
        schedule_stops(
            self.session,
            route=route,
            parcel=parcel,
            pickup=StopSlot(pickup, order.pickup_eta),
            delivery=StopSlot(delivery, order.delivery_eta),
            at=order.release,
            actor=SCHEDULER,
        )
        # Orders that waited (the scheduler was down) go in with this one.
        schedule_waiting_orders(
            self.session, at=order.release, zone=OSLO, actor=SCHEDULER
        )

    def _paid_to_static_wallets(self) -> bool:
        posture = current_posture(self.session)
        return any(f.key == STATIC_WALLETS for f in posture.fallbacks)

    def _payer(
        self, order: OrderPlan, invoice: Invoice, index: int
    ) -> Callable[[], None]:
        # Lightning only: the lab Lightning node is not part of the demo yet,
        # so a settled HTLC is recorded as the node would report it.
        def run() -> None:
            planned = order.payments[index]
            payment = record_payment(
                self.session,
                invoice=invoice,
                amount_sat=planned.amount_sat,
                seen_at=planned.at,
                actor=TRACKER,
                payment_hash=order.payment_hash,
            )
            self.payments.setdefault(invoice.id, []).append(payment)
            self.progress.payments += 1

        return run

    def _address_of(self, pickup_id: int) -> str | None:
        parcel = self.parcel_by_pickup.get(pickup_id)
        invoice = self.invoice_of.get(parcel.id) if parcel is not None else None
        return invoice.address if invoice is not None else None

    def _tracker(
        self, chain: DemoChain, tracker: Component, at: datetime
    ) -> Callable[[], None]:
        def run() -> None:
            state, note = self.world.scripted_state(tracker.key, at)
            if state.is_down:
                # The scripted outage: no round runs, and the tracker's
                # probe finds it gone. The chain goes on without it.
                report_health(
                    self.session,
                    component=tracker,
                    state=state,
                    at=at,
                    actor=PROBE,
                    detail=note,
                )
            else:
                chain.advance_to(at, self._address_of)
                chain.apply_faults(at)
                report = track_once(
                    self.session,
                    nodes=chain.nodes,
                    now=at,
                    actor=TRACKER,
                    start_height=1,
                )
                before = sum(len(p) for p in self.payments.values())
                self._reload_payments()
                after = sum(len(p) for p in self.payments.values())
                self.progress.payments += after - before
                self.progress.blocks += report.blocks_processed
            self.last_probe[tracker.id] = at
            self.progress.health_reports += 1

        return run

    def _reload_payments(self) -> None:
        # The tracker recorded payments and moved invoices on; the stop
        # rules read them from here.
        self.payments = {}
        for payment in self.session.scalars(select(Payment).order_by(Payment.id)):
            self.payments.setdefault(payment.invoice_id, []).append(payment)

    def _expirer(self, at: datetime) -> Callable[[], None]:
        def run() -> None:
            self.progress.expired += expire_invoices(
                self.session, now=at, actor=TRACKER
            )

        return run

    def _reviewer(self, invoice: Invoice, at: datetime) -> Callable[[], None]:
        def run() -> None:
            first, second = OPS_REVIEWERS
            mark_invoice(
                self.session,
                invoice=invoice,
                status=InvoiceStatus.SETTLED,
                first_actor=first,
                second_actor=second,
                reason="Paid in full after expiry and confirmed; served, not refunded.",
                at=at,
            )

        return run

    def _driver(self, stop: Stop) -> str:
        driver = stop.route.driver
        return f"driver:{driver.callsign}" if driver else "driver"

    def _completer(self, stop: Stop, at: datetime) -> Callable[[], None]:
        def run() -> None:
            if not self._texted(stop, at):
                complete_stop(self.session, stop=stop, at=at, actor=self._driver(stop))
            if stop.kind is StopKind.PICKUP:
                self.progress.pickups += 1
            elif stop.kind is StopKind.DELIVERY:
                self.progress.deliveries += 1

        return run

    def _texted(self, stop: Stop, at: datetime) -> bool:
        story, seed = self.world.story, self.world.plan.seed
        texted = reported_by_text(self.session, story, seed, stop, at)
        self.progress.texted_stops += int(texted)
        return texted

    def _skipper(self, stop: Stop, at: datetime, reason: str) -> Callable[[], None]:
        def run() -> None:
            skip_stop(
                self.session, stop=stop, at=at, actor=self._driver(stop), reason=reason
            )

        return run

    def _canceller(self, stop: Stop, at: datetime) -> Callable[[], None]:
        def run() -> None:
            cancel_order(
                self.session,
                parcel=stop.parcel,
                at=at,
                actor=SHOP,
                reason="the invoice expired unpaid",
            )
            self.progress.cancelled += 1
            # Its delivery goes too: nobody delivers a parcel never collected.
            for open_stop in [
                s
                for s in stop.route.stops
                if s.parcel_id == stop.parcel_id and s.status is StopStatus.PLANNED
            ]:
                skip_stop(
                    self.session,
                    stop=open_stop,
                    at=at,
                    actor=self._driver(open_stop),
                    reason="order cancelled",
                )

        return run

    def _prober(self, at: datetime) -> Callable[[], None]:
        def run() -> None:
            for component in self.components:
                last = self.last_probe.get(component.id)
                if last is not None and last + PROBE_INTERVAL > at:
                    continue
                state, note = self.world.scripted_state(component.key, at)
                latency = probe_latency(self.world.plan.seed, component, state, at)
                report_health(
                    self.session,
                    component=component,
                    state=state,
                    at=at,
                    actor=PROBE,
                    latency_ms=latency,
                    detail=note,
                )
                self.last_probe[component.id] = at
                self.progress.health_reports += 1

        return run


def _next_minute(moment: datetime) -> datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def play_until(
    session: Session,
    world: DemoWorld,
    *,
    until: datetime,
    chain: DemoChain | None = None,
) -> DayProgress:
    """Run every action of the day due by ``until``, in time order.

    The route scheduler first retries the orders still waiting for a place
    (a van was running late, or the scheduler was down), as it would on its
    own rhythm. ``chain`` is the day's lab chain with its nodes running;
    without one the payment tracker does not run, and on-chain payments
    are recorded only once a caller hosting the chain plays on.
    """
    if not any(d.kind in HOLDS_ORDERS for d in active_degradations(session)):
        schedule_waiting_orders(
            session, at=operating_now(session), zone=OSLO, actor=SCHEDULER
        )
    day = _Day(session, world, chain)
    while (action := day.next_action(until)) is not None:
        action.run()
    day.progress.story_steps = day.story.steps_played
    return day.progress
