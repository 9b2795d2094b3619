"""The ``controlroom`` command: what an operator does outside the browser."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from time import sleep as pause
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from controlroom.config import Settings, load_settings
from controlroom.db import create_db_engine, describe_url
from controlroom.errors import ControlRoomError, DispatchError
from controlroom.payments.nodes.base import PaymentNode
from controlroom.schema import check_database, open_checked_database, upgrade_database

if TYPE_CHECKING:
    from controlroom.backup.drills import DrillResult
    from controlroom.backup.pg_restore import PgRestoreReport
    from controlroom.backup.restore import RestoreReport
    from controlroom.broadcasts.outbox import RoundReport

app = typer.Typer(
    help="CryptoPack control room: database, demo world, simulator, journal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Create, migrate and check the order database.", no_args_is_help=True
)
journal_app = typer.Typer(help="Verify the hash-chained journal.", no_args_is_help=True)
demo_app = typer.Typer(help="The seeded demo world.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(journal_app, name="journal")
app.add_typer(demo_app, name="demo")
fleet_app = typer.Typer(
    help="The fleet's shift and travel speed.", no_args_is_help=True
)
app.add_typer(fleet_app, name="fleet")
payments_app = typer.Typer(
    help="Payment nodes and the payment tracker.", no_args_is_help=True
)
app.add_typer(payments_app, name="payments")
lab_app = typer.Typer(
    help="Lab servers on 127.0.0.1 for drills and tests.", no_args_is_help=True
)
app.add_typer(lab_app, name="lab")
status_site_app = typer.Typer(
    help="The public static status website.", no_args_is_help=True
)
app.add_typer(status_site_app, name="status-site")
messages_app = typer.Typer(
    help="The SMS outbox: send queued messages, read receipts.", no_args_is_help=True
)
app.add_typer(messages_app, name="messages")
drivers_app = typer.Typer(
    help="Drivers' dedicated phones and the texts they send.", no_args_is_help=True
)
app.add_typer(drivers_app, name="drivers")
backup_app = typer.Typer(
    help="The backup: ship the journal, snapshot, verify, restore, drill.",
    no_args_is_help=True,
)
app.add_typer(backup_app, name="backup")
cluster_app = typer.Typer(
    help="The PostgreSQL cluster: members' roles, fencing an old primary.",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster")

# soft_wrap: an error stays one line and a printed head hash stays whole,
# whatever the terminal width.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; defaults to CONTROLROOM_DATABASE_URL or the SQLite file "
        "in the data folder.",
    ),
]


def _settings() -> Settings:
    return load_settings()


def _engine(url: str | None, *, create: bool = False) -> Engine:
    settings = _settings()
    resolved = url or settings.resolved_database_url
    if create:
        return create_db_engine(resolved, create_folder=True)
    return open_checked_database(resolved)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Set up logging once, for every command."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # One line per HTTP request to a payment node would bury what happened;
    # their failures reach our own log lines as errors anyway.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create the database if needed and apply every migration."""
    engine = _engine(database_url, create=True)
    upgrade_database(engine)
    check_database(engine)
    console.print(f"[green]Database ready[/green] at {describe_url(str(engine.url))}")


@db_app.command("check")
def db_check(database_url: DatabaseOption = None) -> None:
    """Check that the database exists, is intact and is fully migrated."""
    engine = _engine(database_url)
    console.print(f"[green]Database OK[/green] at {describe_url(str(engine.url))}")


@journal_app.command("verify")
def journal_verify(
    database_url: DatabaseOption = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            help="SEQ:HASH of a head kept elsewhere (a backup manifest, an earlier "
            "verify); catches a journal cut off together with its head row."
        ),
    ] = None,
) -> None:
    """Re-hash the whole journal and name the first edited, missing or moved event."""
    from controlroom.journal import verify_journal

    anchor = _parse_head(expect_head) if expect_head is not None else None
    engine = _engine(database_url)
    with Session(engine) as session, session.begin():
        seq, digest = verify_journal(session, expected_head=anchor)
    console.print(f"[green]Journal intact[/green]: {seq} events, head {seq}:{digest}")


def _parse_head(text: str) -> tuple[int, str]:
    seq, _, digest = text.strip().partition(":")
    is_hex = all(char in "0123456789abcdef" for char in digest.lower())
    if not seq.isdigit() or len(digest) != 64 or not is_hex:
        raise ControlRoomError(
            f"--expect-head must look like 1234:<64 hex digits>, not {text!r}."
        )
    return int(seq), digest.lower()


@demo_app.command("seed")
def demo_seed(
    database_url: DatabaseOption = None,
    instance: Annotated[
        str, typer.Option(help="Li & Lim instance the day is built from.")
    ] = "lc101",
    seed: Annotated[int, typer.Option(help="Random seed for names and payments.")] = 7,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the existing database first.")
    ] = False,
) -> None:
    """Build the demo world: depot, drivers, vans, customers, a day of orders."""
    from controlroom.demo.world import seed_demo_world

    engine = _engine(database_url, create=True)
    credentials = seed_demo_world(
        engine, instance=instance, seed=seed, reset=reset, console=console
    )
    console.print("\n[bold]Sign in to the control room with:[/bold]")
    for role, (username, password) in credentials.items():
        console.print(
            f"  {role:<11} user [cyan]{username}[/cyan]"
            f"  password [cyan]{password}[/cyan]"
        )


@app.command("simulate")
def simulate(
    database_url: DatabaseOption = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Simulated seconds per real second (default: setting)."),
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Play the whole day at once, no waiting.")
    ] = False,
    until: Annotated[
        str | None,
        typer.Option(help="Stop at this Oslo time of the demo day, e.g. 12:30."),
    ] = None,
) -> None:
    """Play the demo day into the database on an accelerated clock."""
    from controlroom.demo.simulator import run_simulation

    engine = _engine(database_url)
    settings = _settings()
    run_simulation(
        engine,
        speed=speed or settings.simulator_speed,
        fast=fast,
        console=console,
        until=_parse_wall_time(until) if until else None,
    )


