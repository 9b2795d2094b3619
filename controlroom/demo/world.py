"""Seeding the demo world: systems, fleet, customers, users and an empty plan.

``seed_demo_world`` builds everything a demo day needs in one transaction,
records the world's parameters as a ``DemoDaySeeded`` event (the simulator
reads them back from there) and plays the day up to the simulation's start,
so orders released before 06:30 are already placed with their past times.
"""

from __future__ import annotations

import logging
import math
import os
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, TaskID
from sqlalchemy import Engine, MetaData, func, select
from sqlalchemy.orm import Session

from controlroom.auth.models import Role, User
from controlroom.auth.service import create_user
from controlroom.clock import set_simulated_time
from controlroom.config import ensure_private_folder, load_settings
from controlroom.db import describe_url
from controlroom.demo.chain import DemoChain
from controlroom.demo.city import GRID_SIZE, Address, AddressBook, Person
from controlroom.demo.city import OSLO as OSLO_GRID
from controlroom.demo.day import DAY_OPENS, OSLO, WORKING_DAY_MINUTES, DayPlan
from controlroom.demo.driver_texts import register_demo_phones
from controlroom.demo.parameters import (
    SEEDED_EVENT,
    DemoWorld,
    build_world,
    world_parameters,
)
from controlroom.demo.play import play_until
from controlroom.dispatch.fleet import set_fleet_settings
from controlroom.dispatch.models import Depot, Vehicle
from controlroom.dispatch.service import (
    PlannedRoute,
    add_depot,
    add_driver,
    add_vehicle,
    create_plan,
    publish_plan,
)
from controlroom.dispatch.travel import TravelModel
from controlroom.errors import DemoWorldError
from controlroom.health.models import Component, ComponentKind
from controlroom.health.service import add_component
from controlroom.journal import append_event
from controlroom.journal.models import JournalEvent
from controlroom.orders.models import CustomerKind, Party, PartyKind
from controlroom.orders.service import register_party
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.models import WalletKind
from controlroom.payments.wallet_watch.service import add_fallback_wallet
from controlroom.schema import upgrade_database
from solver import Task

logger = logging.getLogger(__name__)

SEEDER = "demo-seed"
FALLBACK_WALLET = "Demo static wallet (account 1)"
# Where the reserve depot stands on the benchmark grid (north-east, Alnabru).
RESERVE_DEPOT_GRID = (90.0, 62.0)
CREDENTIALS_FILE = "demo-credentials.txt"
DEFAULT_SPEED = 60.0

# key, name, kind, region, provider
COMPONENTS: tuple[tuple[str, str, ComponentKind, str, str], ...] = (
    ("web-shop", "Web shop", ComponentKind.WEB_SHOP, "eu-north", "Hetzner"),
    (
        "node-eu-north",
        "Bitcoin Core eu-north",
        ComponentKind.PAYMENT_NODE,
        "eu-north",
        "Hetzner",
    ),
    (
        "node-us-east",
        "Bitcoin Core us-east",
        ComponentKind.PAYMENT_NODE,
        "us-east",
        "AWS",
    ),
    (
        "node-ap-southeast",
        "Esplora ap-southeast",
        ComponentKind.PAYMENT_NODE,
        "ap-southeast",
        "OVHcloud",
    ),
    (
        "payment-tracker",
        "Payment tracker",
        ComponentKind.PAYMENT_TRACKER,
        "eu-north",
        "Hetzner",
    ),
    (
        "order-db-primary",
        "Order database (primary)",
        ComponentKind.ORDER_DB_PRIMARY,
        "eu-north",
        "Hetzner",
    ),
    (
        "order-db-standby",
        "Order database (standby)",
        ComponentKind.ORDER_DB_STANDBY,
        "eu-central",
        "UpCloud",
    ),
    (
        "route-scheduler",
        "Route scheduler",
        ComponentKind.ROUTE_SCHEDULER,
        "eu-north",
        "Hetzner",
    ),
    (
        "driver-app",
        "Driver-app backend",
        ComponentKind.DRIVER_APP,
        "eu-north",
        "Hetzner",
    ),
    ("sms-gateway", "SMS gateway", ComponentKind.SMS_GATEWAY, "no", "Link Mobility"),
    ("status-site", "Status site", ComponentKind.STATUS_SITE, "global", "Netlify"),
)

