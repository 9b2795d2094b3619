"""A demo world seeded and played once for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from controlroom.db import create_db_engine
from controlroom.demo.simulator import SimulationSummary, run_simulation
from controlroom.demo.world import seed_demo_world
from controlroom.schema import upgrade_database

DEMO_DAY = date(2026, 12, 4)


@dataclass(frozen=True)
class PlayedDay:
    """A demo world whose whole day has been played."""

    engine: Engine
    credentials: dict[str, tuple[str, str]]
    summary: SimulationSummary
    data_dir: Path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The control room's data folder, in the test's temporary folder."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def played_demo_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlayedDay]:
    """lc101 seeded with seed 7 on SQLite and played fast to the day's end."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTROLROOM_DATA_DIR", str(folder))
        engine = create_db_engine(f"sqlite:///{folder / 'controlroom.sqlite3'}")
        upgrade_database(engine)
        credentials = seed_demo_world(engine, day=DEMO_DAY)
        summary = run_simulation(engine, speed=60, fast=True)
    yield PlayedDay(engine, credentials, summary, folder)
    engine.dispose()
