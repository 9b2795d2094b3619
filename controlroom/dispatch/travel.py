"""How long a van takes between two points, from their coordinates.

The planner needs a travel-time matrix; the control room knows latitudes and
longitudes. Within a city, a degree of latitude or longitude is close enough
to a fixed length that travel time is the planar distance after scaling each
axis to minutes. ``TravelModel.for_speed`` derives the scales from an average
speed (parking and traffic included) at the city's latitude; the demo world
sets them so that its map reproduces the benchmark's travel times exactly.

Not supported: road networks and one-way streets. A closed road is declared
between two areas instead (``controlroom.dispatch.degradations``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from controlroom.errors import DispatchError

KM_PER_DEGREE_LAT = 110.57
KM_PER_DEGREE_LON_AT_EQUATOR = 111.32
# Slower than walking or faster than a motorway is a typo, not a fleet.
MIN_SPEED_KMH = 3.0
MAX_SPEED_KMH = 130.0


@dataclass(frozen=True)
class TravelModel:
    """Minutes per degree of latitude and of longitude."""

    minutes_per_degree_lat: float
    minutes_per_degree_lon: float

    def __post_init__(self) -> None:
        for name in ("minutes_per_degree_lat", "minutes_per_degree_lon"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise DispatchError(
                    f"Travel minutes per degree must be a positive number, "
                    f"not {value} ({name})."
                )

    @classmethod
    def for_speed(cls, speed_kmh: float, *, latitude: float) -> TravelModel:
        """Return the model of vans averaging ``speed_kmh`` near ``latitude``."""
        if not (math.isfinite(speed_kmh) and speed_kmh > 0):
            raise DispatchError(
                f"An average speed must be a positive number of km/h, not {speed_kmh}."
            )
        if not MIN_SPEED_KMH <= speed_kmh <= MAX_SPEED_KMH:
            raise DispatchError(
                f"{speed_kmh:g} km/h is not a van's average speed across town; "
                f"give {MIN_SPEED_KMH:g} to {MAX_SPEED_KMH:g}."
            )
        if not -80 <= latitude <= 80:
            raise DispatchError(
                f"Latitude {latitude} is outside -80..80; the planar model "
                "needs a city away from the poles."
            )
        km_lon = KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(latitude))
        return cls(
            minutes_per_degree_lat=KM_PER_DEGREE_LAT / speed_kmh * 60,
            minutes_per_degree_lon=km_lon / speed_kmh * 60,
        )

    def minutes(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """Return the travel time from ``a`` to ``b``, each (lat, lon)."""
        return math.hypot(
            (a[0] - b[0]) * self.minutes_per_degree_lat,
            (a[1] - b[1]) * self.minutes_per_degree_lon,
        )

    def matrix(
        self, points: Sequence[tuple[float, float]]
    ) -> tuple[tuple[float, ...], ...]:
        """Return the travel times between every pair of ``points``."""
        lat = [p[0] * self.minutes_per_degree_lat for p in points]
        lon = [p[1] * self.minutes_per_degree_lon for p in points]
        return tuple(
            tuple(math.hypot(la - lb, oa - ob) for lb, ob in zip(lat, lon, strict=True))
            for la, oa in zip(lat, lon, strict=True)
        )


def planar_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the straight-line distance in km between two (lat, lon) points."""
    latitude = math.radians((a[0] + b[0]) / 2)
    return math.hypot(
        (a[0] - b[0]) * KM_PER_DEGREE_LAT,
        (a[1] - b[1]) * KM_PER_DEGREE_LON_AT_EQUATOR * math.cos(latitude),
    )
