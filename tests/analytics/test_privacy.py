"""Nothing personal, and no package code, reaches an analyst's frame."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from controlroom.analytics import (
    delivery_performance,
    order_days,
    parcel_events,
    parcel_flow,
)
from controlroom.analytics.pseudonyms import KEY_FILE, pseudonym_key
from controlroom.config import load_settings
from controlroom.errors import ConfigurationError
from tests.analytics.delivery_day import DeliveryDay


def _every_frame(engine: Engine) -> list[pd.DataFrame]:
    frames = []
    for day in [None, *order_days(engine)]:
        events = parcel_events(engine, day=day)
        frames += [
            events,
            parcel_flow(events),
            delivery_performance(events),
            delivery_performance(events, by="channel"),
            delivery_performance(events, by="payment_method"),
        ]
    return frames


def _texts(frame: pd.DataFrame) -> list[str]:
    labels = [str(label) for label in [*frame.columns, *frame.index]]
    cells = [str(cell) for cell in frame.astype(str).to_numpy().ravel()]
    return labels + cells + [str(frame.index.name), str(frame.columns.name)]


def test_no_frame_holds_a_name_phone_street_or_package_code(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    frames = _every_frame(engine)
    texts = [text for frame in frames for text in _texts(frame)]

    assert len(frames) == 15
    leaks = [
        secret for secret in delivery_day.secrets if any(secret in t for t in texts)
    ]
    assert leaks == []
    assert set(delivery_day.postcodes).isdisjoint(texts)
    assert not any("Kari" in text or "party" in text for text in texts)


def test_no_frame_holds_a_coordinate(engine: Engine, delivery_day: DeliveryDay) -> None:
    frames = _every_frame(engine)

    numbers = [
        value
        for frame in frames
        for column in frame.select_dtypes("number").columns
        for value in frame[column].dropna().tolist()
    ]
    assert numbers
    assert set(delivery_day.coordinates).isdisjoint(numbers)


def test_the_pseudonym_key_never_appears_in_a_frame(
    engine: Engine, delivery_day: DeliveryDay, analyst_settings: Path
) -> None:
    texts = [text for frame in _every_frame(engine) for text in _texts(frame)]

    key = (analyst_settings / KEY_FILE).read_text().strip()
    assert not any(key[:16] in text for text in texts)


def test_the_pseudonym_key_file_is_drawn_once_and_private(
    analyst_settings: Path,
) -> None:
    first = pseudonym_key(load_settings())
    again = pseudonym_key(load_settings())

    assert first == again
    assert len(first) == 32
    assert (analyst_settings / KEY_FILE).stat().st_mode & 0o077 == 0


def test_a_configured_key_is_used_instead_of_the_file(
    monkeypatch: pytest.MonkeyPatch, analyst_settings: Path
) -> None:
    monkeypatch.setenv("CONTROLROOM_ANALYTICS_KEY", "a shared key for all analysts")

    key = pseudonym_key(load_settings())

    assert key == b"a shared key for all analysts"
    assert not (analyst_settings / KEY_FILE).exists()


def test_a_short_configured_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTROLROOM_ANALYTICS_KEY", "short")

    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        pseudonym_key(load_settings())


def test_a_damaged_key_file_is_reported(analyst_settings: Path) -> None:
    analyst_settings.mkdir(parents=True)
    (analyst_settings / KEY_FILE).write_text("not hex at all")

    with pytest.raises(ConfigurationError, match="is damaged"):
        pseudonym_key(load_settings())


def test_a_day_without_orders_is_an_empty_frame(
    engine: Engine, delivery_day: DeliveryDay
) -> None:
    events = parcel_events(engine, day=date(2026, 12, 25))

    assert events.empty
