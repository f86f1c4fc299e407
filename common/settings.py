"""The one settings class. Every program builds it once at start-up and passes it down."""

from __future__ import annotations

import ipaddress
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated


def _default_data_dir() -> Path:
    # systemd's StateDirectory= hands the path over in $STATE_DIRECTORY; a checkout uses ./var.
    state = os.environ.get("STATE_DIRECTORY")
    return Path(state.split(":")[0]) if state else Path("var")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(Exception):
    """Raised with a one-line message that names the bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KURA_", extra="ignore", frozen=True)

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir)
    database_path: Path | None = None  # default: DATA_DIR/kura.db
    metrics_path: Path | None = None  # default: DATA_DIR/metrics.db
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    sqlite_busy_timeout_ms: int = Field(5000, ge=100, le=600_000)
    # How long a request waits for the single write turn before it answers 503 with Retry-After.
    write_wait_s: float = Field(5.0, gt=0, le=600)

    # --- API server ----------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    allow_public_bind: bool = False
    api_threads: int = Field(8, ge=1, le=256)  # worker threads (and pooled connections) for reads
    max_body_bytes: int = Field(1_048_576, ge=1024)
    import_max_bytes: int = Field(64 * 1_048_576, ge=1024)
    list_limit_max: int = Field(200, ge=1, le=1000)
    search_index: bool = True  # relevance search on the derived index in DATA_DIR/search-index; off: FTS5 only
    slow_request_ms: float = Field(200.0, gt=0)
    slow_sql_ms: float = Field(50.0, gt=0)
    auth_fail_limit: int = Field(10, ge=1)
    auth_fail_window_s: float = Field(60.0, gt=0)
    access_log: bool = False
    metrics_anonymous_loopback: bool = False
    # Addresses or networks (comma-separated) of reverse proxies whose X-Forwarded-For / -Proto are
    # believed; default none, so no client can pick the address the failed-login limiter sees.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_header_bytes: int = Field(32 * 1024, ge=1024, le=1_048_576)  # request line + headers; more: 431
    header_timeout_s: float = Field(10.0, gt=0, le=600)  # to send a request's headers; then 408 and close
    server_timing: bool = False  # Server-Timing on every answer; without it only admins' answers carry it
    # Origins (scheme://host[:port], comma-separated, or *) whose web pages and browser extensions may
    # call the API; the browser refuses every other origin's requests (no CORS headers are sent).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # --- web interface (api/web) ----------------------------------------------------------
    web_session_days: float = Field(30.0, gt=0, le=365)  # a sign-in lasts this long without use
    # /add with only a URL fetches the page's title and description (short timeout, size cap, http/s).
    web_fetch_meta: bool = True
    web_fetch_timeout_s: float = Field(5.0, gt=0, le=60)
    web_fetch_max_bytes: int = Field(1_048_576, ge=1024, le=16 * 1_048_576)
    # Off: a fetch never reaches private, loopback or link-local addresses (no probing the LAN).
    web_fetch_private: bool = False

    # --- logging and error reporting ----------------------------------------------------
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool = False
    sentry_dsn: str | None = None
    sentry_environment: str = "production"
    sentry_release: str | None = None
    sentry_traces_sample_rate: float = Field(0.0, ge=0.0, le=1.0)

    # --- email (shared by backup failures, monitor alerts and unit failures) ------------
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = Field(10.0, gt=0)
    mail_from: str = "kura@localhost"
    mail_to: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # --- backup ----------------------------------------------------------------------------
    backup_dir: Path | None = None  # default: DATA_DIR/backups
    backup_keep_daily: int = Field(7, ge=0)
    backup_keep_weekly: int = Field(4, ge=0)
    backup_keep_monthly: int = Field(12, ge=0)
    backup_max_age_hours: float = Field(26.0, gt=0)
    backup_zstd_level: int = Field(1, ge=1, le=22)  # level 1 on 2 threads: a 1 GB backup within 20 s
    # A source that lost more than this share of any table's rows since the last backup is refused.
    backup_shrink_limit_percent: float = Field(50.0, gt=0, le=100)
    sentry_backup_monitor_slug: str = "kura-backup"

    # --- monitor ---------------------------------------------------------------------------
    monitor_interval: float = Field(10.0, ge=0.05)
    monitor_raw_retention_days: float = Field(7.0, gt=0)
    monitor_rollup_retention_days: float = Field(365.0, gt=0)
    monitor_probe_timeout_s: float = Field(2.0, gt=0)
    monitor_api_url: str = "http://127.0.0.1:8000"
    alert_cpu_percent: float = Field(90.0, gt=0, le=100)
    alert_cpu_for_s: float = Field(300.0, ge=0)
    alert_memory_available_percent: float = Field(10.0, ge=0, le=100)
    alert_disk_free_percent: float = Field(10.0, ge=0, le=100)
    alert_disk_free_critical_percent: float = Field(5.0, ge=0, le=100)
    alert_readyz_failures: int = Field(3, ge=1)
    alert_process_rss_mb: float = Field(512.0, gt=0)
    alert_remind_s: float = Field(3600.0, gt=0)

    @field_validator("mail_to", "cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_only(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", origin, re.I):
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], no path or slash")
        return [origin.lower() for origin in value]  # browsers send the Origin header in lower case

    @field_validator("trusted_proxies")
    @classmethod
    def _networks_only(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8)") from None
        return value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if not _is_loopback(self.host) and not self.allow_public_bind:
            raise ValueError(
                f"KURA_HOST={self.host} exposes the API beyond this host; put a TLS proxy in front "
                "and set KURA_ALLOW_PUBLIC_BIND=true to confirm"
            )
        if (
            self.smtp_password
            and self.smtp_security == "none"
            and self.smtp_host
            and not _is_loopback(self.smtp_host)
        ):
            raise ValueError(
                "KURA_SMTP_PASSWORD would be sent in clear text: set KURA_SMTP_SECURITY to starttls or ssl"
            )
        if self.alert_disk_free_critical_percent > self.alert_disk_free_percent:
            raise ValueError(
                "KURA_ALERT_DISK_FREE_CRITICAL_PERCENT must not exceed KURA_ALERT_DISK_FREE_PERCENT"
            )
        return self

    # --- derived paths ---------------------------------------------------------------------
    @cached_property
    def db_path(self) -> Path:
        return self.database_path or self.data_dir / "kura.db"

    @cached_property
    def metrics_db_path(self) -> Path:
        return self.metrics_path or self.data_dir / "metrics.db"

    @cached_property
    def search_index_path(self) -> Path:
        """The derived search index (domain/searchindex): beside the database, rebuilt from it."""
        return self.data_dir / "search-index"

    @cached_property
    def backups_path(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def mail_configured(self) -> bool:
        return bool(self.smtp_host and self.mail_to)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = "_".join(str(part) for part in err["loc"]).upper()
            name = f"KURA_{loc}" if loc else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
