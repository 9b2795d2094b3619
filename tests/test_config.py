"""Settings from CONTROLROOM_* variables, and the errors they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.config import load_settings
from controlroom.errors import ConfigurationError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CONTROLROOM_* variables and no .env file from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "CONTROLROOM_TIMEZONE",
        "CONTROLROOM_REFRESH_SECONDS",
        "CONTROLROOM_DATABASE_URL",
        "CONTROLROOM_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_the_defaults_need_no_server(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.timezone == "Europe/Oslo"
    assert settings.refresh_seconds == 3.0
    assert settings.resolved_database_url == (
        f"sqlite:///{tmp_path}/xdg/cryptopack-controlroom/controlroom.sqlite3"
    )


def test_the_database_url_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://ops@127.0.0.1/controlroom"
    monkeypatch.setenv("CONTROLROOM_DATABASE_URL", url)

    assert load_settings().resolved_database_url == url


def test_a_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CONTROLROOM_TIMEZONE=UTC\n")

    assert load_settings().timezone == "UTC"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "not a zone", "../etc"])
def test_an_unknown_time_zone_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("CONTROLROOM_TIMEZONE", zone)

    with pytest.raises(ConfigurationError, match="CONTROLROOM_TIMEZONE") as bad:
        load_settings()

    assert bad.value.setting == "CONTROLROOM_TIMEZONE"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("soon", "valid number"),
        ("0.1", "greater than 0.5"),
        ("600", "less than or equal to 120"),
    ],
)
def test_a_bad_refresh_interval_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("CONTROLROOM_REFRESH_SECONDS", value)

    with pytest.raises(
        ConfigurationError, match=f"CONTROLROOM_REFRESH_SECONDS: .*{reason}"
    ) as bad:
        load_settings()

    assert bad.value.setting == "CONTROLROOM_REFRESH_SECONDS"