def _parse_wall_time(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ControlRoomError(
            f"--until must be a time of day like 12:30, not {text!r}."
        ) from None


@fleet_app.command("set")
def fleet_set(
    speed_kmh: Annotated[
        float, typer.Option(help="Vans' average speed across town, stops excluded.")
    ],
    shift: Annotated[str, typer.Option(help="Local shift hours, e.g. 07:00-17:00.")],
    latitude: Annotated[
        float | None,
        typer.Option(help="The city's latitude; defaults to the depots' mean."),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Set the shift and the travel speed the planner uses."""
    from controlroom.clock import operating_now
    from controlroom.dispatch.fleet import parse_shift, set_fleet_settings
    from controlroom.dispatch.models import Depot
    from controlroom.dispatch.travel import TravelModel

    hours = parse_shift(shift)
    TravelModel.for_speed(speed_kmh, latitude=latitude or 0.0)  # refuse a bad speed
    engine = _engine(database_url)
    with Session(engine) as session, session.begin():
        if latitude is None:
            lats = [d.lat for d in session.scalars(select(Depot))]
            if not lats:
                raise DispatchError(
                    "No depot is registered yet; give the city's --latitude."
                )
            latitude = sum(lats) / len(lats)
        travel = TravelModel.for_speed(speed_kmh, latitude=latitude)
        set_fleet_settings(
            session,
            travel=travel,
            shift=hours,
            at=operating_now(session),
            actor="cli",
        )
    console.print(
        f"[green]Fleet settings saved[/green]: {speed_kmh:g} km/h near latitude "
        f"{latitude:.3f}, shift {shift}"
    )


@fleet_app.command("show")
def fleet_show(database_url: DatabaseOption = None) -> None:
    """Print the shift and the travel model."""
    from controlroom.dispatch.fleet import fleet_settings, shift_hours
    from controlroom.dispatch.travel import KM_PER_DEGREE_LAT

    engine = _engine(database_url)
    with Session(engine) as session:
        settings = fleet_settings(session)
        start, end = shift_hours(settings)
        # The speed the settings amount to, north-south (where a degree is a
        # fixed length); east-west follows from the latitude.
        speed = KM_PER_DEGREE_LAT / settings.minutes_per_degree_lat * 60
        console.print(
            f"Shift {start:%H:%M}-{end:%H:%M}; "
            f"{settings.minutes_per_degree_lat:.1f} min per degree of latitude, "
            f"{settings.minutes_per_degree_lon:.1f} per degree of longitude "
            f"(vans average {speed:.1f} km/h)"
        )


@status_site_app.command("build")
def status_site_build(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The folder to write the site to "
            "(default: status-site in the data folder, which the app previews).",
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Write the static status site to a folder, replacing it in one step."""
    from controlroom.clock import operating_now
    from controlroom.status_site.actions import site_folder
    from controlroom.status_site.build import build_status_site, site_options
    from controlroom.status_site.records import local_minute

    settings = _settings()
    out = out if out is not None else site_folder(settings)
    options = site_options(settings)
    engine = _engine(database_url)
    with Session(engine) as session, session.begin():
        report = build_status_site(
            session, out=out, options=options, at=operating_now(session)
        )
    console.print(
        f"[green]Status site written[/green] to {escape(str(report.folder))}: "
        f"{report.files} files, {report.services} services, "
        f"{report.incidents} incident(s), {report.records} parcel record(s); "
        f"generated {local_minute(report.generated_at, options.zone)}"
    )


@messages_app.command("send")
def messages_send(
    wait: Annotated[
        float,
        typer.Option("--wait", help="Seconds to wait for delivery receipts."),
    ] = 2.0,
    every: Annotated[
        float | None,
        typer.Option(
            help="Keep going: start a round this many seconds after the last "
            "one ended (Ctrl-C stops). Without it, one round.",
            min=1.0,
        ),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(help="With --every, stop after this many.", min=1)
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run outbox rounds: send queued SMS, retry failed ones, apply receipts."""
    from controlroom.broadcasts.gateways import open_gateway
    from controlroom.broadcasts.outbox import run_round
    from controlroom.clock import operating_now

    settings = _settings()
    engine = _engine(database_url)
    limit = 1 if every is None else rounds
    done = 0
    with open_gateway(settings) as gateway:
        try:
            while limit is None or done < limit:
                if done:
                    pause(every or 0.0)
                with Session(engine) as session, session.begin():
                    now = operating_now(session)
                report = run_round(
                    engine,
                    gateway,
                    at=now,
                    max_attempts=settings.sms_max_attempts,
                    wait_seconds=wait,
                )
                done += 1
                _print_round(report)
        except KeyboardInterrupt:
            console.print(f"Stopped after {done} round(s).")
            return
    if report.unavailable:
        # A cron job or a service manager must notice a gateway it cannot reach.
        raise typer.Exit(code=1)


@messages_app.command("receipts")
def messages_receipts(
    wait: Annotated[
        float,
        typer.Option("--wait", help="Seconds to wait for delivery receipts."),
    ] = 5.0,
    database_url: DatabaseOption = None,
) -> None:
    """Read delivery receipts for a while and apply them; send nothing."""
    from controlroom.broadcasts.gateways import open_gateway
    from controlroom.broadcasts.outbox import read_receipts
    from controlroom.clock import operating_now

    settings = _settings()
    engine = _engine(database_url)
    with Session(engine) as session, session.begin():
        now = operating_now(session)
    with open_gateway(settings) as gateway:
        report = read_receipts(
            engine,
            gateway,
            at=now,
            max_attempts=settings.sms_max_attempts,
            wait_seconds=wait,
        )
    _print_round(report)


def _print_round(report: RoundReport) -> None:
    table = Table("outcome", "messages")
    for label, count in (
        ("app feed delivered", report.app_delivered),
        ("sent", report.sent),
        ("throttled (stay queued)", report.throttled),
        ("gateway unavailable", report.unavailable),
        ("failed and flagged", report.failed),
        ("delivered (receipts)", report.delivered),
        ("queued again (failed receipt)", report.retried),
        ("unmatched receipts", report.unmatched),
    ):
        table.add_row(label, str(count))
    console.print(table)
    if report.stopped:
        console.print(f"[yellow]Round stopped early:[/yellow] {escape(report.stopped)}")
    for problem in report.problems:
        errors.print(escape(problem))


@messages_app.command("status")
def messages_status(database_url: DatabaseOption = None) -> None:
    """Count the outbox's messages per channel and state."""
    from controlroom.broadcasts.board import state_counts
    from controlroom.broadcasts.models import MessageChannel, MessageState

    engine = _engine(database_url)
    with Session(engine) as session, session.begin():
        counts = state_counts(session)
    table = Table("channel", *(state.value for state in MessageState))
    for channel in MessageChannel:
        table.add_row(
            channel.value,
            *(str(counts.get((channel, state), 0)) for state in MessageState),
        )
    console.print(table)


@drivers_app.command("register-phone")
def drivers_register_phone(
    driver: Annotated[str, typer.Option(help="The driver's call sign, e.g. D01.")],
    phone: Annotated[str, typer.Option(help="The number, e.g. +47 912 34 567.")],
    database_url: DatabaseOption = None,
) -> None:
    """Register a dedicated phone to a driver; the PIN is asked for twice."""
    from controlroom.driver_sms.actions import register_by_callsign

    pin = typer.prompt("PIN (4 to 8 digits)", hide_input=True, confirmation_prompt=True)
    engine = _engine(database_url)
    message = register_by_callsign(
        engine, callsign=driver, phone=phone, pin=pin, actor="cli"
    )
    console.print(escape(message))


@drivers_app.command("read-texts")
def drivers_read_texts(
    every: Annotated[
        float, typer.Option(help="Seconds to wait for texts each round.", min=0.5)
    ] = 5.0,
    rounds: Annotated[
        int | None, typer.Option(help="Stop after this many rounds.", min=1)
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Read drivers' texts off the SMPP gateway and apply each one.

    Replies are queued in the outbox; ``controlroom messages send`` sends them.
    """
    from controlroom.broadcasts.gateways import open_gateway
    from controlroom.driver_sms.runner import read_texts_for

    settings = _settings()
    engine = _engine(database_url)
    with open_gateway(settings) as gateway:
        for outcome in read_texts_for(engine, gateway, every=every, rounds=rounds):
            console.print(escape(outcome))


def run(args: Sequence[str] | None = None) -> None:
    """Entry point that turns our errors into one readable line, not a traceback.

    ``args`` defaults to the command line; tests pass their own.
    """
    try:
        app(args=list(args) if args is not None else None)
    except ControlRoomError as exc:
        # Our messages quote TOML such as [[nodes]]: print them, not markup.
        errors.print(f"[red]Error:[/red] {escape(str(exc))}")
        sys.exit(1)
    except DatabaseError as exc:
        # A database that passed its checks but fails mid-command (a table
        # dropped under us, a server gone): one line, not a traceback.
        detail = str(exc.orig or exc).strip().splitlines()[0]
        errors.print(f"[red]Error:[/red] The database failed: {escape(detail)}")
        sys.exit(1)


NodesOption = Annotated[
    Path,
    typer.Option(
        "--nodes",
        help="The node list: a TOML or JSON file with a \\[\\[nodes]] entry per node.",
    ),
]
PasswordsOption = Annotated[
    Path | None,
    typer.Option(
        "--passwords",
        help="An owner-only file of KEY=password lines for Bitcoin Core nodes "
        "(or set CONTROLROOM_NODE_PASSWORD_<KEY>).",
    ),
]


def _configured_nodes(nodes: Path, passwords: Path | None) -> list[PaymentNode]:
    from controlroom.payments.tracking.runner import (
        build_nodes,
        read_node_list,
        read_passwords,
    )

    secrets = read_passwords(passwords) if passwords else {}
    return build_nodes(read_node_list(nodes), passwords=secrets)


@payments_app.command("nodes")
def payments_nodes(nodes: NodesOption, passwords: PasswordsOption = None) -> None:
    """Ask every payment node for its tip once and say which can be trusted."""
    from rich.table import Table

    from controlroom.payments.tracking.checks import check_nodes

    configured = _configured_nodes(nodes, passwords)
    judgement = check_nodes(configured)
    table = Table("node", "region", "height", "answered in", "trusted", "why")
    regions = {node.config.key: node.config.region for node in configured}
    for verdict in judgement.verdicts:
        table.add_row(
            verdict.key,
            regions[verdict.key],
            f"{verdict.height:,}" if verdict.height is not None else "–",
            f"{verdict.response_ms:,.0f} ms" if verdict.response_ms else "–",
            "[green]yes[/green]" if verdict.trusted else "[red]no[/red]",
            verdict.reason,
        )
    console.print(table)
    for node in configured:
        node.close()
    if not judgement.trusted:
        errors.print("[red]No payment node can be trusted now.[/red]")
        raise typer.Exit(1)


@payments_app.command("track")
def payments_track(
    nodes: NodesOption,
    passwords: PasswordsOption = None,
    database_url: DatabaseOption = None,
    every: Annotated[
        float, typer.Option(help="Seconds between rounds.", min=1.0)
    ] = 30.0,
    rounds: Annotated[
        int | None, typer.Option(help="Stop after this many rounds.", min=1)
    ] = None,
    start_height: Annotated[
        int | None,
        typer.Option(
            help="First block to scan (1 or more), on the very first round only.",
            min=1,
        ),
    ] = None,
) -> None:
    """Follow the trusted payment nodes and record what pays the open invoices."""
    from controlroom.payments.rounds import RoundOutcome
    from controlroom.payments.tracking.runner import run_tracker
    from controlroom.payments.tracking.service import TrackReport

    configured = _configured_nodes(nodes, passwords)
    engine = _engine(database_url)

    def show(outcome: RoundOutcome[TrackReport]) -> None:
        report = outcome.report
        if report is None:
            errors.print(f"[red]Round failed[/red]: {outcome.error}")
        elif not report.tracking:
            errors.print(f"[red]Not tracking[/red]: {report.stopped_because}")
        else:
            moved = f" (failed over to {', '.join(report.failovers)})"
            console.print(
                f"Following {report.followed} at height {report.height:,}: "
                f"{report.blocks_processed} block(s), "
                f"{report.payments_seen} payment(s) seen"
                + (moved if report.failovers else "")
            )

    try:
        run_tracker(
            engine,
            nodes=configured,
            every_seconds=every,
            rounds=rounds,
            start_height=start_height,
            on_round=show,
        )
    except KeyboardInterrupt:
        console.print("Stopped; the next run resumes after the last processed block.")
    finally:
        for node in configured:
            node.close()


@payments_app.command("lightning")
def payments_lightning(
    url: Annotated[str, typer.Option(help="The LND node's REST address.")],
    macaroon: Annotated[
        Path, typer.Option(help="The node's invoice.macaroon file (binary).")
    ],
    cert: Annotated[
        Path | None,
        typer.Option(help="The node's tls.cert, pinned as the only one trusted."),
    ] = None,
    key: Annotated[
        str, typer.Option(help="The node's key: which invoices it holds.")
    ] = "lnd",
    network: Annotated[
        str, typer.Option(help="mainnet, testnet, signet or regtest.")
    ] = "mainnet",
    database_url: DatabaseOption = None,
    every: Annotated[float, typer.Option(help="Seconds between rounds.", min=1.0)] = (
        15.0
    ),
    rounds: Annotated[
        int | None, typer.Option(help="Stop after this many rounds.", min=1)
    ] = None,
) -> None:
    """Ask the Lightning node about every watched invoice; record what was paid."""
    from controlroom.payments.lightning.poller import (
        PollOutcome,
        lightning_node,
        run_lightning_poller,
    )

    node = lightning_node(
        key=key, url=url, macaroon=macaroon, cert=cert, network=network
    )
    engine = _engine(database_url)
    # Ask the node who it is first: a wrong address, macaroon or network is
    # said now, not after the first invoice is due.
    info = node.info()
    console.print(f"Lightning node {key} answers: {info.alias or info.node_id}.")

    def show(outcome: PollOutcome) -> None:
        poll = outcome.report
        if poll is None:
            errors.print(f"[red]Round failed[/red]: {outcome.error}")
            return
        console.print(
            f"Checked {poll.checked} invoice(s): {len(poll.settled)} settled, "
            f"{len(poll.paid_late)} paid late, "
            f"{len(poll.unknown_to_node)} unknown to the node"
        )

    try:
        run_lightning_poller(
            engine, node=node, every_seconds=every, rounds=rounds, on_round=show
        )
    except KeyboardInterrupt:
        console.print("Stopped.")
    finally:
        node.close()


@lab_app.command("nodes")
def lab_nodes(
    write: Annotated[
        Path, typer.Option(help="Where to write the node list for --nodes.")
    ] = Path("lab-nodes.toml"),
    block_seconds: Annotated[
        float, typer.Option(help="Mine a block this often (real seconds).", min=1.0)
    ] = 20.0,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="NODE:KIND:FROM:UNTIL, KIND down, lag or slow, times in seconds "
            "into the drill; repeat for more."
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds.", min=1.0)
    ] = None,
) -> None:
    """Run the demo's three payment nodes as lab servers on 127.0.0.1."""
    import time as clock

    from controlroom.payments.lab.drill import DrillNodes, parse_fault

    drill = DrillNodes([parse_fault(text) for text in fault or []]).start()
    secrets_file = drill.write_files(write)
    console.print(
        f"Lab nodes on 127.0.0.1; node list in {write}, passwords in "
        f"{secrets_file}. Follow them with:"
    )
    console.print(
        f"  controlroom payments track --nodes {write} --passwords {secrets_file}"
    )
    began = clock.monotonic()
    last_block = began
    shown: list[str] = []
    try:
        while duration is None or clock.monotonic() - began < duration:
            elapsed = clock.monotonic() - began
            if clock.monotonic() - last_block >= block_seconds:
                drill.chain.mine()
                last_block = clock.monotonic()
            active = drill.apply_faults(elapsed)
            if active != shown:
                console.print(
                    f"{elapsed:6.0f} s  height {drill.chain.height}  faults: "
                    + (", ".join(active) or "none")
                )
                shown = active
            clock.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        drill.stop()
    console.print(f"Lab nodes stopped at height {drill.chain.height}.")


@lab_app.command("smsc")
def lab_smsc(
    write: Annotated[
        Path, typer.Option(help="Where to write the settings that point at it.")
    ] = Path("lab-smsc.env"),
    text: Annotated[
        list[str] | None,
        typer.Option(
            help="NUMBER:TEXT a handset sends once a client is bound, e.g. "
            "'+4791234567:HELP'; repeat for more."
        ),
    ] = None,
    receipt_stat: Annotated[
        str, typer.Option(help="The stat word of delivery receipts.")
    ] = "DELIVRD",
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds.", min=1.0)
    ] = None,
) -> None:
    """Run a lab SMSC (SMPP 3.4) on 127.0.0.1 for a drill of the SMS paths."""
    import os
    import secrets
    import time as clock

    from controlroom.messaging.smsc_lab import LabSmsc

    texts: list[tuple[str, str]] = []
    for entry in text or []:
        number, colon, body = entry.partition(":")
        if not colon or not number.strip() or not body.strip():
            raise typer.BadParameter(
                f"{entry!r} is not NUMBER:TEXT, e.g. '+4791234567:HELP'.",
                param_hint="--text",
            )
        texts.append((number.strip(), body.strip()))
    password = secrets.token_hex(4)  # SMPP passwords are at most 8 characters
    secret = write.with_suffix(".secret")
    with LabSmsc(system_id="cryptopack", password=password) as smsc:
        smsc.faults.receipt_stat = receipt_stat
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
        write.write_text(
            "CONTROLROOM_SMS_GATEWAY=smpp\n"
            "CONTROLROOM_SMS_HOST=127.0.0.1\n"
            f"CONTROLROOM_SMS_PORT={smsc.port}\n"
            "CONTROLROOM_SMS_ACCOUNT=cryptopack\n"
            f"CONTROLROOM_SMS_SECRET_FILE={secret.resolve()}\n",
            encoding="utf-8",
        )
        console.print(
            f"Lab SMSC on 127.0.0.1:{smsc.port}; settings in {write}. Use it with:"
        )
        console.print(f"  set -a; . {write}; set +a; controlroom messages send")
        began, shown = clock.monotonic(), 0
        try:
            while duration is None or clock.monotonic() - began < duration:
                while texts:
                    try:
                        smsc.deliver_text(*texts[0])
                    except LookupError:
                        break  # nobody bound to receive yet
                    console.print(f"handset {texts[0][0]} texted {texts[0][1]!r}")
                    texts.pop(0)
                submitted = len(smsc.submitted)
                if submitted != shown:
                    console.print(f"{submitted} message part(s) submitted so far")
                    shown = submitted
                clock.sleep(0.2)
        except KeyboardInterrupt:
            pass
    console.print(f"Lab SMSC stopped; {shown} part(s) were submitted.")


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="A backup folder or s3://bucket/prefix; defaults to "
        "CONTROLROOM_BACKUP_STORE or the backup folder in the data folder.",
    ),
]


ExpectHeadOption = Annotated[
    str | None,
    typer.Option(
        "--expect-head",
        help="SEQ:HASH the backup must reach (the head an earlier 'backup verify' "
        "printed); catches its newest segments deleted with their manifests.",
    ),
]


@backup_app.command("ship")
def backup_ship(
    store: StoreOption = None,
    every: Annotated[
        float | None,
        typer.Option(help="Seconds between rounds (default: setting).", min=0.05),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(help="Stop after this many rounds.", min=1)
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Ship new journal events to the backup store in sealed segments."""
    from controlroom.backup.shipper import ShipReport, shipper_from_settings
    from controlroom.backup.stores import open_store

    settings = _settings()
    engine = _engine(database_url)
    target = open_store(settings, store)
    shipper = shipper_from_settings(engine, settings, target)
    console.print(f"Shipping the journal to {escape(target.location)}")

    def show(report: ShipReport) -> None:
        if report.events:
            console.print(
                f"Shipped {report.events} event(s) in {report.segments} "
                f"segment(s); the store holds events up to {report.shipped_seq}"
            )
        if report.alarm:
            errors.print(
                f"[red]Backup alarm:[/red] {escape(report.alarm)} (behind by "
                f"{report.lag.events} event(s), {report.lag.seconds:.1f} s)"
            )

    try:
        shipper.run(
            every_seconds=every or settings.backup_every_seconds,
            rounds=rounds,
            on_round=show,
        )
    except KeyboardInterrupt:
        console.print("Stopped; the next run continues from the shipped position.")
    finally:
        target.close()


@backup_app.command("schedule")
def backup_schedule(
    store: StoreOption = None,
    every: Annotated[
        float,
        typer.Option(help="Seconds between checks of what is due.", min=1),
    ] = 30.0,
    rounds: Annotated[
        int | None, typer.Option(help="Stop after this many checks.", min=1)
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Take snapshots and run restore drills when they are due.

    A snapshot every CONTROLROOM_BACKUP_SNAPSHOT_EVERY_MINUTES (60), a restore
    drill every CONTROLROOM_BACKUP_DRILL_EVERY_HOURS (24); run it beside
    'controlroom backup ship'. The ransomware drill is never scheduled.
    """
    from controlroom.backup.schedule import Cadence, ScheduledRun, run_schedule
    from controlroom.backup.service import snapshot_and_ship
    from controlroom.backup.stores import open_store

    settings = _settings()
    engine = _engine(database_url)
    target = open_store(settings, store)
    cadence = Cadence.of(
        snapshot_minutes=settings.backup_snapshot_every_minutes,
        drill_hours=settings.backup_drill_every_hours,
    )

    def take() -> str:
        return snapshot_and_ship(engine, target, settings=settings).object_key

    def show(run: ScheduledRun) -> None:
        if run.ok:
            console.print(f"Scheduled {run.what}: {escape(run.detail)}")
        else:
            errors.print(
                f"[red]Scheduled {run.what} failed:[/red] {escape(run.detail)}"
            )

    console.print(
        f"Snapshots every {settings.backup_snapshot_every_minutes:g} min and restore "
        f"drills every {settings.backup_drill_every_hours:g} h, to "
        f"{escape(target.location)}"
    )
    try:
        run_schedule(
            engine,
            target,
            cadence,
            take_snapshot=take,
            every_seconds=every,
            rounds=rounds,
            on_run=show,
        )
    except KeyboardInterrupt:
        console.print("Stopped; the next run takes up what is due.")
    finally:
        target.close()


@backup_app.command("verify")
def backup_verify(
    store: StoreOption = None,
    database_url: DatabaseOption = None,
    expect_head: ExpectHeadOption = None,
) -> None:
    """Re-read every segment and name the first gap or altered object."""
    from controlroom.backup.service import shipped_head, verify_and_record
    from controlroom.backup.stores import open_store
    from controlroom.backup.verify import require_intact
    from controlroom.errors import StorageError

    anchor = _parse_head(expect_head) if expect_head is not None else None
    settings = _settings()
    target = open_store(settings, store, must_exist=True)
    try:
        engine: Engine | None = _engine(database_url)
    except StorageError as exc:
        errors.print(
            f"[yellow]No database[/yellow] ({escape(str(exc))}): verifying the "
            "store alone, which cannot notice its newest segments deleted; "
            "give --expect-head to check them."
        )
        engine = None
    unanchored = anchor is None
    if engine is not None and anchor is None:
        with Session(engine) as session:
            unanchored = shipped_head(session, location=target.location) is None
    try:
        report = require_intact(verify_and_record(engine, target, expected_head=anchor))
    finally:
        target.close()
    if unanchored and report.segments and engine is not None:
        errors.print(
            f"[yellow]Caution:[/yellow] the database has no record of shipping to "
            f"{escape(target.location)} (a copy, or a new location), so newest "
            "segments deleted with their manifests would go unnoticed; give "
            "--expect-head SEQ:HASH from the original store's verify."
        )
    seq, digest = report.head
    console.print(
        f"[green]Backup intact[/green] at {escape(report.location)}: "
        f"{report.segments} segment(s), events 1..{seq}, head {seq}:{digest}; "
        f"{report.snapshots} snapshot(s) match their manifests"
        + (
            f"; PostgreSQL: {report.base_backups} base backup(s) and "
            f"{report.wal_files} archived WAL file(s) hold"
            if report.base_backups or report.wal_files
            else ""
        )
    )


@backup_app.command("wal-push")
def backup_wal_push(
    path: Annotated[Path, typer.Argument(help="The WAL file (%p).")],
    name: Annotated[str, typer.Argument(help="Its name (%f).")],
    store: StoreOption = None,
) -> None:
    """Archive one WAL file: PostgreSQL's archive_command.

    Set archive_command = 'controlroom backup wal-push --store LOCATION %p %f'.
    The same file pushed again succeeds; other bytes under an archived name
    fail, so the server keeps the file and pg_stat_archiver shows it.
    """
    from controlroom.backup.pg_wal import push_wal
    from controlroom.backup.stores import open_store
    from controlroom.db import utcnow

    target = open_store(_settings(), store)
    try:
        push_wal(target, path, name, at=utcnow())
    finally:
        target.close()


@backup_app.command("wal-settings")
def backup_wal_settings(store: StoreOption = None) -> None:
    """Print the postgresql.conf lines that archive WAL into the store."""
    from controlroom.backup.pg_tools import archive_settings
    from controlroom.backup.stores import store_location

    settings = _settings()
    location = store_location(settings, store)
    for line in archive_settings(settings, location):
        console.print(escape(line), highlight=False)


@backup_app.command("wal-fetch")
def backup_wal_fetch(
    name: Annotated[str, typer.Argument(help="The WAL file wanted (%f).")],
    path: Annotated[Path, typer.Argument(help="Where to write it (%p).")],
    store: StoreOption = None,
) -> None:
    """Fetch one archived WAL file: PostgreSQL's restore_command.

    Exits 1 without a word when the file is not archived (how recovery
    learns it has reached the end), and 126 when the archive cannot be
    read or the file fails its checksum, which makes the server abort
    recovery instead of ending it early.
    """
    from controlroom.backup.pg_wal import FETCH_FATAL_EXIT, fetch_wal
    from controlroom.backup.stores import open_store

    try:
        target = open_store(_settings(), store, must_exist=True)
        try:
            found = fetch_wal(target, name, path)
        finally:
            target.close()
    except ControlRoomError as exc:
        errors.print(f"[red]Error:[/red] {escape(str(exc))}")
        raise typer.Exit(FETCH_FATAL_EXIT) from None
    if not found:
        raise typer.Exit(1)


@backup_app.command("snapshot")
def backup_snapshot(
    store: StoreOption = None, database_url: DatabaseOption = None
) -> None:
    """Copy the database into the store, then ship the journal through it."""
    from controlroom.backup.service import snapshot_and_ship
    from controlroom.backup.stores import open_store

    settings = _settings()
    engine = _engine(database_url)
    target = open_store(settings, store)
    from controlroom.backup.pg_base import BaseBackupManifest

    try:
        manifest = snapshot_and_ship(engine, target, settings=settings)
    finally:
        target.close()
    if isinstance(manifest, BaseBackupManifest):
        held = (
            f"base backup from WAL {manifest.start_wal} ({manifest.start_lsn}), "
            "checked by pg_verifybackup"
        )
    else:
        held = f"{manifest.row_counts.get('parcels', 0):,} parcel(s)"
    console.print(
        f"[green]Snapshot stored[/green] as {escape(manifest.object_key)} in "
        f"{escape(target.location)}: journal head {manifest.head_seq}, "
        f"{manifest.size:,} bytes, {held}; the journal is shipped through it"
    )


@backup_app.command("restore")
def backup_restore(
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="The database to create: a SQLite URL of a new file."
        ),
    ] = None,
    to_pgdata: Annotated[
        Path | None,
        typer.Option(
            "--to-pgdata",
            help="PostgreSQL: a new (or empty) data folder to restore the newest "
            "base backup and the archived WAL into.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL: recover up to this time (ISO 8601 with a zone), "
            "not to the end of the archive."
        ),
    ] = None,
    start_port: Annotated[
        int | None,
        typer.Option(
            help="PostgreSQL: start the restored server on this port on "
            "127.0.0.1, wait for recovery to end, check its journal head "
            "against the shipped journal, and stop it.",
            min=1,
            max=65535,
        ),
    ] = None,
    wallet_key: Annotated[
        list[str] | None,
        typer.Option(
            "--wallet-key",
            help="NAME=KEY: the account public key (or address) of a fallback "
            "wallet added after the snapshot, which the journal keeps out; "
            "repeat for each such wallet.",
        ),
    ] = None,
    store: StoreOption = None,
    expect_head: ExpectHeadOption = None,
) -> None:
    """Rebuild a database from the newest good snapshot plus the journal."""
    from controlroom.backup.restore import restore_database
    from controlroom.backup.stores import open_store
    from controlroom.errors import RestoreRefused

    if (to is None) == (to_pgdata is None):
        raise RestoreRefused(
            "Name one target: --to sqlite:///new-file.sqlite3, or --to-pgdata "
            "DIR for a PostgreSQL data folder."
        )
    if to is not None and (until or start_port):
        raise RestoreRefused("--until and --start-port go with --to-pgdata only.")
    if wallet_key and to is None:
        raise RestoreRefused("--wallet-key goes with --to only.")
    if expect_head and to is None:
        raise RestoreRefused("--expect-head goes with --to only.")
    if to is not None:
        from controlroom.backup.restore import target_path

        folder = target_path(to).parent
        if not folder.is_dir():
            raise RestoreRefused(
                f"There is no folder {folder} to restore into; check the path, or "
                "create the folder first (a typo should not make a new one)."
            )
    anchor = _parse_head(expect_head) if expect_head is not None else None
    wallet_keys = _wallet_keys(wallet_key or [])
    settings = _settings()
    target = open_store(settings, store, must_exist=True)
    try:
        if to_pgdata is not None:
            from controlroom.backup.pg_restore import restore_pgdata

            pg_report = restore_pgdata(
                target,
                to_pgdata,
                settings=settings,
                until=_aware_time(until) if until else None,
                start_port=start_port,
            )
        else:
            report = restore_database(
                target, to or "", wallet_keys=wallet_keys, expected_head=anchor
            )
    finally:
        target.close()
    if to_pgdata is not None:
        _print_pg_restore(pg_report)
    else:
        _print_restore(report)


def _wallet_keys(values: Sequence[str]) -> dict[str, str]:
    from controlroom.errors import RestoreRefused
    from controlroom.payments.wallet_watch.service import refuse_wallet_secret

    keys: dict[str, str] = {}
    for value in values:
        # Before anything repeats a word of it: a private key is refused
        # by kind, never echoed.
        refuse_wallet_secret(value)
        # Keys, descriptors and addresses hold no '=', names may.
        name, _, key = value.rpartition("=")
        name, key = name.strip(), key.strip()
        if not name or not key:
            raise RestoreRefused(
                "--wallet-key takes NAME=KEY: the fallback wallet's name as the "
                "journal has it, '=', and its account public key."
            )
        if name in keys:
            raise RestoreRefused(f"--wallet-key names the wallet {name!r} twice.")
        keys[name] = key
    return keys


def _aware_time(value: str) -> datetime:
    from controlroom.errors import RestoreRefused

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RestoreRefused(
            f"--until {value!r} is not a time with a zone; write it as "
            "2026-12-05T10:30:00+00:00."
        )
    return moment


def _print_pg_restore(report: PgRestoreReport) -> None:
    base = report.base
    for passed in report.passed_over:
        errors.print(f"[yellow]Passed over[/yellow] {escape(passed)}")
    console.print(
        f"Restored {escape(report.target)} from {escape(base.object_key)} "
        f"(WAL from {base.start_wal}, journal head {base.head_seq} or later) and "
        f"{report.wal_files:,} archived WAL file(s), in {report.seconds:.2f} s"
    )
    shipped = report.head_shipped
    if report.head_restored is None:
        console.print(
            f"Not started: start it with pg_ctl -D {escape(report.target)} start; "
            f"it recovers from the WAL staged in {escape(report.wal_staged_in)} "
            "(remove that folder once it has promoted). The last shipped "
            f"journal segment ends at {shipped[0]}:{shipped[1]}."
        )
        console.print(f"[yellow]{escape(report.archiving_note)}[/yellow]")
        return
    restored = report.head_restored
    console.print(
        f"Recovered and promoted: {report.parcels or 0:,} parcel(s); journal "
        f"head restored {restored[0]}:{restored[1]}; last shipped segment "
        f"{shipped[0]}:{shipped[1]} "
        + (
            "[green](same)[/green]"
            if restored == shipped
            else f"[green](on its chain, {report.ahead} event(s) newer)[/green]"
        )
    )
    console.print(f"[yellow]{escape(report.archiving_note)}[/yellow]")


def _print_restore(report: RestoreReport) -> None:
    snapshot = report.snapshot
    for passed in report.passed_over:
        errors.print(f"[yellow]Passed over[/yellow] {escape(passed)}")
    console.print(
        f"Restored {escape(report.target)} from {escape(snapshot.object_key)} "
        f"(journal head {snapshot.head_seq}) and {report.appended:,} journal "
        f"event(s) after it, in {report.seconds:.2f} s"
    )
    table = Table("table", "in snapshot", "added", "expected", "found", "ok")
    shown = [c for c in report.counts if c.expected or c.found or not c.ok]
    for count in shown:
        table.add_row(
            count.table,
            f"{count.in_snapshot:,}",
            f"{count.added:,}",
            f"{count.expected:,}",
            f"{count.found:,}",
            "yes" if count.ok else "[red]NO[/red]",
        )
    console.print(table)
    if len(shown) < len(report.counts):
        console.print(f"{len(report.counts) - len(shown)} empty table(s) match too")
    applied = ", ".join(f"{k} {n}" for k, n in sorted(report.replay.applied.items()))
    console.print(f"Re-applied to their tables: {applied or 'none'}")
    if report.journal_only:
        kept = ", ".join(f"{k} {n}" for k, n in report.journal_only.items())
        console.print(
            f"[yellow]In the journal, not re-applied to its tables:[/yellow] {kept}"
        )
    restored, shipped = report.head_restored, report.head_shipped
    console.print(
        f"Journal head restored {restored[0]}:{restored[1]}; last shipped "
        f"segment {shipped[0]}:{shipped[1]} "
        + ("[green](same)[/green]" if restored == shipped else "[red](differ)[/red]")
    )


drill_app = typer.Typer(
    help="Restore drills, recorded and shown on the Backups screen.",
    no_args_is_help=True,
)
backup_app.add_typer(drill_app, name="drill")


def _print_drill(result: DrillResult) -> None:
    if result.report is not None:
        _print_restore(result.report)
    if result.quarantine:
        console.print(f"Encrypted files kept in {escape(result.quarantine)}")
    if result.copy_before:
        console.print(
            f"The primary as it was before the drill: {escape(result.copy_before)} "
            "(owner-only; delete it once the drill is reviewed)"
        )
    if result.unshipped_events:
        errors.print(
            f"[yellow]{result.unshipped_events} event(s) on the primary were not "
            "yet shipped when the drill began[/yellow]: a real attack takes them "
            "with the primary (is 'controlroom backup ship' running?)"
        )
    words = (
        f"Drill {result.drill_id} ({result.kind}) {result.outcome} in "
        f"{result.seconds:.2f} s; lost events: {result.lost_events}"
    )
    if not result.ok:
        errors.print(f"[red]{escape(words)}[/red]: {escape(result.problem)}")
        raise typer.Exit(1)
    console.print(f"[green]{escape(words)}[/green]")


@drill_app.command("restore")
def backup_drill_restore(
    store: StoreOption = None, database_url: DatabaseOption = None
) -> None:
    """Restore into a temporary file and record the drill in the database."""
    from controlroom.backup.drills import run_restore_drill
    from controlroom.backup.stores import open_store

    engine = _engine(database_url)
    target = open_store(_settings(), store, must_exist=True)
    try:
        result = run_restore_drill(engine, target, actor="cli")
    finally:
        target.close()
    _print_drill(result)


@drill_app.command("ransomware")
def backup_drill_ransomware(
    i_mean_it: Annotated[
        bool,
        typer.Option(
            "--i-mean-it",
            help="Confirm: the database file and its local copies are "
            "overwritten with junk, then restored from the write-once store.",
        ),
    ] = False,
    store: StoreOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Play ransomware on the SQLite demo database, restore it, record it.

    Stop the control room and the simulator first: they would be writing
    to a file that is being overwritten.
    """
    from controlroom.backup.drills import run_ransomware_drill
    from controlroom.backup.stores import open_store

    settings = _settings()
    target = open_store(settings, store, must_exist=True)
    try:
        result = run_ransomware_drill(
            settings,
            target,
            database_url=database_url or settings.resolved_database_url,
            actor="cli",
            i_mean_it=i_mean_it,
        )
    finally:
        target.close()
    _print_drill(result)


fallback_app = typer.Typer(
    help="Fallback order channels: the spool, merge back, the order page.",
    no_args_is_help=True,
)
order_page_app = typer.Typer(
    help="The static order page for when the web shop is down.", no_args_is_help=True
)
fallback_app.add_typer(order_page_app, name="order-page")
app.add_typer(fallback_app, name="fallback")

SpoolOption = Annotated[
    Path | None,
    typer.Option(
        "--spool",
        help="The spool folder (default: CONTROLROOM_FALLBACK_SPOOL_DIR or "
        "fallback-spool in the data folder).",
    ),
]


@fallback_app.command("verify")
def fallback_verify(
    spool: SpoolOption = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            help="SEQ:HASH of a record seen before (an earlier verify, the last "
            "merge); catches records cut off together with the head file."
        ),
    ] = None,
) -> None:
    """Re-hash the spool and name the first edited, deleted, moved or cut record."""
    from collections import Counter

    from controlroom.fallback_orders.actions import spool_folder
    from controlroom.fallback_orders.spool import read_spool, spool_broken

    anchor = _parse_head(expect_head) if expect_head is not None else None
    reading = read_spool(spool or spool_folder(_settings()), checkpoint=anchor)
    if reading.problem is not None:
        raise spool_broken(reading.folder, reading.problem)
    channels = Counter(record.channel for record in reading.records)
    seq, digest = reading.records[-1].seq_hash if reading.records else (0, "-")
    console.print(
        f"[green]Spool intact[/green] at {escape(str(reading.folder))}: "
        f"{len(reading.records)} order(s) "
        f"({', '.join(f'{n} {c}' for c, n in sorted(channels.items())) or 'none'}), "
        f"head {seq}:{digest}"
    )
    if reading.unfinished_tail:
        console.print(
            "[yellow]Note:[/yellow] the last record was cut off mid-write before "
            "it was acknowledged (a crash); the next order replaces it."
        )


@fallback_app.command("merge")
def fallback_merge(
    spool: SpoolOption = None, database_url: DatabaseOption = None
) -> None:
    """Merge spooled orders into the primary, once each, in spool order."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from controlroom.fallback_orders.actions import spool_folder
    from controlroom.fallback_orders.merge import RecordFate, merge_spool
    from controlroom.fallback_orders.spool import spool_broken

    folder = spool or spool_folder(_settings())
    engine = _engine(database_url)
    columns = (TextColumn("Merging"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("merge", total=None)
        report = merge_spool(
            engine,
            folder,
            actor="cli",
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )

    table = Table(title=f"Merge run {report.run_id} of spool {report.spool_id[:12]}")
    table.add_column("Channel")
    table.add_column("Merged now", justify="right")
    table.add_column("Already present", justify="right")
    for channel, fates in report.by_channel.items():
        table.add_row(
            channel,
            str(fates[RecordFate.MERGED]),
            str(fates[RecordFate.ALREADY_PRESENT]),
        )
    table.add_row("all", str(report.merged), str(report.already_present), style="bold")
    console.print(table)
    for clash in report.clashes:
        console.print(
            f"[red]Address already issued:[/red] order {clash.code} is paid to "
            f"{clash.address}, which parcel {clash.other_parcel} was given first."
        )
    if report.problem is not None:
        raise spool_broken(folder, report.problem)
    console.print(
        f"[green]Merged[/green] spool records 1..{report.through_seq}: "
        f"{report.merged} new order(s), {report.already_present} already present."
    )
    if report.clashes:
        console.print(
            f"[red]{len(report.clashes)} order(s) share an address with another "
            "parcel[/red]: the spool's wallet key is the primary's fallback "
            "account. Match those payments by hand, and give the spool an "
            "account of its own (e.g. m/84'/0'/2', or m/84'/1'/2' on test "
            "networks) before it takes more orders."
        )
        raise typer.Exit(1)


@fallback_app.command("read-texts")
def fallback_read_texts(
    spool: SpoolOption = None,
    every: Annotated[
        float, typer.Option(help="Seconds to wait for texts each round.", min=0.5)
    ] = 5.0,
    rounds: Annotated[
        int | None, typer.Option(help="Stop after this many rounds.", min=1)
    ] = None,
) -> None:
    """Answer customers' order texts off the SMPP gateway; no database needed."""
    from controlroom.broadcasts.gateways import open_gateway
    from controlroom.fallback_orders.actions import (
        check_spool_account,
        configured_wallet,
        read_order_texts_for,
        spool_folder,
    )
    from controlroom.fallback_orders.spool import Spool

    settings = _settings()
    wallet = configured_wallet(settings)
    if not check_spool_account(settings, wallet):
        console.print(
            "[yellow]Note:[/yellow] the primary database cannot be read, so "
            "the spool's wallet key was not checked against its fallback "
            "wallets; it must be an account of its own."
        )
    opened = Spool(spool or spool_folder(settings))
    with open_gateway(settings) as gateway:
        lines = read_order_texts_for(
            opened, gateway, wallet=wallet, every=every, rounds=rounds
        )
        for line in lines:
            console.print(escape(line))


@order_page_app.command("build")
def fallback_order_page_build(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The folder to write the page to (default: order-page in the "
            "data folder).",
        ),
    ] = None,
) -> None:
    """Write the static order page to a folder, replacing it in one step."""
    from controlroom.db import utcnow
    from controlroom.fallback_orders.order_page import build_order_page
    from controlroom.status_site.records import local_minute

    settings = _settings()
    build = build_order_page(
        out or settings.data_dir / "order-page",
        sms_number=settings.fallback_sms_number,
        zone=settings.timezone,
        at=utcnow(),
    )
    console.print(
        f"[green]Order page written[/green] to {escape(str(build.folder))}: "
        f"{build.files} files; generated "
        f"{local_minute(build.generated_at, settings.timezone)}"
    )


@cluster_app.command("board")
def cluster_board_show(
    urls: Annotated[
        list[str],
        typer.Argument(
            help="One URL per member; keep passwords in ~/.pgpass or "
            "PGPASSWORD, not on the command line."
        ),
    ],
) -> None:
    """Print each member's role and replication state (unreachable ones too)."""
    from controlroom.availability.board import cluster_board

    table = Table("member", "role", "server", "replication")
    for row in cluster_board(urls):
        links = ", ".join(
            f"{link.application_name} {link.state}/{link.sync_state}"
            for link in row.standbys
        )
        table.add_row(
            escape(row.url),
            row.role,
            row.server or "",
            escape(links or row.detail),
        )
    console.print(table)


@cluster_app.command("fence")
def cluster_fence(
    data_dir: Annotated[
        Path, typer.Argument(help="The stopped old primary's data folder.")
    ],
    new_primary: Annotated[
        str,
        typer.Option(
            "--new-primary",
            help="libpq conninfo of the new primary, e.g. 'host=10.0.0.2 "
            "port=5432 user=replicator'.",
        ),
    ],
) -> None:
    """Make an old primary start only as a standby (run before promoting)."""
    from controlroom.availability.fencing import fence_data_directory

    signal = fence_data_directory(data_dir, new_primary_conninfo=new_primary)
    console.print(
        f"[green]Fenced[/green]: {escape(str(signal))} written; the server "
        "starts read-only, following the new primary."
    )
