"""One typed settings class, read from the environment (KETNAP_*) and an optional .env file."""

from __future__ import annotations

import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"changeme", "change-me", "secret", "placeholder", "xxx", ""}


def _default_home() -> Path:
    return Path.home() / ".ketnap"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETNAP_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Where the embedded defaults keep their files")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in KETNAP_HOME")
    timezone: str = "Asia/Ho_Chi_Minh"
    secret_key: str | None = Field(default=None, description="Signs links and sessions; required in production")
    environment: str = Field(default="development", pattern="^(development|test|production)$")
    prefect_api_url: str = Field(default="http://127.0.0.1:4200/api",
                                 description="Used when Prefect's own PREFECT_API_URL is not set")
    orchestration: str = Field(default="auto", pattern="^(auto|off)$",
                               description="off: apply steps directly, never call Prefect")
    # --- web app and API
    web_host: str = Field(default="127.0.0.1", description="where `ketnap serve` serves the web app")
    web_port: int = Field(default=8000, ge=1, le=65535)
    trust_proxy: bool = Field(default=False, description="take the client address from X-Forwarded-For")
    # --- notifications
    smtp_host: str | None = Field(default=None, description="unset: emails are written to KETNAP_HOME/mail")
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "ketnap <ketnap@localhost>"
    public_url: str = Field(default="http://127.0.0.1:8000", description="base of the links in messages")
    quiet_hours: str = Field(default="21:00-07:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
                             description="no sending in this window, Asia/Ho_Chi_Minh")
    send_at_night: bool = False
    deadline_reminder_working_days: int = Field(default=5, ge=0, le=30)
    probation_notice_days: int = Field(default=30, ge=0, le=120)

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in PLACEHOLDERS:
            raise ValueError("KETNAP_SECRET_KEY is left at a placeholder; set a real random value")
        return value

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'ketnap.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def secret_key(settings: Settings | None = None) -> str:
    """KETNAP_SECRET_KEY; in development a random key kept in KETNAP_HOME/secret_key (created once)."""
    settings = settings or get_settings()
    if settings.secret_key:
        return settings.secret_key
    if settings.environment == "production":
        raise RuntimeError("KETNAP_SECRET_KEY must be set in production")
    path = settings.home / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def quiet_window(settings: Settings | None = None) -> tuple[time, time]:
    start, end = (settings or get_settings()).quiet_hours.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)
