"""All configuration in one pydantic-settings class, read once at start and passed down."""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dispatch.core.databases import plain_url, sqlalchemy_url
from dispatch.core.logs import LogFormat

MIN_SECRET_LENGTH = 32
DEMO_SECRET_KEY = "siaga112-demo-secret-key-not-for-production-use"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one sentence meant for the operator."""


class Shift:
    """A named shift starting at a local wall-clock time; it ends where the next one starts."""

    def __init__(self, name: str, start: time) -> None:
        self.name = name
        self.start = start

    def __repr__(self) -> str:
        return f"Shift({self.name!r}, {self.start.isoformat('minutes')})"


class Settings(BaseSettings):
    """Environment variables: DATABASE_URL, and DISPATCH_* for everything else."""

    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore", populate_by_name=True)

    database_url: str = Field(validation_alias="DATABASE_URL")
    secret_key: str | None = None
    demo_mode: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8112, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    # permessage-deflate compresses every frame once per connection and keeps a zlib
    # context per connection; feed frames are ~1.7 kB, a few a minute per agency.
    ws_per_message_deflate: bool = False
    timezone: str = "Asia/Jakarta"
    region_prefix: str = "MJK"
    phone_region: str = "ID"
    shifts: Annotated[list[tuple[str, str]], NoDecode] = Field(
        default=[("pagi", "07:00"), ("siang", "15:00"), ("malam", "23:00")]
    )
    ack_timeout_s: Annotated[list[int], NoDecode] = Field(default=[60, 120, 300, 600])
    escalation_sweep_interval_s: float = Field(1.0, gt=0)
    token_ttl_s: int = Field(8 * 3600, gt=0)
    aml_match_window_s: int = Field(900, gt=0)
    duplicate_radius_m: float = Field(500.0, ge=0)
    duplicate_window_s: int = Field(3600, ge=0)
    nearest_max_m: float = Field(25_000.0, ge=0)
    max_body_bytes: int = Field(64 * 1024, gt=0)
    feed_queue_size: int = Field(1000, ge=1)
    # Open WebSockets per account across every process and host; the next is closed 4429.
    max_sockets_per_user: int = Field(20, ge=1)
    # Unit position history kept for incidents' records (dispatch/units/retention.py).
    position_retention_days: float = Field(30.0, gt=0)
    stats_interval_s: float = Field(5.0, gt=0)
    rate_limit_per_s: float = Field(50.0, gt=0)
    rate_limit_burst: int = Field(200, ge=1)
    rate_limit_sync_s: float = Field(0.2, gt=0)
    # Failed log-ins from one source address, across all accounts and processes, before
    # that address must wait: a command room behind one NAT address shares the allowance.
    login_failures_per_address: int = Field(30, ge=1)
    login_failure_window_s: int = Field(600, gt=0)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); from any
    # other peer the header is ignored.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list)
    idempotency_wait_s: float = Field(10.0, gt=0)
    # A fixed pool: overflow connections are opened and closed per burst, and opening one
    # (with its SSL attempt) costs more than the intake it serves.
    db_pool_size: int = Field(20, ge=1)
    db_max_overflow: int = Field(0, ge=0)
    # Pool connections each worker opens and prepares before it serves (db.warm_pool).
    db_warm_connections: int = Field(8, ge=0)
    db_statement_timeout_ms: int = Field(10_000, ge=0)
    db_connect_timeout_s: float = Field(3.0, gt=0)
    log_level: str = "INFO"
    log_format: LogFormat = "text"

    @field_validator("database_url")
    @classmethod
    def _database_url_is_asyncpg(cls, value: str) -> str:
        if not value.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
            raise ValueError("must be a postgresql:// or postgresql+asyncpg:// URL")
        # Also a multi-host libpq URL (db1:5432,db2:5432) → SQLAlchemy's ?host= form.
        return sqlalchemy_url(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: object) -> object:
        """`10.0.0.5,10.1.0.0/16` (the form used in the environment)."""
        if isinstance(value, str):
            return [ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip()]
        return value

    @field_validator("shifts", mode="before")
    @classmethod
    def _parse_shifts(cls, value: object) -> object:
        """`pagi=07:00,siang=15:00,malam=23:00` (the form used in the environment)."""
        if not isinstance(value, str):
            return value
        pairs = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, start = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"shift {part!r} is not NAME=HH:MM")
            pairs.append((name.strip(), start.strip()))
        return pairs

    @field_validator("shifts")
    @classmethod
    def _check_shifts(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if not value:
            raise ValueError("at least one shift is needed")
        for name, start in value:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise ValueError(f"shift name {name!r} may hold only letters, digits, - and _")
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", start):
                raise ValueError(f"shift start {start!r} is not HH:MM")
        starts = [s for _, s in value]
        if len(set(starts)) != len(starts) or len({n for n, _ in value}) != len(value):
            raise ValueError("shift names and start times must be distinct")
        return value

    @field_validator("ack_timeout_s", mode="before")
    @classmethod
    def _parse_timeouts(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return [int(p) for p in value.split(",") if p.strip()]
            except ValueError as exc:
                raise ValueError(
                    "must be four whole numbers of seconds, e.g. 60,120,300,600"
                ) from exc
        return value

    @field_validator("ack_timeout_s")
    @classmethod
    def _check_timeouts(cls, value: list[int]) -> list[int]:
        if len(value) != 4 or any(v <= 0 for v in value):
            raise ValueError("must be four positive seconds, one per priority 1..4")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as Asia/Jakarta") from exc
        return value

    @field_validator("region_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{2,6}", value):
            raise ValueError("must be 2-6 capital letters, e.g. MJK")
        return value

    @model_validator(mode="after")
    def _secret_outside_demo(self) -> Settings:
        if self.secret_key is None:
            if not self.demo_mode:
                raise ValueError(
                    "DISPATCH_SECRET_KEY is not set (give a random string of at least "
                    f"{MIN_SECRET_LENGTH} characters, or set DISPATCH_DEMO_MODE=1 for a demo)"
                )
            self.secret_key = DEMO_SECRET_KEY
        elif len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ValueError(f"DISPATCH_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        return self

    @property
    def signing_key(self) -> str:
        """The JWT key: the configured one, or the demo key in demo mode (validation
        guarantees one of the two)."""
        if self.secret_key is None:
            raise RuntimeError("settings were built without validation")
        return self.secret_key

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def shift_list(self) -> list[Shift]:
        """Shifts sorted by start time."""
        parsed = [Shift(n, time.fromisoformat(s)) for n, s in self.shifts]
        return sorted(parsed, key=lambda s: s.start)

    def ack_timeout_for(self, priority: int) -> int:
        return self.ack_timeout_s[min(max(priority, 1), 4) - 1]

    @property
    def sync_database_url(self) -> str:
        """The same database as a plain libpq URL (for psql, pg_dump and asyncpg.connect),
        every host and parameter kept (target_session_attrs)."""
        return plain_url(self.database_url)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation failure into one readable sentence.

    `overrides` are field values of any type: pydantic validates them like the environment's."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        # Aliased fields (DATABASE_URL) are reported under their alias already.
        env = field if field.isupper() else f"DISPATCH_{field.upper()}"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "is not set"
        if field:
            raise SettingsError(f"{env} {message}.") from None
        raise SettingsError(f"{message}.") from None
