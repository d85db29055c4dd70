"""All configuration in one place: ``LEDGER_…`` environment variables over the data dir's
``ledger.toml`` over defaults. Bad values fail at start-up with a message naming the setting.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ledger.errors import ConfigurationError

CONFIG_FILE = "ledger.toml"
DEFAULT_DATA_DIR = Path("ledger-data")


class Settings(BaseSettings):
    """The ledger's settings; see docs/configuration.md for each one."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="forbid")
    config_file: ClassVar[Path | None] = None

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = Field(
        default="", description="sqlite:///path.db or postgresql://user@host:port/db"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_request_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_batch_items: int = Field(default=1000, ge=1, le=10_000)
    max_batch_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024)
    rate_limit_per_second: float = Field(
        default=200.0, gt=0, description="sustained requests per second per token"
    )
    rate_limit_burst: int = Field(default=400, ge=1, description="requests a token may burst")
    log_format: Literal["json", "text"] = "json"
    checkpoint_interval_seconds: float = Field(default=0.5, gt=0, le=1.0)
    integrate: bool = Field(default=True, description="integrate the log in the server")
    projections: bool = Field(
        default=True, description="run the projections (read models) in the server"
    )
    projection_poll_seconds: float = Field(default=0.2, gt=0, le=10.0)
    projection_watchdog_seconds: float = Field(
        default=1.0, gt=0, le=60.0, description="PostgreSQL: poll this often even without NOTIFY"
    )
    witness_vkeys: list[str] = Field(
        default_factory=list, description="cosignature/v1 vkeys of the witnesses to accept"
    )

    @field_validator("witness_vkeys")
    @classmethod
    def _witness_keys(cls, values: list[str]) -> list[str]:
        from ledger.note import COSIGNATURE_V1_ALGORITHM, parse_verifier

        for value in values:
            if parse_verifier(value).algorithm != COSIGNATURE_V1_ALGORITHM:
                raise ValueError(f"{value} is not a cosignature/v1 (type 0x04) vkey")
        return values

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.config_file is not None and cls.config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.config_file))
        return tuple(sources)

    @classmethod
    def load(cls, data_dir: Path | None = None, **overrides: Any) -> Settings:
        """Settings for ``data_dir`` (else ``LEDGER_DATA_DIR``, else ``./ledger-data``)."""
        chosen = data_dir or Path(os.environ.get("LEDGER_DATA_DIR") or DEFAULT_DATA_DIR)
        config_file = chosen / CONFIG_FILE
        _refuse_time_windows(config_file)
        bound = type("Settings", (cls,), {"config_file": config_file})
        try:
            settings: Settings = bound(data_dir=chosen, **overrides)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
                for err in e.errors(include_url=False)
            )
            raise ConfigurationError(
                f"invalid settings (LEDGER_… variables or {config_file}): {problems}"
            ) from None
        return settings

    @property
    def effective_database_url(self) -> str:
        """``database_url``, or the SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'ledger.db'}"

    @property
    def log_key_path(self) -> Path:
        return self.data_dir / "log.key"

    @property
    def root_key_path(self) -> Path:
        return self.data_dir / "root-registrar.key"


# Settings of earlier releases that set the time windows of DESIGN §4. The windows are
# protocol constants (or the genesis's own); a setting could make the audit, a rebuilt read
# model and a bundle's verifier disagree with what the log accepted, so none is read, and a
# deployment that still sets one is told so rather than silently ignored.
REMOVED_TIME_SETTINGS = ("future_skew_seconds", "out_of_order_seconds", "recorded_late_hours")


def _refuse_time_windows(config_file: Path) -> None:
    found = [
        f"LEDGER_{name.upper()}"
        for name in REMOVED_TIME_SETTINGS
        if f"LEDGER_{name.upper()}" in os.environ
    ]
    if config_file.is_file():
        try:
            with config_file.open("rb") as f:
                table = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError):
            table = {}  # a broken file is reported by the settings source with its own message
        found += [f"{name} in {config_file}" for name in REMOVED_TIME_SETTINGS if name in table]
    if found:
        raise ConfigurationError(
            f"{', '.join(found)}: the time windows (future skew, out of order, recorded late) "
            "are no longer settings. They are protocol constants, or what the ledger's genesis "
            "states (DESIGN §4), so that every verdict can be derived again from the log "
            "alone; remove the setting and start again"
        )
