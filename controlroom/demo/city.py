"""The benchmark grid laid over Oslo, and synthetic people and addresses on it.

Li & Lim coordinates run from 0 to 100 on both axes. The demo stretches that
square over central Oslo (latitude 59.88-59.96, longitude 10.66-10.86), so the
lc-instances' depot at (40, 50) lands near Oslo S. Names, phone numbers and
streets come from Faker's Norwegian locale, seeded: plausible, never real.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from faker import Faker

GRID_SIZE = 100
CITY = "Oslo"


@dataclass(frozen=True)
class CityGrid:
    """A rectangle of latitude and longitude the 0..100 grid is stretched over."""

    south: float
    north: float
    west: float
    east: float

    def to_lat_lon(self, x: float, y: float) -> tuple[float, float]:
        """Return the (latitude, longitude) of grid point ``(x, y)``."""
        lat = self.south + (self.north - self.south) * y / GRID_SIZE
        lon = self.west + (self.east - self.west) * x / GRID_SIZE
        return round(lat, 6), round(lon, 6)

    def postcode(self, x: float, y: float) -> str:
        """Return a plausible Oslo postcode (0150-1145) for a grid point.

        Neighbouring points share a code: the grid is cut into 10 x 10
        squares, each given its own code in Oslo's range.
        """
        column = min(int(x) // 10, 9)
        row = min(int(y) // 10, 9)
        return f"{150 + (row * 10 + column) * 10:04d}"


OSLO = CityGrid(south=59.88, north=59.96, west=10.66, east=10.86)


@dataclass(frozen=True)
class Person:
    """A synthetic person: name and Norwegian mobile number."""

    name: str
    phone: str


@dataclass(frozen=True)
class Address:
    """A synthetic street address at a real-looking place in Oslo."""

    street: str
    postcode: str
    city: str
    lat: float
    lon: float


class AddressBook:
    """Draws synthetic people and addresses, the same ones for the same seed."""

    def __init__(self, seed: int, grid: CityGrid = OSLO) -> None:
        self._faker = Faker("no_NO")
        self._faker.seed_instance(seed)
        self._random = random.Random(f"{seed}:address-book")
        self._grid = grid
        self._streets: dict[tuple[int, int], str] = {}

    def person(self) -> Person:
        """Return a new synthetic person."""
        digits = f"{self._random.randrange(10_000_000):07d}"
        # Norwegian mobile numbers are eight digits starting with 4 or 9.
        lead = self._random.choice("49")
        phone = f"+47 {lead}{digits[:2]} {digits[2:4]} {digits[4:]}"
        return Person(name=self._faker.name(), phone=phone)

    def address_at(self, x: float, y: float) -> Address:
        """Return the address of grid point ``(x, y)``; one street per point."""
        key = (round(x), round(y))
        if key not in self._streets:
            number = self._random.randint(1, 120)
            self._streets[key] = f"{self._faker.street_name()} {number}"
        lat, lon = self._grid.to_lat_lon(x, y)
        return Address(
            street=self._streets[key],
            postcode=self._grid.postcode(x, y),
            city=CITY,
            lat=lat,
            lon=lon,
        )
