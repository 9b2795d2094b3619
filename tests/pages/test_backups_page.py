"""The Backups and fail-over screen, headless: backup, cluster, fallback spool."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from controlroom.auth.models import Role
from controlroom.backup.shipper import Shipper
from controlroom.backup.stores import LocalStore
from tests.overview.small_day import SmallDay
from tests.pages.conftest import sign_in

PAGE = "pages/backups.py"


def open_page(role: Role) -> AppTest:
    app = sign_in(role)
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def test_before_any_shipping_the_screen_says_how_to_start_it(
    small_day_app: SmallDay,
) -> None:
    app = open_page(Role.OPS)

    assert "Nothing has been shipped" in " ".join(w.value for w in app.warning)
    members = app.dataframe[0].value
    assert list(members["Role"]) == ["Embedded SQLite"]
    assert any("No order has been spooled" in c.value for c in app.caption)


def test_a_shipped_backup_shows_no_lag_and_verifies_from_the_screen(
    small_day_app: SmallDay, engine: Engine
) -> None:
    store = LocalStore(
        Path(os.environ["CONTROLROOM_DATA_DIR"]) / "backup", retention_days=30
    )
    shipper = Shipper(engine, store)
    shipper.ship_once()  # its first round also journals the backup component
    report = shipper.ship_once()
    store.close()
    app = open_page(Role.MANAGEMENT)

    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Behind the journal"] == "0 events"
    assert metrics["Shipped up to event"] == f"{report.shipped_seq:,}"
    assert any("never been verified" in i.value for i in app.info)

    next(b for b in app.button if b.label == "Verify now").click().run()

    assert not app.exception
    assert app.success[0].value.startswith("Backup intact at ")
    assert any(s.value.startswith("Verified ") for s in app.success)
