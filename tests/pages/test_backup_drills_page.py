"""The Backups and fail-over screen's restore drills, headless."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine

from controlroom.auth.models import Role
from controlroom.backup.drills import run_restore_drill
from controlroom.backup.service import snapshot_and_ship
from controlroom.backup.stores import LocalStore
from controlroom.config import Settings
from tests.overview.small_day import SmallDay
from tests.pages.conftest import sign_in

PAGE = "pages/backups.py"


def test_without_drills_the_section_says_how_to_run_one(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.OPS)
    app.switch_page(PAGE).run()

    assert "Restore drills" in [s.value for s in app.subheader]
    assert any("No restore drill recorded yet" in c.value for c in app.caption)


def test_a_recorded_drill_is_listed_with_its_lost_events(
    small_day_app: SmallDay, engine: Engine
) -> None:
    data_dir = Path(os.environ["CONTROLROOM_DATA_DIR"])
    store = LocalStore(data_dir / "backup", retention_days=30)
    snapshot_and_ship(engine, store, settings=Settings(data_dir=data_dir))
    run_restore_drill(engine, store, actor="olga")
    app = sign_in(Role.MANAGEMENT)

    app.switch_page(PAGE).run()

    assert not app.exception
    drills = next(
        frame.value for frame in app.dataframe if "Lost events" in frame.value.columns
    )
    assert list(drills["Kind"]) == ["restore"]
    assert list(drills["Lost events"]) == [0]
    assert list(drills["Outcome"]) == ["restored"]


def test_a_schedule_that_never_ran_is_flagged_with_the_command_to_run(
    small_day_app: SmallDay,
) -> None:
    app = sign_in(Role.OPS)
    app.switch_page(PAGE).run()

    behind = [w.value for w in app.warning if "Schedule behind" in w.value]
    assert len(behind) == 2
    assert "No snapshot in the store yet." in behind[0]
    assert "controlroom backup schedule" in behind[1]
    assert any("next due" in c.value for c in app.caption)


def test_a_schedule_that_ran_shows_when_it_is_next_due(
    small_day_app: SmallDay, engine: Engine
) -> None:
    data_dir = Path(os.environ["CONTROLROOM_DATA_DIR"])
    store = LocalStore(data_dir / "backup", retention_days=30)
    snapshot_and_ship(engine, store, settings=Settings(data_dir=data_dir))
    run_restore_drill(engine, store, actor="olga")
    app = sign_in(Role.OPS)

    app.switch_page(PAGE).run()

    assert not [w.value for w in app.warning if "Schedule behind" in w.value]
    line = next(c.value for c in app.caption if c.value.startswith("Snapshot: last"))
    assert "never" not in line
    assert "every 60 min" in line and "every 24 h" in line
