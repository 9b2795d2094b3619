"""The overview's figures load nothing from the network and keep true shapes."""

from __future__ import annotations

import math

from sqlalchemy import Engine

from controlroom.overview.figures import STATE_COLOURS, city_map, flow_chart, health_map
from controlroom.overview.queries import ParcelFilter
from controlroom.overview.snapshot import overview_snapshot
from tests.overview.small_day import SmallDay


def test_the_city_map_is_plain_axes_with_true_distances(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone="Europe/Oslo", filters=ParcelFilter())

    figure = city_map(snapshot.points, "Europe/Oslo")

    assert {trace.type for trace in figure.data} == {"scatter"}
    assert "http" not in figure.to_json()
    assert figure.layout.yaxis.scaleanchor == "x"
    assert math.isclose(
        figure.layout.yaxis.scaleratio, 1 / math.cos(math.radians(59.92)), rel_tol=0.01
    )


def test_the_health_map_colours_each_component_by_its_state(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone="Europe/Oslo", filters=ParcelFilter())

    figure = health_map(snapshot.components)

    treemap = figure.data[0]
    leaves = [i for i, key in enumerate(treemap.ids) if key.startswith("c:")]
    assert len(leaves) == len(snapshot.components)
    assert {treemap.marker.colors[i] for i in leaves} == {
        STATE_COLOURS[c.state] for c in snapshot.components
    }


def test_the_flow_chart_has_one_line_per_step(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone="Europe/Oslo", filters=ParcelFilter())

    figure = flow_chart(snapshot.flow, "Europe/Oslo", snapshot.day.now)

    assert [trace.name for trace in figure.data] == [
        "ordered",
        "paid",
        "picked up",
        "delivered",
    ]
    assert list(figure.data[-1].y)[-1] == snapshot.kpis.delivered