USERS: tuple[tuple[Role, str, str], ...] = (
    (Role.MANAGEMENT, "mgmt", "Incident manager (demo)"),
    (Role.DISPATCHER, "dispatch", "Dispatcher (demo)"),
    (Role.OPS, "ops", "Payments operator (demo)"),
    (Role.ANALYST, "analyst", "Analyst (demo)"),
)

_COMPASS = ("øst", "nordøst", "nord", "nordvest", "vest", "sørvest", "sør", "sørøst")


def seed_demo_world(
    engine: Engine,
    *,
    instance: str = "lc101",
    seed: int = 7,
    reset: bool = False,
    console: Console | None = None,
    day: date | None = None,
) -> dict[str, tuple[str, str]]:
    """Build the demo world and return each role's ``(username, password)``.

    The world is the same for the same ``instance``, ``seed`` and ``day``
    (default: today in Oslo); only the passwords are drawn fresh. They are
    also written, readable by the owner only, to ``demo-credentials.txt`` in
    the data folder.
    """
    day = day or datetime.now(OSLO).date()
    # Read the inputs first, so a bad instance name changes nothing.
    draft = build_world(
        instance=instance, seed=seed, day=day, senders={}, recipients={}, vehicles=()
    )
    steps = 9
    if not reset:
        # Refuse before any progress is drawn or anything is written.
        upgrade_database(engine)
        _refuse_if_seeded(engine)

    with _progress(console, steps) as advance:
        if reset:
            _empty_database(engine)
        advance("migrating the database")
        upgrade_database(engine)

        passwords = {role: secrets.token_urlsafe(12) for role, _, _ in USERS}
        with Session(engine) as session, session.begin():
            world = _seed(session, draft, passwords, advance)
            advance("placing the orders released before the simulation starts")
            # The lab chain's nodes run while the early orders are paid, so
            # the tracker records their payments as they come.
            with DemoChain(world) as chain:
                play_until(session, world, until=world.plan.sim_start, chain=chain)
        advance("done")

    credentials = {
        role.value: (username, passwords[role]) for role, username, _ in USERS
    }
    _write_credentials(credentials)
    return credentials


