"""Fixtures of the analytics tests: a played delivery day and a fixed key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.analytics.delivery_day import DeliveryDay, build_delivery_day

KEY = bytes.fromhex("5eed" * 16)


@pytest.fixture(autouse=True)
def analyst_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the pseudonym key file in the test's folder, not the user's."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CONTROLROOM_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CONTROLROOM_ANALYTICS_KEY", raising=False)
    monkeypatch.setenv("CONTROLROOM_TIMEZONE", "Europe/Oslo")
    return data_dir


@pytest.fixture
def delivery_day(engine: Engine) -> DeliveryDay:
    """The day of ``tests.analytics.delivery_day``, stored in ``engine``."""
    return build_delivery_day(engine)
