"""Plotly figures of the Payments screen, built from the board with no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from controlroom.payments.tracking.board import InvoiceStateRow, NodeCheckRow

# One colour per region, in the order regions first appear; the same node
# keeps its colour from one refresh to the next as long as the list holds.
REGION_COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457")
MEASURES = {
    "lag": ("Blocks behind the best trusted tip", "Height lag (blocks)"),
    "response": ("How long the node took to answer", "Response time (ms)"),
}


def node_health_figure(
    checks: Sequence[NodeCheckRow], *, measure: str, zone: str
) -> go.Figure:
    """One line per node over time, coloured by region; untrusted checks are crosses.

    ``measure`` is ``"lag"`` (blocks behind the best trusted tip) or
    ``"response"`` (milliseconds).
    """
    title, axis = MEASURES[measure]
    tz = ZoneInfo(zone)
    regions = list(dict.fromkeys(c.region for c in checks))
    colours = {
        region: REGION_COLOURS[i % len(REGION_COLOURS)]
        for i, region in enumerate(regions)
    }
    figure = go.Figure()
    for key in dict.fromkeys(c.node_key for c in checks):
        rows = [c for c in checks if c.node_key == key]
        values = [c.lag if measure == "lag" else c.response_ms for c in rows]
        figure.add_trace(
            go.Scatter(
                x=[c.at.astimezone(tz) for c in rows],
                y=values,
                mode="lines+markers",
                name=f"{key} ({rows[0].region})",
                line={"color": colours[rows[0].region]},
                marker={
                    "symbol": ["circle" if c.trusted else "x" for c in rows],
                    "size": [7 if c.trusted else 12 for c in rows],
                },
                text=[
                    ("trusted: " if c.trusted else "not trusted: ") + c.reason
                    for c in rows
                ],
                hovertemplate="%{x|%H:%M:%S} %{y}<br>%{text}<extra>" + key + "</extra>",
            )
        )
    figure.update_layout(
        title=title,
        height=360,
        margin={"l": 8, "r": 8, "t": 40, "b": 8},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
        yaxis_title=axis,
    )
    return figure


# The node's standing at one check, in the words and colours of a status page.
STANDING = {
    "trusted": ("Trusted", "#2e7d32"),
    "untrusted": ("Answering, not trusted", "#ef6c00"),
    "down": ("Down", "#c62828"),
}


def standing(check: NodeCheckRow) -> str:
    """``trusted``, ``untrusted`` (answered, but lags or disagrees) or ``down``."""
    if check.trusted:
        return "trusted"
    return "down" if check.height is None else "untrusted"


def node_status_figure(checks: Sequence[NodeCheckRow], *, zone: str) -> go.Figure:
    """A strip per node over time: green trusted, orange not trusted, red down.

    One mark per check, so an outage reads as a red stretch on its node's
    line; hovering names the reason the check gave.
    """
    tz = ZoneInfo(zone)
    labels = {
        key: f"{key} ({region})"
        for key, region in dict.fromkeys((c.node_key, c.region) for c in checks)
    }
    figure = go.Figure()
    for kind, (words, colour) in STANDING.items():
        rows = [c for c in checks if standing(c) == kind]
        figure.add_trace(
            go.Scatter(
                x=[c.at.astimezone(tz) for c in rows],
                y=[labels[c.node_key] for c in rows],
                mode="markers",
                name=words,
                marker={"symbol": "square", "size": 11, "color": colour},
                text=[c.reason for c in rows],
                hovertemplate="%{y} %{x|%H:%M}<br>%{text}<extra>" + words + "</extra>",
            )
        )
    figure.update_layout(
        height=90 + 40 * max(1, len(labels)),
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
        yaxis={"categoryorder": "array", "categoryarray": list(labels)[::-1]},
    )
    return figure


def invoice_state_figure(states: Sequence[InvoiceStateRow]) -> go.Figure:
    """A bar per invoice state: how many invoices, with their sat on hover."""
    figure = go.Figure(
        go.Bar(
            x=[s.label for s in states],
            y=[s.count for s in states],
            text=[f"{s.amount_sat:,} sat" for s in states],
            hovertemplate="%{x}: %{y} invoices, %{text}<extra></extra>",
            marker={"color": "#546e7a"},
        )
    )
    figure.update_layout(
        title="Invoices by state",
        height=320,
        margin={"l": 8, "r": 8, "t": 48, "b": 8},
        yaxis_title="Invoices",
        xaxis={"automargin": True, "tickangle": -30},
    )
    return figure
