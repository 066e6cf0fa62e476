"""Settings from the environment and an optional `.env` file.

Every setting is read once; `load_settings()` turns pydantic's validation
errors into a `ConfigError` that names the variable and what it expects, so
the CLI can stop with one line (exit code 2) and never print a secret.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

BUNDLED_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SQLITE_FILE = "revalign.db"

# What each variable expects, for error messages.
EXPECTATIONS: dict[str, str] = {
    "SLACK_BOT_TOKEN": "a bot token starting with 'xoxb-'",
    "SLACK_SIGNING_SECRET": "the app's signing secret (Basic Information > App Credentials)",
    "SLACK_APP_TOKEN": "an app-level token starting with 'xapp-' (only for Socket Mode)",
    "SLACK_API_URL": "an http(s) URL ending in '/api/', e.g. https://slack.com/api/",
    "DATABASE_URL": "a SQLAlchemy URL such as sqlite:///revalign.db or postgresql+psycopg://user:pass@host/db",
    "REVALIGN_EMBEDDING_MODEL": "a sentence-transformers model name or path",
    "REVALIGN_API_TOKEN": "a bearer token of at least 16 characters for POST /api/kpis",
    "REVALIGN_ALIGNMENT_CHANNEL": "a Slack channel ID such as C0123456789",
    "REVALIGN_DIGEST_CHANNEL": "a Slack channel ID such as C0123456789 (the weekly KPI digest goes there instead of DMs)",
    "REVALIGN_STALE_AFTER_DAYS": "a whole number of days (1-3650)",
    "REVALIGN_CONTENT_RESULTS": "a number of results from 1 to 5",
    "REVALIGN_TIMEZONE": "an IANA time zone such as America/New_York",
    "REVALIGN_SLACK_TIMEOUT": "seconds to wait for a Slack Web API answer, from 1 to 120",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    database_url: str = Field(default=f"sqlite:///{DEFAULT_SQLITE_FILE}", validation_alias="DATABASE_URL")
    embedding_model: str = Field(default=BUNDLED_MODEL, validation_alias="REVALIGN_EMBEDDING_MODEL")
    api_token: SecretStr | None = Field(default=None, validation_alias="REVALIGN_API_TOKEN")
    alignment_channel: str | None = Field(default=None, validation_alias="REVALIGN_ALIGNMENT_CHANNEL")
    digest_channel: str | None = Field(default=None, validation_alias="REVALIGN_DIGEST_CHANNEL")
    stale_after_days: int = Field(default=90, ge=1, le=3650, validation_alias="REVALIGN_STALE_AFTER_DAYS")
    content_results: int = Field(default=3, ge=1, le=5, validation_alias="REVALIGN_CONTENT_RESULTS")
    timezone: str = Field(default="UTC", validation_alias="REVALIGN_TIMEZONE")
    # ops: how long a Slack call may take before its outcome counts as unknown (checked, not repeated).
    slack_timeout: float = Field(default=10.0, ge=1, le=120, validation_alias="REVALIGN_SLACK_TIMEOUT")

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("malformed")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("malformed")
        return value

    @field_validator("slack_signing_secret", "api_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("api_token")
    @classmethod
    def _api_token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("too short")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("malformed")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("malformed") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("unsupported backend")
        if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg2", "default"):
            # psycopg 3 is what we ship; accept plain postgresql:// URLs.
            value = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @cached_property
    def is_embedded_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def require(self, *names: str) -> None:
        """Stop with a ConfigError if any of the named env variables is unset."""
        for env_name in names:
            field_name = _FIELD_BY_ENV[env_name]
            if getattr(self, field_name) is None:
                raise ConfigError(f"{env_name} is not set: expected {EXPECTATIONS[env_name]}.")

    def secret(self, env_name: str) -> str:
        value = getattr(self, _FIELD_BY_ENV[env_name])
        if value is None:
            raise ConfigError(f"{env_name} is not set: expected {EXPECTATIONS[env_name]}.")
        return value.get_secret_value()


_FIELD_BY_ENV = {
    (field.validation_alias if isinstance(field.validation_alias, str) else name): name
    for name, field in Settings.model_fields.items()
}


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        env_name = str(error["loc"][0]) if error.get("loc") else "a setting"
        if env_name in Settings.model_fields:
            alias = Settings.model_fields[env_name].validation_alias
            env_name = alias if isinstance(alias, str) else env_name.upper()
        expected = EXPECTATIONS.get(env_name, error.get("msg", "a valid value"))
        raise ConfigError(f"{env_name} is malformed: expected {expected}.") from None


def sqlite_path(database_url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)
