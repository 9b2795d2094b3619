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


EARLY = datetime(2026, 12, 4, 7, 27, tzinfo=OSLO).astimezone(UTC)


def _play(factory: pytest.TempPathFactory, name: str, until: datetime) -> Path:
    """Seed the demo day in a folder of its own and play it to ``until``."""
    folder = factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTROLROOM_DATA_DIR", str(folder))
        engine = create_db_engine(f"sqlite:///{folder / 'day.sqlite3'}")
        upgrade_database(engine)
        seed_demo_world(engine, day=DAY)
        run_simulation(engine, speed=60, fast=True, until=until)
        engine.dispose()
    return folder / "day.sqlite3"


def _copy(played: Path, tmp_path: Path, patch: pytest.MonkeyPatch) -> Iterator[Morning]:
    """A test's own copy of a played day."""
    patch.setenv("CONTROLROOM_DATA_DIR", str(tmp_path))
    target = tmp_path / "day.sqlite3"
    shutil.copy(played, target)
    engine = create_db_engine(f"sqlite:///{target}")
    yield Morning(engine, tmp_path)
    engine.dispose()


@pytest.fixture(scope="session")
def played_morning(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo day played to 10:30; the file every test copies."""
    return _play(tmp_path_factory, "morning", MID_MORNING)


@pytest.fixture
def morning(
    played_morning: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Morning]:
    """The day at 10:30, the test's own copy."""
    yield from _copy(played_morning, tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def played_early(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo day played to 07:27, just after the vans left."""
    return _play(tmp_path_factory, "early", EARLY)


@pytest.fixture
def early(
    played_early: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Morning]:
    """The day at 07:27, the test's own copy."""
    yield from _copy(played_early, tmp_path, monkeypatch)
