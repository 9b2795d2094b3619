"""The posture rules: which fallbacks the component states call for."""

from __future__ import annotations

import pytest

from controlroom.health.models import ComponentKind, ComponentState
from controlroom.health.posture import (
    ComponentStatus,
    PostureLevel,
    Promise,
    PromiseStatus,
    derive_posture,
)

K = ComponentKind
UP = ComponentState.OPERATIONAL
DOWN = ComponentState.MAJOR_OUTAGE
KEPT = PromiseStatus.KEPT
FALLBACK = PromiseStatus.KEPT_BY_FALLBACK
AT_RISK = PromiseStatus.AT_RISK

# The whole house, every component operational.
HOUSE = {
    "shop": ("Web shop", K.WEB_SHOP),
    "node-oslo": ("Node Oslo", K.PAYMENT_NODE),
    "node-bergen": ("Node Bergen", K.PAYMENT_NODE),
    "tracker": ("Payment tracker", K.PAYMENT_TRACKER),
    "db-primary": ("Order DB primary", K.ORDER_DB_PRIMARY),
    "db-standby": ("Order DB standby", K.ORDER_DB_STANDBY),
    "scheduler": ("Route scheduler", K.ROUTE_SCHEDULER),
    "app": ("Driver app", K.DRIVER_APP),
    "sms": ("SMS gateway", K.SMS_GATEWAY),
    "site": ("Status site", K.STATUS_SITE),
    "backup": ("Streaming backup", K.BACKUP),
}


def house(
    states: dict[str, ComponentState], without: tuple[str, ...] = ()
) -> list[ComponentStatus]:
    """The house with some components in other states, some left out."""
    return [
        ComponentStatus(key, name, kind, states.get(key, UP))
        for key, (name, kind) in HOUSE.items()
        if key not in without
    ]


@pytest.mark.parametrize(
    ("down", "fallbacks", "promises", "level"),
    [
        pytest.param((), [], (KEPT, KEPT, KEPT), PostureLevel.NORMAL, id="all-up"),
        pytest.param(
            ("node-oslo",),
            ["payment_node_failover"],
            (KEPT, KEPT, KEPT),
            PostureLevel.DEGRADED,
            id="one-node-down",
        ),
        pytest.param(
            ("node-oslo", "node-bergen"),
            ["static_wallets"],
            (FALLBACK, KEPT, KEPT),
            PostureLevel.FALLBACK,
            id="all-nodes-down",
        ),
        pytest.param(
            ("tracker",),
            ["static_wallets"],
            (FALLBACK, KEPT, KEPT),
            PostureLevel.FALLBACK,
            id="tracker-down",
        ),
        pytest.param(
            ("db-primary",),
            ["standby_database"],
            (KEPT, KEPT, KEPT),
            PostureLevel.DEGRADED,
            id="primary-down-standby-up",
        ),
        pytest.param(
            ("db-primary", "db-standby"),
            ["fallback_order_channels"],
            (KEPT, FALLBACK, KEPT),
            PostureLevel.FALLBACK,
            id="both-databases-down",
        ),
        pytest.param(
            ("shop",),
            ["fallback_order_channels"],
            (KEPT, FALLBACK, KEPT),
            PostureLevel.FALLBACK,
            id="web-shop-down",
        ),
        pytest.param(
            ("scheduler",),
            ["manual_dispatch"],
            (KEPT, KEPT, KEPT),
            PostureLevel.FALLBACK,
            id="scheduler-down",
        ),
        pytest.param(
            ("app",),
            ["driver_sms"],
            (KEPT, KEPT, FALLBACK),
            PostureLevel.FALLBACK,
            id="driver-app-down",
        ),
        pytest.param(
            ("sms",),
            ["notices_on_status_site"],
            (KEPT, KEPT, FALLBACK),
            PostureLevel.FALLBACK,
            id="sms-gateway-down",
        ),
        pytest.param(
            ("site",),
            ["status_by_sms"],
            (KEPT, KEPT, FALLBACK),
            PostureLevel.FALLBACK,
            id="status-site-down",
        ),
        pytest.param(
            ("app", "sms"),
            ["driver_sms", "notices_on_status_site"],
            (KEPT, KEPT, AT_RISK),
            PostureLevel.AT_RISK,
            id="driver-app-and-sms-down",
        ),
        pytest.param(
            ("site", "sms"),
            ["status_by_sms", "notices_on_status_site"],
            (KEPT, KEPT, AT_RISK),
            PostureLevel.AT_RISK,
            id="status-site-and-sms-down",
        ),
        pytest.param(
            ("backup",),
            ["backup_alarm"],
            (KEPT, KEPT, KEPT),
            PostureLevel.FALLBACK,
            id="backup-alarm",
        ),
    ],
)
def test_each_rule(
    down: tuple[str, ...],
    fallbacks: list[str],
    promises: tuple[PromiseStatus, PromiseStatus, PromiseStatus],
    level: PostureLevel,
) -> None:
    posture = derive_posture(house(dict.fromkeys(down, DOWN)))

    assert [f.key for f in posture.fallbacks] == fallbacks
    assert tuple(posture.promises[p] for p in Promise) == promises
    assert posture.level is level