def _seed(
    session: Session,
    draft: DemoWorld,
    passwords: dict[Role, str],
    advance: _Advance,
) -> DemoWorld:
    plan = draft.plan
    at = plan.sim_start
    book = AddressBook(plan.seed)

    advance("registering the systems")
    for key, name, kind, region, provider in COMPONENTS:
        add_component(
            session,
            key=key,
            name=name,
            kind=kind,
            at=at,
            actor=SEEDER,
            region=region,
            provider=provider,
        )

    advance("registering the depot, drivers and vans")
    depot_task = plan.instance.depot
    depot_address = book.address_at(depot_task.x, depot_task.y)
    depot = add_depot(
        session,
        name="Oslo sentrum depot",
        lat=depot_address.lat,
        lon=depot_address.lon,
        actor=SEEDER,
    )
    vehicles = _fleet(session, draft, depot, book)
    spare = _spare_van(session, draft, depot, book, number=len(vehicles) + 1)
    reserve = book.address_at(*RESERVE_DEPOT_GRID)
    add_depot(
        session,
        name="Alnabru reserve depot",
        lat=reserve.lat,
        lon=reserve.lon,
        actor=SEEDER,
    )
    start = DAY_OPENS.hour * 60 + DAY_OPENS.minute
    set_fleet_settings(
        session,
        travel=demo_travel(plan),
        shift=(start, start + round(WORKING_DAY_MINUTES)),
        at=at,
        actor=SEEDER,
    )

    advance("registering the customers")
    senders, recipients = _customers(session, draft, book)

    # The static-wallet fallback: a second account of the demo's watch-only
    # wallet, so orders taken while tracking is down still get an address.
    add_fallback_wallet(
        session,
        name=FALLBACK_WALLET,
        kind=WalletKind.HD,
        public_key=draft.fallback_key,
        network=Network.REGTEST,
        at=at,
        actor=SEEDER,
    )

    advance("creating the users")
    for role, username, display_name in USERS:
        create_user(
            session,
            username=username,
            display_name=display_name,
            role=role,
            password=passwords[role],
            at=at,
            actor=SEEDER,
        )

    # The vans' dedicated phones, for texting stops while the app is down.
    register_demo_phones(session, draft.story, at=at, actor=SEEDER)

    advance("publishing plan 1 with one empty route per van")
    routes = [PlannedRoute(vehicle=vehicle, stops=()) for vehicle in [*vehicles, spare]]
    first_plan = create_plan(
        session,
        routes=routes,
        reason="Start of the demo day: one route per van",
        at=at,
        actor="route-scheduler",
    )
    publish_plan(session, plan=first_plan, at=at, actor="route-scheduler")

    world = DemoWorld(
        plan=plan,
        script=draft.script,
        account_key=draft.account_key,
        fallback_key=draft.fallback_key,
        senders=senders,
        recipients=recipients,
        vehicles=tuple(vehicle.id for vehicle in vehicles),
        story=draft.story,
    )
    advance("recording the day")
    append_event(
        session,
        kind=SEEDED_EVENT,
        subject=f"demo:{plan.instance.name}",
        actor=SEEDER,
        occurred_at=at,
        payload=world_parameters(world),
    )
    set_simulated_time(session, now=at, day_start=plan.day_start, speed=DEFAULT_SPEED)
    return world


def _fleet(
    session: Session, draft: DemoWorld, depot: Depot, book: AddressBook
) -> list[Vehicle]:
    plan = draft.plan
    depot_address = book.address_at(plan.instance.depot.x, plan.instance.depot.y)
    vehicles = []
    for number, route in enumerate(plan.solution.routes, start=1):
        party = _register_person(
            session, book.person(), PartyKind.DRIVER, depot_address, CustomerKind.NEW
        )
        driver = add_driver(
            session,
            callsign=f"D{number:02d}",
            party=party,
            area=_area(plan, route),
            actor=SEEDER,
        )
        vehicles.append(
            add_vehicle(
                session,
                plate=f"CP {10000 + number}",
                capacity=plan.instance.capacity,
                depot=depot,
                driver=driver,
                actor=SEEDER,
            )
        )
    return vehicles


def _spare_van(
    session: Session, draft: DemoWorld, depot: Depot, book: AddressBook, number: int
) -> Vehicle:
    """Park one van more than the best-known plan needs, for breakdowns."""
    plan = draft.plan
    depot_address = book.address_at(plan.instance.depot.x, plan.instance.depot.y)
    party = _register_person(
        session, book.person(), PartyKind.DRIVER, depot_address, CustomerKind.NEW
    )
    driver = add_driver(
        session,
        callsign=f"D{number:02d}",
        party=party,
        area="Spare",
        actor=SEEDER,
    )
    return add_vehicle(
        session,
        plate=f"CP {10000 + number}",
        capacity=plan.instance.capacity,
        depot=depot,
        driver=driver,
        actor=SEEDER,
    )


def demo_travel(plan: DayPlan) -> TravelModel:
    """Return the travel model that gives the benchmark's travel times.

    A grid unit takes ``minutes_per_unit`` to cross, and the grid is stretched
    over the city's box, so a degree takes the units it spans times that.
    """
    per_unit = plan.clock.minutes_per_unit
    return TravelModel(
        minutes_per_degree_lat=per_unit
        * GRID_SIZE
        / (OSLO_GRID.north - OSLO_GRID.south),
        minutes_per_degree_lon=per_unit * GRID_SIZE / (OSLO_GRID.east - OSLO_GRID.west),
    )


