"""Settings from the environment and an optional `.env` file.

Every setting is read once; `load_settings()` turns pydantic's validation
errors into a `ConfigError` that names the variable and what it expects, so
the CLI can stop with one line (exit code 2) and never print a secret.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

BUNDLED_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SQLITE_FILE = "revalign.db"
# How each kind of Slack token starts, by settings field.
TOKEN_PREFIXES = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}

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
    "REVALIGN_MARKETING_CHANNEL": "a Slack channel ID such as C0123456789 (reps' content requests are posted there)",
    "REVALIGN_STALE_AFTER_DAYS": "a whole number of days (1-3650)",
    "REVALIGN_CONTENT_RESULTS": "a number of results from 1 to 5",
    "REVALIGN_TIMEZONE": "an IANA time zone such as America/New_York",
    "REVALIGN_PLAYGROUND_PORT": "a port number (1024-65535) for `revalign playground` on 127.0.0.1",
    # --- CRM (bot/crm) ---
    "REVALIGN_CRM": "'hubspot' or 'salesforce' (the CRM KPIs and SLA alerts come from)",
    "HUBSPOT_ACCESS_TOKEN": "a HubSpot private-app access token (starts with 'pat-')",
    "HUBSPOT_API_URL": "an http(s) base URL of the HubSpot API, e.g. https://api.hubapi.com",
    "HUBSPOT_PORTAL_ID": "your HubSpot account (portal) ID, for record links",
    "SALESFORCE_USERNAME": "the Salesforce integration user's username",
    "SALESFORCE_PASSWORD": "that user's password",
    "SALESFORCE_SECURITY_TOKEN": "that user's security token (Settings > Reset My Security Token)",
    "SALESFORCE_DOMAIN": "'login', 'test' or your My Domain (e.g. acme.my)",
    "SALESFORCE_LOGIN_URL": "an http(s) base URL of the Salesforce login server, overriding SALESFORCE_DOMAIN",
    "SALESFORCE_CLIENT_ID": "the connected app's consumer key (for the OAuth refresh token)",
    "SALESFORCE_CLIENT_SECRET": "the connected app's consumer secret",
    "SALESFORCE_REFRESH_TOKEN": "an OAuth refresh token of the connected app",
    "REVALIGN_CRM_SYNC_HOUR": "the hour (0-23, REVALIGN_TIMEZONE) of the daily CRM sync",
    "REVALIGN_SALES_CHANNEL": "a Slack channel ID such as C0123456789 (sales-owned SLA alerts)",
    "REVALIGN_MARKETING_ALERTS_CHANNEL": "a Slack channel ID such as C0123456789 (marketing-owned SLA alerts)",
    "REVALIGN_SLACK_TIMEOUT": "seconds to wait for a Slack Web API answer, from 1 to 120",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    database_url: str = Field(default=f"sqlite:///{DEFAULT_SQLITE_FILE}", validation_alias="DATABASE_URL")
    embedding_model: str = Field(default=BUNDLED_MODEL, validation_alias="REVALIGN_EMBEDDING_MODEL")
    api_token: SecretStr | None = Field(default=None, validation_alias="REVALIGN_API_TOKEN")
    alignment_channel: str | None = Field(default=None, validation_alias="REVALIGN_ALIGNMENT_CHANNEL")
    digest_channel: str | None = Field(default=None, validation_alias="REVALIGN_DIGEST_CHANNEL")
    marketing_channel: str | None = Field(default=None, validation_alias="REVALIGN_MARKETING_CHANNEL")
    stale_after_days: int = Field(default=90, ge=1, le=3650, validation_alias="REVALIGN_STALE_AFTER_DAYS")
    content_results: int = Field(default=3, ge=1, le=5, validation_alias="REVALIGN_CONTENT_RESULTS")
    timezone: str = Field(default="UTC", validation_alias="REVALIGN_TIMEZONE")
    # Slack needs every request acknowledged within 3 s, also under a burst: the ack
    # waits for a free listener thread (Bolt's default is 5) and a free HTTP thread.
    # Listener threads mostly wait on the database or Slack, so many are cheap
    # (benchmarks/bench_burst.py measures it).
    listener_threads: int = Field(default=128, ge=1, le=1024, validation_alias="REVALIGN_LISTENER_THREADS")
    http_threads: int = Field(default=32, ge=1, le=256, validation_alias="REVALIGN_HTTP_THREADS")
    # How many listeners do their after-ack work at once (0: no limit); see handlers/registry.WorkGate.
    work_slots: int = Field(default=4, ge=0, le=256, validation_alias="REVALIGN_WORK_SLOTS")
    # `revalign playground` listens here; `revalign ask` looks for a running playground here first.
    playground_port: int = Field(default=8765, ge=1024, le=65535, validation_alias="REVALIGN_PLAYGROUND_PORT")
    # --- CRM (bot/crm): secrets are SecretStr and never logged ---
    crm: str | None = Field(default=None, validation_alias="REVALIGN_CRM")
    hubspot_access_token: SecretStr | None = Field(default=None, validation_alias="HUBSPOT_ACCESS_TOKEN")
    hubspot_api_url: str = Field(default="https://api.hubapi.com", validation_alias="HUBSPOT_API_URL")
    hubspot_portal_id: str | None = Field(default=None, validation_alias="HUBSPOT_PORTAL_ID")
    salesforce_username: str | None = Field(default=None, validation_alias="SALESFORCE_USERNAME")
    salesforce_password: SecretStr | None = Field(default=None, validation_alias="SALESFORCE_PASSWORD")
    salesforce_security_token: SecretStr | None = Field(default=None, validation_alias="SALESFORCE_SECURITY_TOKEN")
    salesforce_domain: str = Field(default="login", validation_alias="SALESFORCE_DOMAIN")
    salesforce_login_url: str | None = Field(default=None, validation_alias="SALESFORCE_LOGIN_URL")
    salesforce_client_id: str | None = Field(default=None, validation_alias="SALESFORCE_CLIENT_ID")
    salesforce_client_secret: SecretStr | None = Field(default=None, validation_alias="SALESFORCE_CLIENT_SECRET")
    salesforce_refresh_token: SecretStr | None = Field(default=None, validation_alias="SALESFORCE_REFRESH_TOKEN")
    crm_sync_hour: int = Field(default=6, ge=0, le=23, validation_alias="REVALIGN_CRM_SYNC_HOUR")
    sales_channel: str | None = Field(default=None, validation_alias="REVALIGN_SALES_CHANNEL")
    marketing_alerts_channel: str | None = Field(default=None, validation_alias="REVALIGN_MARKETING_ALERTS_CHANNEL")
    # ops: how long a Slack call may take before its outcome counts as unknown (checked, not repeated).
    slack_timeout: int = Field(default=10, ge=1, le=120, validation_alias="REVALIGN_SLACK_TIMEOUT")

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(TOKEN_PREFIXES[info.field_name or ""]):
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
        if value.startswith("sqlite:///") and "?" not in value:
            return value  # a plain SQLite file: no need to import SQLAlchemy (it would slow every command's start)
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

    @field_validator(
        "crm",
        "hubspot_portal_id",
        "salesforce_username",
        "salesforce_login_url",
        "salesforce_client_id",
        "hubspot_access_token",
        "salesforce_password",
        "salesforce_security_token",
        "salesforce_client_secret",
        "salesforce_refresh_token",
        "sales_channel",
        "marketing_alerts_channel",
        mode="before",
    )
    @classmethod
    def _crm_blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("crm")
    @classmethod
    def _crm_name(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() not in ("hubspot", "salesforce"):
            raise ValueError("unknown CRM")
        return value.strip().lower() if value else None

    @field_validator("hubspot_api_url", "salesforce_login_url")
    @classmethod
    def _crm_url_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("malformed")
        return value.rstrip("/") if value else value

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
