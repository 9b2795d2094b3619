"""The routes of a plan on a plain map: one colour per van, no map tiles.

Like the overview's city map it loads nothing from the network: longitude and
latitude on plain axes, scaled so a kilometre is as long either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from controlroom.dispatch.board import BoardPlan, BoardStop
from controlroom.dispatch.models import StopKind, VehicleStatus

# Colour-blind-safe, distinct in print: Okabe-Ito followed by darker tones.
ROUTE_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#F0E442",
    "#6a3d9a",
    "#8c564b",
    "#1b9e77",
    "#7570b3",
)
STOP_SYMBOLS = {
    StopKind.PICKUP: "circle",
    StopKind.DELIVERY: "diamond",
    StopKind.TRANSFER: "x",
}


def route_map(
    plan: BoardPlan,
    depots: Sequence[tuple[int, str, float, float]],
    zone: str,
    lost: Sequence[tuple[str, float, float]] = (),
) -> go.Figure:
    """Draw each van's open stops in order from where the van is now.

    ``lost`` are vans declared lost (plate, lat, lon): a red cross where they
    stopped, where their parcels are collected.
    """
    tz = ZoneInfo(zone)
    figure = go.Figure()
    lats: list[float] = []
    for index, route in enumerate(plan.routes):
        colour = ROUTE_COLOURS[index % len(ROUTE_COLOURS)]
        is_lost = route.status is VehicleStatus.LOST
        name = f"{route.callsign} {route.plate}" + (" (LOST)" if is_lost else "")
        xs = [route.lon, *(s.lon for s in route.stops)]
        ys = [route.lat, *(s.lat for s in route.stops)]
        lats.extend(ys)
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": 2},
                name=f"{name}: {len(route.stops)} stops",
                legendgroup=route.plate,
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=[route.lon],
                y=[route.lat],
                mode="markers",
                marker={
                    "symbol": "x" if is_lost else "triangle-up",
                    "size": 16,
                    "color": "#b71c1c" if is_lost else colour,
                    "line": {"color": "#ffffff", "width": 1},
                },
                legendgroup=route.plate,
                showlegend=False,
                text=[f"{name}<br>last seen here"],
                hoverinfo="text",
            )
        )
        if route.stops:
            figure.add_trace(
                go.Scatter(
                    x=[s.lon for s in route.stops],
                    y=[s.lat for s in route.stops],
                    mode="markers+text",
                    marker={
                        "symbol": [STOP_SYMBOLS[s.kind] for s in route.stops],
                        "size": 10,
                        "color": colour,
                        "line": {
                            "color": [
                                "#b71c1c" if s.late else "#ffffff" for s in route.stops
                            ],
                            "width": [3 if s.late else 1 for s in route.stops],
                        },
                    },
                    text=[str(n) for n in range(1, len(route.stops) + 1)],
                    textposition="top center",
                    textfont={"size": 9, "color": colour},
                    hovertext=[
                        _stop_text(name, n, s, tz) for n, s in enumerate(route.stops, 1)
                    ],
                    hoverinfo="text",
                    legendgroup=route.plate,
                    showlegend=False,
                )
            )
    if lost:
        figure.add_trace(
            go.Scatter(
                x=[v[2] for v in lost],
                y=[v[1] for v in lost],
                mode="markers+text",
                marker={"symbol": "x", "size": 18, "color": "#b71c1c"},
                text=[f"{v[0]} LOST" for v in lost],
                textposition="top center",
                textfont={"color": "#b71c1c", "size": 12},
                name="lost vans",
                hoverinfo="text",
            )
        )
        lats.extend(v[1] for v in lost)
    if depots:
        figure.add_trace(
            go.Scatter(
                x=[d[3] for d in depots],
                y=[d[2] for d in depots],
                mode="markers+text",
                marker={"symbol": "square", "size": 16, "color": "#37474f"},
                text=[d[1] for d in depots],
                textposition="bottom center",
                name="depots",
                hoverinfo="text",
            )
        )
        lats.extend(d[2] for d in depots)
    mean_lat = sum(lats) / len(lats) if lats else 0.0
    ratio = 1 / max(math.cos(math.radians(mean_lat)), 0.1)
    figure.update_yaxes(scaleanchor="x", scaleratio=ratio, title="latitude")
    figure.update_xaxes(title="longitude")
    figure.update_layout(
        height=560,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        plot_bgcolor="#f5f5f5",
        legend={"font": {"size": 11}},
    )
    return figure


def _stop_text(van: str, number: int, stop: BoardStop, tz: ZoneInfo) -> str:
    text = (
        f"{van} stop {number}: {stop.kind.value} {stop.code}<br>"
        f"ETA {stop.eta.astimezone(tz):%H:%M}"
    )
    if stop.due is not None:
        text += f", window until {stop.due.astimezone(tz):%H:%M}"
    return text + ("<br><b>LATE</b>" if stop.late else "")