def test_failover_runs_on_the_nodes_still_up() -> None:
    posture = derive_posture(house({"node-oslo": DOWN}))

    (failover,) = posture.fallbacks
    assert failover.automatic
    assert failover.because == ("Node Oslo",)
    assert failover.action == "Payment tracking runs on Node Bergen."


def test_losing_both_databases_names_both() -> None:
    posture = derive_posture(house({"db-primary": DOWN, "db-standby": DOWN}))

    assert posture.fallbacks[0].because == ("Order DB primary", "Order DB standby")


def test_a_primary_without_a_standby_falls_back_to_other_channels() -> None:
    posture = derive_posture(house({"db-primary": DOWN}, without=("db-standby",)))

    assert [f.key for f in posture.fallbacks] == ["fallback_order_channels"]


@pytest.mark.parametrize(
    "state",
    [
        ComponentState.PARTIAL_OUTAGE,
        ComponentState.MAJOR_OUTAGE,
        ComponentState.UNDER_MAINTENANCE,
    ],
)
def test_outages_and_maintenance_count_as_down(state: ComponentState) -> None:
    assert state.is_down
    assert derive_posture(house({"app": state})).promises[Promise.KNOW] is FALLBACK


def test_a_slow_component_degrades_without_a_fallback() -> None:
    posture = derive_posture(house({"node-oslo": ComponentState.DEGRADED_PERFORMANCE}))

    assert posture.fallbacks == ()
    assert posture.level is PostureLevel.DEGRADED
    assert posture.headline == "Normal operations with slow systems: Node Oslo"


def test_a_promise_at_risk_outranks_every_fallback() -> None:
    posture = derive_posture(
        house({"app": DOWN, "sms": DOWN, "node-oslo": DOWN, "shop": DOWN})
    )

    assert posture.level is PostureLevel.AT_RISK


def test_a_manual_fallback_outranks_an_automatic_one() -> None:
    posture = derive_posture(house({"node-oslo": DOWN, "scheduler": DOWN}))

    assert posture.level is PostureLevel.FALLBACK


def test_the_headline_of_a_calm_day() -> None:
    assert derive_posture(house({})).headline == (
        "Normal operations: every system is operational."
    )


def test_the_headline_counts_and_names_the_fallbacks() -> None:
    posture = derive_posture(house({"shop": DOWN, "app": DOWN}))

    assert posture.headline == (
        "2 fallback(s) active: Fallback order channels; Driver SMS reporting"
    )


def test_each_promise_reads_as_a_sentence() -> None:
    assert Promise.PAY.sentence == "Customers can always pay with Bitcoin"
    assert ComponentState.MAJOR_OUTAGE.label == "Major outage"
