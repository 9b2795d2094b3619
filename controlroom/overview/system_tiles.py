"""The systems at a glance: one coloured tile per component, grouped by function.

Each tile says the component's full name, its state in words with a symbol
(colour is never the only signal) and where it runs. Tiles wrap in a CSS
grid, so names are never cut: the grid gets fewer columns on a narrow
screen instead. Plain HTML with no scripts, fonts or images from anywhere.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from controlroom.health.models import ComponentState
from controlroom.overview.systems import ComponentRow

# The order a person scans the promise in: pay, order, dispatch, know.
FUNCTION_ORDER = ("Payments", "Ordering", "Dispatch", "Status & messages")
STATE_SYMBOLS: dict[ComponentState, str] = {
    ComponentState.OPERATIONAL: "✔",
    ComponentState.DEGRADED_PERFORMANCE: "▲",
    ComponentState.PARTIAL_OUTAGE: "✖",
    ComponentState.MAJOR_OUTAGE: "✖",
    ComponentState.UNDER_MAINTENANCE: "⚙",
}
# Background and text colour per state; each pair has a contrast of at
# least 4.5:1 (WCAG 2.1, criterion 1.4.3).
TILE_COLOURS: dict[ComponentState, tuple[str, str]] = {
    ComponentState.OPERATIONAL: ("#2e7d32", "#ffffff"),
    ComponentState.DEGRADED_PERFORMANCE: ("#f9a825", "#1a1a1a"),
    ComponentState.PARTIAL_OUTAGE: ("#e65100", "#ffffff"),
    ComponentState.MAJOR_OUTAGE: ("#b71c1c", "#ffffff"),
    ComponentState.UNDER_MAINTENANCE: ("#1565c0", "#ffffff"),
}


def state_words(state: ComponentState) -> str:
    """The state with its symbol, e.g. ``✖ Major outage``."""
    return f"{STATE_SYMBOLS[state]} {state.label}"


def grouped(components: Sequence[ComponentRow]) -> dict[str, list[ComponentRow]]:
    """Components by function, functions in :data:`FUNCTION_ORDER`, others last."""
    groups: dict[str, list[ComponentRow]] = {f: [] for f in FUNCTION_ORDER}
    for component in components:
        groups.setdefault(component.function, []).append(component)
    return {function: rows for function, rows in groups.items() if rows}


def _tile(component: ComponentRow) -> str:
    background, text = TILE_COLOURS[component.state]
    where = " · ".join(p for p in (component.region, component.provider) if p)
    # A component that is down gets a thick outline, seen even in grey scale.
    outline = "outline:3px solid #1a1a1a;" if component.state.is_down else ""
    return (
        f'<div title="{html.escape(component.note or component.state.label)}" '
        f'style="background:{background};color:{text};{outline}'
        'border-radius:0.4rem;padding:0.35rem 0.55rem;line-height:1.25">'
        f'<div style="font-weight:700">{html.escape(component.name)}</div>'
        f'<div style="font-weight:600">{html.escape(state_words(component.state))}'
        "</div>"
        f'<div style="font-size:0.8rem;opacity:0.92">{html.escape(where)}</div>'
        "</div>"
    )


def _group(function: str, components: Sequence[ComponentRow]) -> str:
    down = sum(c.state is not ComponentState.OPERATIONAL for c in components)
    summary = "all operational" if not down else f"{down} not operational"
    tiles = "".join(_tile(c) for c in components)
    return (
        '<div style="background:#f1f3f4;border-radius:0.5rem;padding:0.45rem">'
        f'<div style="font-weight:700">{html.escape(function)}</div>'
        '<div style="font-size:0.85rem;color:#424242;margin-bottom:0.3rem">'
        f"{summary}</div>"
        '<div style="display:grid;gap:0.35rem;'
        'grid-template-columns:repeat(auto-fill,minmax(170px,1fr))">'
        f"{tiles}</div></div>"
    )


def legend_html() -> str:
    """One line naming every state's colour and symbol."""
    keys = "".join(
        f'<span style="display:inline-block;margin:0 0.8rem 0.2rem 0">'
        f'<span style="background:{background};color:{text};border-radius:0.25rem;'
        f'padding:0 0.35rem">{STATE_SYMBOLS[state]}</span> {state.label}</span>'
        for state, (background, text) in TILE_COLOURS.items()
    )
    return f'<div style="font-size:0.85rem;margin-top:0.4rem">{keys}</div>'


def system_tiles_html(components: Sequence[ComponentRow]) -> str:
    """Every component as a tile, grouped by function, with the legend under it."""
    groups = "".join(
        _group(function, rows) for function, rows in grouped(components).items()
    )
    # One line of HTML: indented lines would turn into a Markdown code block.
    return (
        '<div style="display:grid;gap:0.5rem;'
        'grid-template-columns:repeat(auto-fit,minmax(190px,1fr))">'
        f"{groups}</div>{legend_html()}"
    )
