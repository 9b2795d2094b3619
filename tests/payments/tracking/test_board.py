"""What the Payments screen reads and draws, from a tracked lab chain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controlroom.payments.models import InvoiceException, InvoiceStatus
from controlroom.payments.tracking.board import payments_board
from controlroom.payments.tracking.figures import (
    invoice_state_figure,
    node_health_figure,
    node_status_figure,
)
from controlroom.payments.tracking.service import track_once
from tests.conftest import DAY
from tests.payments.tracking.conftest import Lab, open_invoices


def track_a_stuck_node(engine: Engine, lab: Lab) -> None:
    """Two rounds: all in step, then node-eu stuck while the others move on."""
    with Session(engine) as session, session.begin():
        invoices = open_invoices(session, 3, amount_sat=30_000)
        track_once(session, nodes=lab.nodes, now=DAY, actor="tracker", start_height=1)
        paid = invoices[0].address or ""
        short = invoices[1].address or ""
    lab.node("node-eu").stuck_at = 5
    lab.node("node-us").response_ms = 3_000
    lab.chain.pay([(paid, 30_000)])
    lab.chain.pay([(short, 10_000)])
    lab.chain.mine(4)
    with Session(engine) as session, session.begin():
        track_once(
            session,
            nodes=lab.nodes,
            now=DAY + timedelta(minutes=10),
            actor="tracker",
        )


def test_the_board_shows_lag_per_check_and_where_tracking_went(
    engine: Engine, lab: Lab
) -> None:
    track_a_stuck_node(engine, lab)

    board = payments_board(engine)

    assert [(c.node_key, c.lag, c.trusted) for c in board.checks] == [
        ("node-eu", 0, True),
        ("node-us", 0, True),
        ("node-ap", 0, True),
        ("node-eu", 4, False),
        ("node-us", 0, True),
        ("node-ap", 0, True),
    ]
    assert [c.region for c in board.latest] == ["eu-north", "us-east", "ap-southeast"]
    assert board.tracker is not None
    assert (board.tracker.node_key, board.tracker.height) == ("node-ap", 9)
    assert [(f.from_node, f.to_node) for f in board.failovers] == [
        ("node-eu", "node-ap")
    ]


def test_invoices_are_counted_with_their_sat_per_state(
    engine: Engine, lab: Lab
) -> None:
    track_a_stuck_node(engine, lab)

    board = payments_board(engine)

    states = [(s.status, s.exception, s.count, s.amount_sat) for s in board.invoices]
    assert states == [
        (InvoiceStatus.NEW, None, 1, 30_000),
        (InvoiceStatus.NEW, InvoiceException.PAID_PARTIAL, 1, 30_000),
        (InvoiceStatus.SETTLED, None, 1, 30_000),
    ]
    assert [s.label for s in board.invoices] == [
        "New",
        "New (paid partial)",
        "Settled",
    ]


def test_the_health_chart_colours_regions_and_marks_untrusted_checks(
    engine: Engine, lab: Lab
) -> None:
    track_a_stuck_node(engine, lab)
    board = payments_board(engine)

    figure = node_health_figure(board.checks, measure="lag", zone="Europe/Oslo")
    response = node_health_figure(board.checks, measure="response", zone="Europe/Oslo")
    bars = invoice_state_figure(board.invoices)

    names = [trace.name for trace in figure.data]
    assert names == [
        "node-eu (eu-north)",
        "node-us (us-east)",
        "node-ap (ap-southeast)",
    ]
    assert len({trace.line.color for trace in figure.data}) == 3
    assert list(figure.data[0].marker.symbol) == ["circle", "x"]
    assert list(figure.data[0].y) == [0, 4]
    assert list(response.data[1].y) == [30, 3_000]
    assert list(bars.data[0].y) == [1, 1, 1]


def test_the_status_strip_shows_a_lagging_node_orange_and_a_dead_one_red(
    engine: Engine, lab: Lab
) -> None:
    track_a_stuck_node(engine, lab)  # node-eu stuck: answering, not trusted
    lab.node("node-us").down = True
    with Session(engine) as session, session.begin():
        track_once(session, nodes=lab.nodes, now=DAY + timedelta(hours=3), actor="t")
    board = payments_board(engine)

    strip = node_status_figure(board.checks, zone="Europe/Oslo")

    marks = {
        trace.name: sorted(str(label).split()[0] for label in trace.y)
        for trace in strip.data
    }
    assert "node-us" in marks["Down"]
    assert "node-eu" in marks["Answering, not trusted"]
    assert "node-ap" in marks["Trusted"]
    assert [trace.marker.color for trace in strip.data] == [
        "#2e7d32",
        "#ef6c00",
        "#c62828",
    ]
