"""Settings, read from ``CONTROLROOM_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from controlroom.errors import ConfigurationError


def default_data_dir() -> Path:
    """Return the user's data folder for the control room (XDG on Linux)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cryptopack-controlroom"


def ensure_private_folder(folder: Path) -> Path:
    """Create ``folder`` (owner-only) if missing; raise a readable error if not."""
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(
            f"{folder} is a file, not a folder. Set CONTROLROOM_DATA_DIR to a folder.",
            setting="data_dir",
        )
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot use {folder} as a data folder ({exc.strerror}). Set "
            "CONTROLROOM_DATA_DIR to a folder you can write to.",
            setting="data_dir",
        ) from exc
    return folder


class Settings(BaseSettings):
    """Everything an operator can set; all of it has a safe default."""

    model_config = SettingsConfigDict(
        env_prefix="CONTROLROOM_", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    timezone: str = "Europe/Oslo"
    refresh_seconds: float = Field(default=3.0, gt=0.5, le=120)
    simulator_speed: float = Field(default=60.0, gt=0)
    # Development only: sign in as this role without a password, to take
    # screenshots; refused unless the database is the SQLite demo world.
    demo_autologin: str | None = None
    # Keys the parcel pseudonyms analysts see; unset, a key file is kept in
    # the data folder (see controlroom.analytics.pseudonyms).
    analytics_key: SecretStr | None = None
    # The public status site (controlroom.status_site): a visitor sees a
    # "may be out of date" banner this long after a build; parcels ordered
    # this many days ago or less (or still open) can be looked up; the salt
    # of the published keys (unset: one is kept in the data folder).
    status_site_stale_minutes: int = Field(default=30, ge=1, le=24 * 60)
    status_site_days: int = Field(default=14, ge=1, le=90)
    status_site_salt: str | None = None

    # The SMS gateway (controlroom.broadcasts.gateways): "smpp" (an SMSC),
    # "http" (a Twilio-shaped API at sms_url) or "none". sms_account is the
    # SMPP system_id or the API account id; the password or token comes
    # from CONTROLROOM_SMS_SECRET or an owner-only sms_secret_file, never
    # from a file anyone can read. Prices are in øre (or cents) per segment.
    sms_gateway: Literal["none", "smpp", "http"] = "none"
    sms_host: str = "127.0.0.1"
    sms_port: int = Field(default=2775, ge=1, le=65535)
    sms_url: str | None = None
    sms_account: str = ""
    sms_secret: SecretStr | None = None
    sms_secret_file: Path | None = None
    sms_price_per_segment: int = Field(default=0, ge=0)
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    sms_max_attempts: int = Field(default=3, ge=1, le=10)

    # The streaming backup (controlroom.backup): where sealed journal
    # segments go, a folder or s3://bucket/prefix (unset: the backup folder
    # in the data folder); how often, how big a segment may get, and after
    # how many seconds of lag the backup component goes to an outage. S3
    # needs its endpoint set explicitly (no default AWS address is ever
    # used) and the retention its Object Lock must keep at least. The keys
    # come from CONTROLROOM_BACKUP_S3_ACCESS_KEY_ID and ..._SECRET_ACCESS_KEY
    # or an owner-only backup_s3_credentials_file of KEY=value lines.
    backup_store: str | None = None
    backup_every_seconds: float = Field(default=1.0, ge=0.05, le=3600)
    backup_segment_events: int = Field(default=10_000, ge=1, le=1_000_000)
    backup_lag_alarm_seconds: float = Field(default=10.0, gt=0, le=86_400)
    backup_retention_days: int = Field(default=30, ge=1, le=36_500)
    backup_s3_endpoint: str | None = None
    backup_s3_region: str = "us-east-1"
    backup_s3_access_key_id: SecretStr | None = None
    backup_s3_secret_access_key: SecretStr | None = None
    backup_s3_credentials_file: Path | None = None
    # `controlroom backup schedule`: a snapshot when the newest is older than
    # this, and a restore drill when the last one started this long ago.
    backup_snapshot_every_minutes: float = Field(default=60.0, gt=0, le=43_200)
    backup_drill_every_hours: float = Field(default=24.0, gt=0, le=8_760)
    # PostgreSQL backups (controlroom.backup.pg_base, pg_wal, pg_restore):
    # the folder with pg_basebackup, pg_verifybackup and pg_ctl (unset: the
    # newest /usr/lib/postgresql/N/bin, else the PATH), and the command the
    # server's archive_command runs as the postgres user (unset: the
    # controlroom script beside this Python).
    pg_bin: Path | None = None
    pg_controlroom_command: str | None = None

    # The fallback order channels (controlroom.fallback_orders): the spool
    # folder on storage apart from the database (unset: fallback-spool in
    # the data folder); the number customers text orders to, as the static
    # order page shows it (E.164: + and 8-15 digits, checked at build); the
    # watch-only account key (xpub/zpub/vpub or a descriptor, never a
    # private key) spooled orders get addresses from -- an account of its
    # own, not the one the primary's fallback wallet issues from -- its
    # network (it must match the key) and first receive index.
    fallback_spool_dir: Path | None = None
    fallback_sms_number: str | None = None
    fallback_wallet_key: str | None = None
    fallback_wallet_network: Literal["mainnet", "testnet", "signet", "regtest"] = (
        "mainnet"
    )
    fallback_wallet_first_index: int = Field(default=0, ge=0, le=2**31 - 1)

    # The PostgreSQL cluster board (controlroom.availability.board): one
    # URL per member, as a JSON list (passwords in ~/.pgpass, not here);
    # unset, the members are the hosts of database_url.
    cluster_member_urls: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as "
                "Europe/Oslo or UTC"
            ) from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL: the setting, or the SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'controlroom.sqlite3'}"


def load_settings() -> Settings:
    """Read the settings, turning a validation failure into a readable error."""
    try:
        return Settings()
    except ValidationError as exc:
        names = [
            "CONTROLROOM_" + "_".join(str(p) for p in err["loc"]).upper()
            for err in exc.errors()
        ]
        problems = "; ".join(
            f"{name}: {err['msg'].removeprefix('Value error, ')}"
            for name, err in zip(names, exc.errors(), strict=True)
        )
        raise ConfigurationError(
            f"The configuration is not valid: {problems}", setting=names[0]
        ) from exc
