"""The overview's figures and tiles load nothing from the network and read plainly."""

from __future__ import annotations

import dataclasses
import math

from sqlalchemy import Engine

from controlroom.health.models import ComponentState
from controlroom.overview.figures import city_map, flow_chart
from controlroom.overview.queries import ParcelFilter
from controlroom.overview.snapshot import overview_snapshot
from controlroom.overview.system_tiles import (
    FUNCTION_ORDER,
    TILE_COLOURS,
    grouped,
    system_tiles_html,
)
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


def test_each_system_tile_names_the_component_in_full_with_its_state_in_words(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone="Europe/Oslo", filters=ParcelFilter())

    shown = system_tiles_html(snapshot.components)

    for component in snapshot.components:
        assert f">{component.name}</div>" in shown
    assert shown.count("✔ Operational</div>") == len(snapshot.components)
    assert "http" not in shown and "<script" not in shown


def test_system_tiles_group_by_function_in_promise_order(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone="Europe/Oslo", filters=ParcelFilter())

    groups = grouped(snapshot.components)

    assert list(groups) == list(FUNCTION_ORDER)
    assert [c.name for c in groups["Ordering"]] == [
        "Web shop",
        "Order DB primary",
        "Order DB standby",
    ]


def test_a_component_that_is_down_is_said_in_words_and_colour(
    small_day: SmallDay, engine: Engine
) -> None:
    snapshot = overview_snapshot(engine, zone="Europe/Oslo", filters=ParcelFilter())
    down = dataclasses.replace(
        snapshot.components[0], state=ComponentState.MAJOR_OUTAGE
    )

    shown = system_tiles_html([down, *snapshot.components[1:]])

    background, _ = TILE_COLOURS[ComponentState.MAJOR_OUTAGE]
    assert f"background:{background}" in shown
    assert "✖ Major outage</div>" in shown
    assert "1 not operational" in shown
    # The legend names every state, so colour is never the only signal.
    assert all(state.label in shown for state in ComponentState)


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
