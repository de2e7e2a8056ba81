"""One settings class for the whole application, read from the environment (prefix ``MCQA_``)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-insecure-change-me"


class Mode(StrEnum):
    demo = "demo"
    development = "development"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MCQA_", env_file=".env", extra="ignore", frozen=True)

    mode: Mode = Mode.demo
    database_url: str = f"sqlite:///{ROOT / 'var' / 'mcqa.db'}"
    secret_key: str = DEFAULT_SECRET_KEY
    policy_dir: Path = ROOT / "policies"
    # Connections per worker process (and as many again under bursts). Keep workers x 2 x this below the server's
    # max_connections. At least the worker's usual concurrency: below it, requests open new connections.
    db_pool_size: int = 10
    # Threads per worker process that serve requests at once (more wait their turn): Python runs one at a time, so
    # more than a few only queue for its lock (app.routing). Raise it when the database is far (its answers take
    # long) or many requests wait on slow work.
    request_threads: int = Field(default=3, gt=0)
    run_scheduler: bool = True
    scheduler_interval_seconds: int = 60
    cookie_secure: bool = False
    # Production refuses cookies without Secure (a session sent in clear over HTTP); this overrides that, for a
    # deployment that knows why (say, a closed network without TLS).
    allow_insecure_cookies: bool = False
    session_max_age_seconds: int = 8 * 3600
    # Largest request body accepted (413 above it); keep it above the attachment limit in credentials.yaml.
    max_request_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    log_level: str = "INFO"
    log_json: bool = False
    # Failed logins for one e-mail address within the window before further attempts are refused.
    login_max_failures: int = 5
    login_window_seconds: int = 900
    host: str = "127.0.0.1"
    port: int = 8000
    page_size: int = 25
    # Serve anonymous catalogue pages from memory until the catalogue changes (app.catalogue.cache).
    catalogue_cache: bool = True
    # Serve a logged-in person's pages from memory while the database is unchanged, for at most this many seconds
    # (how late "days waiting" or a session's end may show) and never past midnight; 0: off (app.response_cache).
    page_cache_seconds: float = Field(default=60.0, ge=0)
    # Memory each worker may keep such pages in.
    page_cache_megabytes: int = Field(default=64, gt=0)
    # Absolute address of the app as people reach it; mails link to it (deep links, "change your preferences").
    base_url: str = "http://127.0.0.1:8000"
    # Outgoing mail. Without a host (the demo default) nothing is sent: messages wait in the outbox, readable by
    # administrators at /admin/outbox, and go out once a host is set.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "MC-QA <mcqa@localhost>"
    # Hour of the day (UTC) after which people who chose a daily digest get it.
    digest_hour: int = Field(default=7, ge=0, le=23)

    @model_validator(mode="after")
    def _refuse_default_key_in_production(self) -> Settings:
        if self.mode is Mode.production and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(
                "MCQA_SECRET_KEY must be set to a long random value in production mode "
                "(the built-in development key is refused)."
            )
        if self.mode is Mode.production and not self.cookie_secure and not self.allow_insecure_cookies:
            raise ValueError(
                "MCQA_COOKIE_SECURE must be true in production mode (serve over HTTPS), "
                "or set MCQA_ALLOW_INSECURE_COOKIES=true to run without Secure cookies anyway."
            )
        return self

    @property
    def session_cookie_name(self) -> str:
        # __Host-: the browser accepts the cookie only over HTTPS, for this host alone, with Path=/ (no subdomain
        # or sibling path can set or shadow it).
        return "__Host-mcqa_session" if self.cookie_secure else "mcqa_session"

    @property
    def csrf_cookie_name(self) -> str:
        return "__Host-csrftoken" if self.cookie_secure else "csrftoken"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
