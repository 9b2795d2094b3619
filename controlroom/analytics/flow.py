"""How parcels flow through their states, and how punctually they arrive.

Pure pandas over the frame :func:`controlroom.analytics.parcel_events`
returns; nothing here reads the database.
"""

from __future__ import annotations

import pandas as pd

from controlroom.analytics.events import PARCEL_STATES

FLOW_STATES = PARCEL_STATES[:4]
_RANK = {state: rank for rank, state in enumerate(PARCEL_STATES)}
PERFORMANCE_COLUMNS = (
    "parcels",
    "delivered",
    "on_time",
    "late",
    "on_time_share",
    "mean_minutes_late",
    "max_minutes_late",
    "median_minutes_to_deliver",
)


def parcel_flow(events: pd.DataFrame, *, freq: str = "15min") -> pd.DataFrame:
    """Count parcels per state at the end of each time bucket.

    Returns a long frame with columns ``at`` (bucket end, UTC), ``state``,
    ``reached`` (parcels that have reached the state by ``at``) and
    ``current`` (parcels whose furthest state by ``at`` is this one). A
    parcel is in its furthest state even if an earlier one is reported
    later (paid after pickup), so every parcel is counted once in
    ``current``. ``cancelled`` appears only when some parcel was.
    """
    states = list(FLOW_STATES)
    if (events["state"] == "cancelled").any():
        states.append("cancelled")
    if events.empty:
        return _long_frame(pd.DatetimeIndex([], tz="UTC"), states, [], [])

    first = (
        events.groupby(["parcel", "state"], observed=True)["occurred_at"]
        .min()
        .reset_index()
    )
    first["rank"] = first["state"].map(_RANK).astype(int)
    first = first.sort_values(["parcel", "occurred_at", "rank"], kind="stable")

    # A parcel only moves forward: a state reported after a further one
    # (paid after pickup) does not take it back, so keep the running maximum.
    furthest = first.groupby("parcel")["rank"].cummax()
    moves = first[first["rank"] == furthest].copy()
    moves["left"] = moves.groupby("parcel")["state"].shift()

    start = events["occurred_at"].min().floor(freq)
    end = events["occurred_at"].max().ceil(freq)
    buckets = pd.date_range(start, end, freq=freq)

    def running(moments: pd.Series) -> pd.Series:
        return _running_count(moments, buckets, freq)

    reached = [running(first.loc[first["state"] == s, "occurred_at"]) for s in states]
    current = [
        running(moves.loc[moves["state"] == s, "occurred_at"])
        - running(moves.loc[moves["left"] == s, "occurred_at"])
        for s in states
    ]
    return _long_frame(buckets, states, reached, current)


def _running_count(
    moments: pd.Series, buckets: pd.DatetimeIndex, freq: str
) -> pd.Series:
    # An event at 08:05 counts from the 08:15 bucket end, one at 08:00 from 08:00.
    per_bucket = moments.dt.ceil(freq).value_counts()
    counts: pd.Series = per_bucket.reindex(buckets, fill_value=0).cumsum()
    return counts


def _long_frame(
    buckets: pd.DatetimeIndex,
    states: list[str],
    reached: list[pd.Series],
    current: list[pd.Series],
) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "at": buckets,
                "state": state,
                "reached": reached[i].to_numpy() if reached else [],
                "current": current[i].to_numpy() if current else [],
            }
        )
        for i, state in enumerate(states)
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame["state"] = pd.Categorical(frame["state"], categories=states, ordered=True)
    frame = frame.astype({"reached": "int64", "current": "int64"})
    return frame.sort_values(["at", "state"], kind="stable").reset_index(drop=True)


def delivery_performance(
    events: pd.DataFrame, *, by: str | None = None
) -> pd.DataFrame:
    """Summarise punctuality: on-time share and minutes late, per group.

    One row per value of the column ``by`` (e.g. ``"channel"``), or a single
    row ``all``. A delivery is on time when it is made by the end of the
    parcel's delivery window; ``on_time_share`` is of delivered parcels,
    and the minutes-late figures are over the late ones only.
    """
    ordered = events[events["state"] == "ordered"]
    delivered = events[events["state"] == "delivered"]
    delivered = delivered.drop_duplicates("parcel").copy()
    ordered_at = ordered.drop_duplicates("parcel").set_index("parcel")["occurred_at"]

    lateness = delivered["occurred_at"] - delivered["deliver_until"]
    delivered["minutes_late"] = (lateness.dt.total_seconds() / 60).clip(lower=0)
    delivered["minutes_to_deliver"] = (
        delivered["occurred_at"] - delivered["parcel"].map(ordered_at)
    ).dt.total_seconds() / 60
    delivered["is_late"] = delivered["minutes_late"] > 0

    if by is None:
        groups = {"all": (ordered, delivered)}
    else:
        keys = pd.unique(ordered[by].dropna())
        groups = {
            str(key): (ordered[ordered[by] == key], delivered[delivered[by] == key])
            for key in sorted(keys, key=str)
        }

    rows = {name: _performance_row(o, d) for name, (o, d) in groups.items()}
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=list(PERFORMANCE_COLUMNS)
    )
    frame.index.name = by or "group"
    return frame.astype(
        {"parcels": "int64", "delivered": "int64", "on_time": "int64", "late": "int64"}
    )


def _performance_row(
    ordered: pd.DataFrame, delivered: pd.DataFrame
) -> dict[str, float | int]:
    late = delivered[delivered["is_late"]]
    count = len(delivered)
    nan = float("nan")
    return {
        "parcels": ordered["parcel"].nunique(),
        "delivered": count,
        "on_time": count - len(late),
        "late": len(late),
        "on_time_share": (count - len(late)) / count if count else nan,
        "mean_minutes_late": float(late["minutes_late"].mean()) if len(late) else 0.0,
        "max_minutes_late": float(late["minutes_late"].max()) if len(late) else 0.0,
        "median_minutes_to_deliver": (
            float(delivered["minutes_to_deliver"].median()) if count else nan
        ),
    }
