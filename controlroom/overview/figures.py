"""Plotly figures of the overview: city map and parcel flow.

Built from the read model's dataclasses with no I/O, so pages only place them
and tests can inspect them. Nothing here loads map tiles or fonts from the
network: the control room must work with no way out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from controlroom.health.models import ComponentState
from controlroom.overview.city_map import MapPoint
from controlroom.overview.queries import FLOW_STEPS, ParcelFlow
from controlroom.overview.system_tiles import TILE_COLOURS

# The system tiles' colours, for the same states elsewhere.
STATE_COLOURS: dict[ComponentState, str] = {
    state: background for state, (background, _) in TILE_COLOURS.items()
}
# Streamlit's Markdown colours, for the same states in text.
STATE_TEXT_COLOURS: dict[ComponentState, str] = {
    ComponentState.OPERATIONAL: "green",
    ComponentState.DEGRADED_PERFORMANCE: "orange",
    ComponentState.PARTIAL_OUTAGE: "orange",
    ComponentState.MAJOR_OUTAGE: "red",
    ComponentState.UNDER_MAINTENANCE: "blue",
}
FLOW_COLOURS = {
    "ordered": "#546e7a",
    "paid": "#f9a825",
    "picked up": "#1565c0",
    "delivered": "#2e7d32",
}
LAYER_STYLES = {
    "depot": ("square", 16, "#37474f"),
    "van": ("triangle-up", 15, "#6a1b9a"),
    "open pickup": ("circle", 8, "#1565c0"),
    "open delivery": ("diamond", 8, "#2e7d32"),
}


def _layout(figure: go.Figure, height: int) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 36, "b": 8},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
    )
    return figure


def city_map(points: Sequence[MapPoint], zone: str) -> go.Figure:
    """Depots, vans and open stops on plain axes, with no map tiles."""
    figure = go.Figure()
    tz = ZoneInfo(zone)
    for layer, (symbol, size, colour) in LAYER_STYLES.items():
        chosen = [p for p in points if p.layer == layer]
        if not chosen:
            continue
        figure.add_trace(
            go.Scatter(
                x=[p.lon for p in chosen],
                y=[p.lat for p in chosen],
                mode="markers",
                name=f"{layer} ({len(chosen)})",
                marker={"symbol": symbol, "size": size, "color": colour},
                text=[_point_text(p, tz) for p in chosen],
                hoverinfo="text",
            )
        )
    # Keep distances true: a degree of longitude shrinks with cos(latitude).
    mean_lat = sum(p.lat for p in points) / len(points) if points else 0.0
    ratio = 1 / max(math.cos(math.radians(mean_lat)), 0.1)
    figure.update_yaxes(scaleanchor="x", scaleratio=ratio, title="latitude")
    figure.update_xaxes(title="longitude")
    figure.update_layout(plot_bgcolor="#f5f5f5")
    return _layout(figure, 460)


def _point_text(point: MapPoint, tz: ZoneInfo) -> str:
    text = f"{point.layer}: {point.label} ({point.status})"
    if point.eta is not None:
        text += f"<br>ETA {point.eta.astimezone(tz):%H:%M}"
    return text


def flow_chart(flow: ParcelFlow, zone: str, now: datetime) -> go.Figure:
    """Cumulative ordered, paid, picked-up and delivered parcels over the day."""
    tz = ZoneInfo(zone)
    times = [start.astimezone(tz).replace(tzinfo=None) for start in flow.bucket_starts]
    # Start the axis four buckets before the first order, not at midnight.
    ordered = flow.cumulative.get("ordered", [])
    first = max(next((i for i, count in enumerate(ordered) if count), 0) - 4, 0)
    times = times[first:]
    series = {step: values[first:] for step, values in flow.cumulative.items()}
    figure = go.Figure()
    for step in FLOW_STEPS:
        figure.add_trace(
            go.Scatter(
                x=times,
                y=series.get(step, []),
                mode="lines",
                name=step,
                line={"color": FLOW_COLOURS[step], "width": 3, "shape": "hv"},
            )
        )
    figure.add_vline(
        x=now.astimezone(tz).replace(tzinfo=None),
        line={"color": "#b71c1c", "dash": "dot"},
    )
    figure.update_yaxes(title="parcels (cumulative)", rangemode="tozero")
    figure.update_xaxes(title=f"local time ({zone})", tickformat="%H:%M")
    return _layout(figure, 320)
