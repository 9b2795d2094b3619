"""A demo day played to 10:30 once; each dispatch test gets its own copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from controlroom.db import create_db_engine
from controlroom.demo.simulator import run_simulation
from controlroom.demo.world import seed_demo_world
from controlroom.schema import upgrade_database

OSLO = ZoneInfo("Europe/Oslo")
DAY = date(2026, 12, 4)
MID_MORNING = datetime(2026, 12, 4, 10, 30, tzinfo=OSLO).astimezone(UTC)


@dataclass(frozen=True)
class Morning:
    engine: Engine
    folder: Path


@pytest.fixture(scope="session")
def played_morning(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo day played to 10:30; the file every test copies."""
    folder = tmp_path_factory.mktemp("morning")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTROLROOM_DATA_DIR", str(folder))
        engine = create_db_engine(f"sqlite:///{folder / 'day.sqlite3'}")
        upgrade_database(engine)
        seed_demo_world(engine, day=DAY)
        run_simulation(engine, speed=60, fast=True, until=MID_MORNING)
        engine.dispose()
    return folder / "day.sqlite3"


@pytest.fixture
def morning(
    played_morning: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Morning]:
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path))
    target = tmp_path / "day.sqlite3"
    shutil.copy(played_morning, target)
    engine = create_db_engine(f"sqlite:///{target}")
    yield Morning(engine, tmp_path)
    engine.dispose()


EARLY = datetime(2026, 12, 4, 7, 27, tzinfo=OSLO).astimezone(UTC)


@pytest.fixture(scope="session")
def played_early(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo day played to 07:27, just after the vans left."""
    folder = tmp_path_factory.mktemp("early")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTROLROOM_DATA_DIR", str(folder))
        engine = create_db_engine(f"sqlite:///{folder / 'day.sqlite3'}")
        upgrade_database(engine)
        seed_demo_world(engine, day=DAY)
        run_simulation(engine, speed=60, fast=True, until=EARLY)
        engine.dispose()
    return folder / "day.sqlite3"


@pytest.fixture
def early(
    played_early: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Morning]:
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path))
    target = tmp_path / "day.sqlite3"
    shutil.copy(played_early, target)
    engine = create_db_engine(f"sqlite:///{target}")
    yield Morning(engine, tmp_path)
    engine.dispose()
