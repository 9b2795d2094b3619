"""The operating posture: which fallbacks the component states call for.

Pure rules, no I/O. Each rule reads the states of one kind of component and
names the fallback that keeps one of the three customer promises when that
kind is down (the seed text's "adaptation and redundancy" list):

* pay   -- payment nodes in several regions, then static watch-only wallets;
* order -- the web shop and the primary order database, then the standby
  database and the independent order channels (static page, onion mirror, SMS);
* know  -- the driver app and the SMS gateway for pickup and delivery notices,
  the static status site for lookups by package code.

A promise is *kept* when its normal path works, *kept by fallback* when a
prepared fallback carries it, and *at risk* when no path is left.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from controlroom.health.models import ComponentKind, ComponentState


class Promise(StrEnum):
    PAY = "pay"
    ORDER = "order"
    KNOW = "know"

    @property
    def sentence(self) -> str:
        """The customer promise in words."""
        return {
            Promise.PAY: "Customers can always pay with Bitcoin",
            Promise.ORDER: "Customers can always order a delivery",
            Promise.KNOW: "Customers always know when a parcel is picked up "
            "and delivered",
        }[self]


class PromiseStatus(StrEnum):
    KEPT = "kept"
    KEPT_BY_FALLBACK = "kept_by_fallback"
    AT_RISK = "at_risk"


class PostureLevel(StrEnum):
    """From calm to critical; the banner's colour follows it."""

    NORMAL = "normal"
    DEGRADED = "degraded"
    FALLBACK = "fallback"
    AT_RISK = "at_risk"


@dataclass(frozen=True)
class ComponentStatus:
    """What the rules need to know of one component."""

    key: str
    name: str
    kind: ComponentKind
    state: ComponentState


@dataclass(frozen=True)
class Fallback:
    """A prepared fallback that is active now, and why."""

    key: str
    title: str
    action: str
    promise: Promise
    because: tuple[str, ...]
    automatic: bool


@dataclass(frozen=True)
class Posture:
    """The derived operating posture."""

    level: PostureLevel
    fallbacks: tuple[Fallback, ...]
    promises: dict[Promise, PromiseStatus]
    degraded: tuple[str, ...] = field(default=())

    @property
    def headline(self) -> str:
        """One line for the banner."""
        if not self.fallbacks and not self.degraded:
            return "Normal operations: every system is operational."
        if not self.fallbacks:
            return "Normal operations with slow systems: " + ", ".join(self.degraded)
        titles = "; ".join(f.title for f in self.fallbacks)
        return f"{len(self.fallbacks)} fallback(s) active: {titles}"


def _down(components: Iterable[ComponentStatus]) -> list[ComponentStatus]:
    return [c for c in components if c.state.is_down]


