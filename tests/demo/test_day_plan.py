"""The demo day as a plan: the same day from the same seed, laid over Oslo."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from controlroom.demo.city import OSLO as OSLO_GRID
from controlroom.demo.city import AddressBook
from controlroom.demo.datafiles import (
    available_instances,
    load_day_script,
    load_instance,
    load_watch_only_account,
)
from controlroom.demo.day import OSLO, DayPlan, PaymentBehaviour, build_day_plan
from controlroom.demo.wallet import receive_address
from controlroom.errors import DemoWorldError
from controlroom.payments.models import PaymentMethod
from tests.demo.conftest import DEMO_DAY


@pytest.fixture(scope="module")
def lc101_day() -> DayPlan:
    instance, solution = load_instance("lc101")
    return build_day_plan(instance, solution, seed=7, day=DEMO_DAY)


def test_lc101_day_opens_at_seven_and_closes_at_17_18_oslo(lc101_day: DayPlan) -> None:
    closing = lc101_day.clock.at(lc101_day.instance.horizon).astimezone(OSLO)

    assert lc101_day.day_start.astimezone(OSLO).strftime("%H:%M") == "07:00"
    assert lc101_day.sim_start.astimezone(OSLO).strftime("%H:%M") == "06:30"
    assert closing.strftime("%H:%M") == "17:18"
    assert lc101_day.clock.minutes(90) == 45


def test_day_start_is_seven_in_oslo_across_daylight_saving() -> None:
    instance, solution = load_instance("lc101")

    summer = build_day_plan(instance, solution, seed=7, day=date(2026, 3, 30))

    assert summer.day_start == datetime(2026, 3, 30, 5, 0, tzinfo=UTC)


def test_every_pair_becomes_one_order_in_its_best_known_route(
    lc101_day: DayPlan,
) -> None:
    orders = lc101_day.orders

    assert len(orders) == 53
    assert all(o.pickup_sequence < o.delivery_sequence for o in orders)
    assert all(o.pickup_eta <= o.delivery_eta for o in orders)
    assert all(o.release < o.pickup_eta for o in orders)
    assert {o.route for o in orders} == set(range(10))


def test_a_few_orders_pay_partly_late_over_or_never(lc101_day: DayPlan) -> None:
    behaviours = Counter(order.behaviour for order in lc101_day.orders)

    assert behaviours[PaymentBehaviour.NEVER] == 2
    assert behaviours[PaymentBehaviour.PARTIAL] == 3
    assert behaviours[PaymentBehaviour.LATE] == 2
    assert behaviours[PaymentBehaviour.OVERPAID] == 1


def test_lightning_is_offered_to_regular_customers_only(lc101_day: DayPlan) -> None:
    lightning = [o for o in lc101_day.orders if o.method is PaymentMethod.LIGHTNING]

    assert len(lightning) == 16
    assert all(order.regular_sender for order in lightning)
    assert all(len(order.payment_hash or "") == 64 for order in lightning)


def test_every_payment_lands_before_the_van_does(lc101_day: DayPlan) -> None:
    payments = [(o, p) for o in lc101_day.orders for p in o.payments]

    assert all(o.release < p.at < o.pickup_eta for o, p in payments)
    assert all(p.amount_sat > 0 for _, p in payments)


def test_late_payers_pay_after_their_invoice_expires(lc101_day: DayPlan) -> None:
    late = [o for o in lc101_day.orders if o.behaviour is PaymentBehaviour.LATE]

    assert all(o.payments[0].at > o.expires_at for o in late)


def test_the_same_seed_gives_the_same_day(lc101_day: DayPlan) -> None:
    instance, solution = load_instance("lc101")

    again = build_day_plan(instance, solution, seed=7, day=DEMO_DAY)
    other = build_day_plan(instance, solution, seed=8, day=DEMO_DAY)

    assert again == lc101_day
    assert other.orders != lc101_day.orders


def test_lr101_stretches_its_short_horizon_over_the_same_day() -> None:
    instance, solution = load_instance("lr101")

    day = build_day_plan(instance, solution, seed=7, day=DEMO_DAY)

    assert len({order.route for order in day.orders}) == 19
    assert day.clock.at(instance.horizon) == day.clock.at(1236 * 230 / 1236)
    assert day.clock.at(instance.horizon).astimezone(OSLO).strftime("%H:%M") == "17:18"


def test_an_unknown_instance_names_the_ones_there_are() -> None:
    with pytest.raises(DemoWorldError, match=r"no demo instance called 'nope'.*lc101"):
        load_instance("nope")


def test_a_path_is_not_an_instance_name() -> None:
    with pytest.raises(DemoWorldError, match="no demo instance"):
        load_instance("../lc101")


def test_the_demo_ships_its_instances_and_script() -> None:
    script = load_day_script()

    assert "lc101" in available_instances()
    assert any(d.component == "node-eu-north" for d in script)


def test_grid_depot_lands_near_oslo_central() -> None:
    lat, lon = OSLO_GRID.to_lat_lon(40, 50)

    assert lat == pytest.approx(59.92, abs=0.01)
    assert lon == pytest.approx(10.74, abs=0.01)
    assert OSLO_GRID.postcode(40, 50) == "0690"


def test_address_book_is_synthetic_norwegian_and_repeatable() -> None:
    first, second = AddressBook(7), AddressBook(7)

    person = first.person()
    address = first.address_at(45, 68)

    assert person == second.person()
    assert address == second.address_at(45, 68)
    assert person.phone.startswith("+47 ")
    assert address.city == "Oslo"


def test_watch_only_addresses_are_the_test_mnemonics_regtest_addresses() -> None:
    account = load_watch_only_account()

    derived = tuple(receive_address(account.vpub, i) for i in range(2))
    fallback = receive_address(account.fallback_vpub, 0)

    assert derived == account.expected_addresses
    # The regtest spelling of the BIP84 test mnemonic's first testnet address.
    assert derived[0] == "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
    assert account.vpub.startswith("vpub")
    assert fallback.startswith("bcrt1q")
    assert fallback not in derived


def test_a_private_account_key_is_refused() -> None:
    # The published BIP84 test-vector zprv, read from the shared test data.
    import json

    from tests.conftest import SHARED_DATA

    vectors = json.loads((SHARED_DATA / "bitcoin" / "bip84_vectors.json").read_text())
    private = vectors["account_0"]["zprv_TEST_ONLY"]

    with pytest.raises(DemoWorldError, match="private key"):
        receive_address(private, 0)
