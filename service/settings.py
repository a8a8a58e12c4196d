"""Configuration, from ``AGENTQ_*`` environment variables (and a ``.env`` file if present)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.approvals import DEFAULT_EXPIRES_IN_S, MAX_EXPIRES_IN_S
from domain.model import RetryPolicy
from domain.timing import MAX_BASE_SECONDS, MAX_MAX_SECONDS

__all__ = ["Settings", "get_settings"]


def _port_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """``"80,443,8000-8100"`` -> ``((80, 80), (443, 443), (8000, 8100))``; ValueError if bad."""
    ranges = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        first, _, last = item.partition("-")
        if not (first.isdigit() and (last.isdigit() or not last)):
            raise ValueError(f"not a port or a port range: {item!r}")
        low, high = int(first), int(last or first)
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"ports are 1-65535, low to high: {item!r}")
        ranges.append((low, high))
    if not ranges:
        raise ValueError("name at least one port")
    return tuple(ranges)


class Settings(BaseSettings):
    """Every knob agentq has. Nothing set = the embedded default (SQLite, in-process broker)."""

    model_config = SettingsConfigDict(env_prefix="AGENTQ_", env_file=".env", extra="ignore")

    #: TCP port of the HTTP API.
    port: int = 3100
    #: Interface the HTTP API binds to.
    host: str = "127.0.0.1"
    #: The operator token. Unset in the embedded mode: generated once, kept in ``data_dir``.
    admin_token: str | None = None
    #: SQLAlchemy URL; unset = a SQLite file in ``data_dir``. ``postgresql://`` is accepted.
    database_url: str | None = None
    #: RabbitMQ URL (``amqp://…``); unset = Dramatiq's in-process broker (embedded mode).
    broker_url: str | None = None
    #: Redis URL for command results; required with ``broker_url``.
    redis_url: str | None = None
    #: Where the embedded mode keeps its SQLite file and generated operator token.
    data_dir: Path = Path(".agentq")
    #: How long a write waits for its command's result before answering 202, in ms.
    command_wait_ms: int = Field(default=10_000, ge=0, le=120_000)
    #: Number of command shard queues; each is applied by one thread at a time.
    command_shards: int = Field(default=8, ge=1, le=256)
    #: Most commands of a shard a commands worker applies in one transaction (those already
    #: waiting: a lone command is applied at once); 1 applies each in its own, as Dramatiq's
    #: worker does. At most 64: each command is a savepoint, and PostgreSQL caches 64
    #: subtransactions per transaction (past that, every snapshot of the database slows).
    #: 1 by default until a benchmark on a quiet machine shows batches pay (docs/architecture.md).
    command_batch: int = Field(default=1, ge=1, le=64)
    #: Bulks applied as per-shard slices (``ApplyBulkSlice``: one transaction per 32 items);
    #: off: one command per item. Off by default until a single command beside a running
    #: bulk is shown never to stall behind it (docs/architecture.md, "Bulks in slices").
    bulk_slices: bool = False
    #: A publish to the broker (connecting if need be, and RabbitMQ's confirm) that has not
    #: completed within this long fails, in seconds: the API answers 503, and the connection
    #: it was on is dropped, so nothing of it goes on after the answer (the API's publisher,
    #: ``workers.async_publisher``, and every blocking one, ``workers.broker``).
    publish_timeout_s: float = Field(default=5.0, gt=0, le=60)
    #: How long an API process trusts a token it has looked up, in seconds (0: never cached).
    #: A revoked token stops working at once on the API process that revoked it, and within
    #: this long on the others.
    auth_cache_s: float = Field(default=2.0, ge=0, le=60)
    #: Requests each company token may make per ``rate_limit_window_s`` (0: no limit); the
    #: operator token is not limited. Shared by every API process (Redis) when distributed.
    rate_limit: int = Field(default=1200, ge=0)
    #: The rate limit's window, in seconds.
    rate_limit_window_s: float = Field(default=10.0, gt=0, le=3600)
    #: How long an approval waits for a decision when its request names no
    #: ``expiresInSeconds``, in seconds; then it expires.
    approval_timeout_s: int = Field(default=DEFAULT_EXPIRES_IN_S, ge=1, le=MAX_EXPIRES_IN_S)
    #: The first retry after a retryable failure or an expired lease waits up to this long,
    #: in seconds (0: retry at once); each later retry up to twice as long as the one before
    #: (full jitter: a uniform draw up to that), for issues without their own ``retryPolicy``.
    retry_base_s: int = Field(default=10, ge=0, le=MAX_BASE_SECONDS)
    #: No retry waits longer than this, in seconds (the backoff's cap).
    retry_max_s: int = Field(default=600, ge=0, le=MAX_MAX_SECONDS)
    #: How often the scheduler sweeps expired leases and dispatches, in seconds.
    sweep_interval_s: float = Field(default=5.0, gt=0)
    #: Log level of every process.
    log_level: str = "INFO"
    #: ``json``: one JSON object per line (with a stable ``action`` key and the company,
    #: issue, command and run ids); ``text``: one readable line (time, level, logger,
    #: message, then ``key=value`` fields), for a terminal; ``auto``: ``text`` when stderr
    #: is a terminal, else ``json``.
    log_format: Literal["auto", "json", "text"] = "auto"
    #: Port of a worker or scheduler process's Prometheus ``/metrics`` (unset: not served).
    #: The API serves ``/metrics`` on its own port.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: Declare RabbitMQ queues as quorum queues (replicated; for a RabbitMQ cluster).
    quorum_queues: bool = False
    #: Let webhooks reach private, loopback and link-local addresses (tests, local use).
    webhook_allow_private: bool = False
    #: Ports a webhook URL may name, comma-separated; ``a-b`` is a range (both ends in it).
    #: Other ports are refused, so deliveries cannot be used to probe a host's services.
    webhook_allowed_ports: str = "80,443,8080,8443"
    #: Delays before each delivery attempt, in seconds, comma-separated; jittered ±10%.
    webhook_retry_schedule_s: str = "0,5,300,1800,7200,18000,36000,36000"
    #: A receiver has this long to answer 2xx, in seconds.
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    #: An endpoint failing without a success for this long is disabled, in seconds (5 days).
    webhook_disable_after_s: float = Field(default=5 * 24 * 3600, gt=0)
    #: Threads of the webhooks pool (deliveries run in parallel, a few per endpoint at most).
    webhook_threads: int = Field(default=16, ge=1, le=256)
    #: How long a stopping worker waits for its in-flight messages before giving them back
    #: unacked (RabbitMQ redelivers them), in seconds. Keep it under the orchestrator's grace.
    stop_timeout_s: float = Field(default=15.0, gt=0, le=600)

    #: An HTTP request's line and headers must arrive within this long, in seconds (else
    #: 408); an idle connection that never sends a byte is closed after it as well.
    header_timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: An HTTP request's body must arrive within this long of its headers, in seconds
    #: (else 408). At the 1 MiB body limit that is at least 35 KB/s.
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    #: Longest request line (method, path and query), in bytes (else 414).
    max_request_line_bytes: int = Field(default=8 * 1024, ge=1024, le=1024 * 1024)
    #: Longest request head (request line and every header), in bytes (else 431).
    max_header_bytes: int = Field(default=32 * 1024, ge=4 * 1024, le=1024 * 1024)
    #: Open HTTP connections per API process; past it a new one is answered 503 with
    #: ``Retry-After`` and closed.
    max_connections: int = Field(default=1000, ge=1, le=100_000)

    #: An event stream with nothing to send writes a comment line this often, in seconds,
    #: so that proxies do not close it as idle.
    events_keepalive_s: float = Field(default=15.0, gt=0, le=300)
    #: An event stream reads the activity table at least this often, in seconds, even with
    #: no notification (a lost one only delays).
    events_poll_s: float = Field(default=5.0, gt=0, le=300)
    #: An event stream whose client has not taken what the server holds for it (the socket's
    #: buffer) within this long, in seconds, is closed; the client resumes with Last-Event-ID.
    events_send_timeout_s: float = Field(default=30.0, gt=0, le=600)
    #: The server ends an event stream after this long, in seconds (the client resumes with
    #: Last-Event-ID, maybe on another replica: streams spread again after a scale-out).
    events_max_s: float = Field(default=3600.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _distributed_needs_redis(self) -> Settings:
        if self.broker_url and not self.redis_url:
            raise ValueError("AGENTQ_BROKER_URL needs AGENTQ_REDIS_URL (where results go)")
        return self

    @field_validator("webhook_allowed_ports")
    @classmethod
    def _port_list(cls, value: str) -> str:
        _port_ranges(value)  # a typo fails at start, not at the first webhook
        return value

    @property
    def webhook_ports(self) -> tuple[tuple[int, int], ...]:
        """``webhook_allowed_ports`` as inclusive ``(first, last)`` ranges."""
        return _port_ranges(self.webhook_allowed_ports)

    @property
    def retry_schedule_s(self) -> tuple[float, ...]:
        return tuple(float(x) for x in self.webhook_retry_schedule_s.split(",") if x.strip())

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry backoff of issues that name none."""
        return RetryPolicy(self.retry_base_s, self.retry_max_s)

    @property
    def distributed(self) -> bool:
        """True when commands cross processes (RabbitMQ + Redis), False when embedded."""
        return bool(self.broker_url)

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite:///{self.data_dir / 'agentq.db'}"
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