def derive_posture(components: Iterable[ComponentStatus]) -> Posture:
    """Return the posture the component states call for."""
    by_kind: dict[ComponentKind, list[ComponentStatus]] = {}
    for component in components:
        by_kind.setdefault(component.kind, []).append(component)

    def kind(k: ComponentKind) -> list[ComponentStatus]:
        return by_kind.get(k, [])

    def names(items: Iterable[ComponentStatus]) -> tuple[str, ...]:
        return tuple(c.name for c in items)

    fallbacks: list[Fallback] = []
    promises = {promise: PromiseStatus.KEPT for promise in Promise}

    # Pay: fail over between regional nodes; with none left, or the tracker
    # gone, payments go to static watch-only wallets watched by hand.
    nodes = kind(ComponentKind.PAYMENT_NODE)
    nodes_down = _down(nodes)
    tracker_down = _down(kind(ComponentKind.PAYMENT_TRACKER))
    if tracker_down or (nodes and len(nodes_down) == len(nodes)):
        fallbacks.append(
            Fallback(
                "static_wallets",
                "Static-wallet payments",
                "New orders get an address from the static watch-only wallets; "
                "ops watch them by hand and match payments to orders.",
                Promise.PAY,
                names(tracker_down or nodes_down),
                automatic=False,
            )
        )
        promises[Promise.PAY] = PromiseStatus.KEPT_BY_FALLBACK
    elif nodes_down:
        up = [n for n in nodes if not n.state.is_down]
        fallbacks.append(
            Fallback(
                "payment_node_failover",
                "Payment node fail-over",
                "Payment tracking runs on " + ", ".join(names(up)) + ".",
                Promise.PAY,
                names(nodes_down),
                automatic=True,
            )
        )

    # Order: the standby database takes over from the primary; the web shop's
    # independent channels take orders when the shop or both databases fail.
    primary_down = _down(kind(ComponentKind.ORDER_DB_PRIMARY))
    standby = kind(ComponentKind.ORDER_DB_STANDBY)
    standby_down = _down(standby)
    databases_gone = bool(primary_down) and (not standby or bool(standby_down))
    if primary_down and not databases_gone:
        fallbacks.append(
            Fallback(
                "standby_database",
                "Standby order database",
                "The standby database is promoted and takes new orders.",
                Promise.ORDER,
                names(primary_down),
                automatic=True,
            )
        )
    shop_down = _down(kind(ComponentKind.WEB_SHOP))
    if shop_down or databases_gone:
        fallbacks.append(
            Fallback(
                "fallback_order_channels",
                "Fallback order channels",
                "Orders come in through the static order page, the onion "
                "mirror and SMS ordering, and are spooled until the order "
                "database is back.",
                Promise.ORDER,
                names(
                    shop_down + (primary_down + standby_down if databases_gone else [])
                ),
                automatic=False,
            )
        )
        promises[Promise.ORDER] = PromiseStatus.KEPT_BY_FALLBACK

    # The streaming backup: orders are still taken, but those since the last
    # shipped event live in one place only until it ships again.
    backup_down = _down(kind(ComponentKind.BACKUP))
    if backup_down:
        fallbacks.append(
            Fallback(
                "backup_alarm",
                "Backup alarm",
                "The streaming backup is behind or its store refuses writes: "
                "orders since the last shipped event are in one place only. "
                "Fix the store (controlroom backup ship says why).",
                Promise.ORDER,
                names(backup_down),
                automatic=False,
            )
        )

    # Dispatch: without the scheduler, dispatchers work from the last plan.
    scheduler_down = _down(kind(ComponentKind.ROUTE_SCHEDULER))
    if scheduler_down:
        fallbacks.append(
            Fallback(
                "manual_dispatch",
                "Manual dispatch",
                "Dispatchers keep the last published routes and re-plan in the "
                "control room; new orders are planned as a backlog.",
                Promise.KNOW,
                names(scheduler_down),
                automatic=False,
            )
        )

    # Know: drivers report by SMS when the app is down; customers look up
    # their parcel on the status site or by SMS. Both paths gone = at risk.
    app_down = _down(kind(ComponentKind.DRIVER_APP))
    sms_down = _down(kind(ComponentKind.SMS_GATEWAY))
    site_down = _down(kind(ComponentKind.STATUS_SITE))
    if app_down:
        fallbacks.append(
            Fallback(
                "driver_sms",
                "Driver SMS reporting",
                "Drivers report pickups and deliveries by SMS from the dedicated "
                "phone; routes go out as SMS manifests and printed PDFs.",
                Promise.KNOW,
                names(app_down),
                automatic=False,
            )
        )
    if site_down:
        fallbacks.append(
            Fallback(
                "status_by_sms",
                "Status by SMS",
                "Customers get their parcel's status by SMS on request.",
                Promise.KNOW,
                names(site_down),
                automatic=False,
            )
        )
    if sms_down:
        fallbacks.append(
            Fallback(
                "notices_on_status_site",
                "Notices on the status site",
                "Pickup and delivery notices are posted on the status site and "
                "in the driver app; drivers call in on the open line.",
                Promise.KNOW,
                names(sms_down),
                automatic=False,
            )
        )
    if (app_down and sms_down) or (site_down and sms_down):
        promises[Promise.KNOW] = PromiseStatus.AT_RISK
    elif app_down or site_down or sms_down:
        promises[Promise.KNOW] = PromiseStatus.KEPT_BY_FALLBACK

    degraded = tuple(
        c.name
        for items in by_kind.values()
        for c in items
        if c.state is ComponentState.DEGRADED_PERFORMANCE
    )
    return Posture(
        _level(fallbacks, promises, degraded), tuple(fallbacks), promises, degraded
    )


def _level(
    fallbacks: list[Fallback],
    promises: dict[Promise, PromiseStatus],
    degraded: tuple[str, ...],
) -> PostureLevel:
    if PromiseStatus.AT_RISK in promises.values():
        return PostureLevel.AT_RISK
    if any(not f.automatic for f in fallbacks):
        return PostureLevel.FALLBACK
    if fallbacks or degraded:
        return PostureLevel.DEGRADED
    return PostureLevel.NORMAL