def _area(plan: DayPlan, route: tuple[int, ...]) -> str:
    """Name the part of town a route serves, by the compass from the depot."""
    depot = plan.instance.depot
    tasks = [plan.instance.task(task_id) for task_id in route]
    dx = sum(t.x for t in tasks) / len(tasks) - depot.x
    dy = sum(t.y for t in tasks) / len(tasks) - depot.y
    if math.hypot(dx, dy) < 8:
        return "Oslo sentrum"
    sector = round(math.degrees(math.atan2(dy, dx)) / 45) % 8
    return f"Oslo {_COMPASS[sector]}"


def _customers(
    session: Session, draft: DemoWorld, book: AddressBook
) -> tuple[dict[int, int], dict[int, int]]:
    plan = draft.plan
    rng = random.Random(f"{plan.seed}:customers")
    senders: dict[int, int] = {}
    recipients: dict[int, int] = {}
    for order in sorted(plan.orders, key=lambda o: o.pickup.id):
        kind = CustomerKind.REGULAR if order.regular_sender else CustomerKind.NEW
        # Regular customers have been with us for a while.
        since = (
            plan.sim_start - timedelta(days=rng.randint(30, 700))
            if order.regular_sender
            else None
        )
        senders[order.pickup.id] = _customer(session, book, order.pickup, kind, since)
        recipients[order.delivery.id] = _customer(
            session, book, order.delivery, CustomerKind.NEW, None
        )
    return senders, recipients


def _customer(
    session: Session,
    book: AddressBook,
    task: Task,
    kind: CustomerKind,
    since: datetime | None,
) -> int:
    person = book.person()
    address = book.address_at(task.x, task.y)
    party = _register_person(session, person, PartyKind.CUSTOMER, address, kind, since)
    return party.id


def _register_person(
    session: Session,
    person: Person,
    kind: PartyKind,
    address: Address,
    customer_kind: CustomerKind,
    since: datetime | None = None,
) -> Party:
    return register_party(
        session,
        kind=kind,
        name=person.name,
        phone=person.phone,
        street=address.street,
        postcode=address.postcode,
        city=address.city,
        lat=address.lat,
        lon=address.lon,
        actor=SEEDER,
        customer_kind=customer_kind,
        at=since,
    )


def _empty_database(engine: Engine) -> None:
    """Drop every table, the migration record included, on any backend."""
    logger.info("emptying database url=%s", describe_url(str(engine.url)))
    existing = MetaData()
    existing.reflect(bind=engine)
    existing.drop_all(bind=engine)


def _refuse_if_seeded(engine: Engine) -> None:
    with Session(engine) as session:
        seeded = session.scalar(
            select(func.count())
            .select_from(JournalEvent)
            .where(JournalEvent.kind == SEEDED_EVENT)
        )
        components = session.scalar(select(func.count()).select_from(Component))
        users = session.scalar(select(func.count()).select_from(User))
    if seeded or components or users:
        raise DemoWorldError(
            f"The database at {describe_url(str(engine.url))} is already seeded "
            f"({components} components, {users} users); use --reset to delete "
            "everything in it and seed a new demo world."
        )


def _write_credentials(credentials: dict[str, tuple[str, str]]) -> Path:
    folder = ensure_private_folder(load_settings().data_dir)
    path = folder / CREDENTIALS_FILE
    lines = ["# CryptoPack control room demo users: role user password"]
    lines += [
        f"{role} {user} {password}" for role, (user, password) in credentials.items()
    ]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # An existing file keeps its old mode through os.open; tighten it.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


class _Advance:
    """Moves the progress bar one step and names the step."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def __call__(self, description: str) -> None:
        logger.info("demo seed step=%r", description)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, description=description)


@contextmanager
def _progress(console: Console | None, steps: int) -> Iterator[_Advance]:
    if console is None:
        yield _Advance(None, None)
        return
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("seeding the demo world", total=steps)
        yield _Advance(progress, task)
        progress.update(task, completed=steps)
