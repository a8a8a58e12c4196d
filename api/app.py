"""The composition root: ``create_app()`` builds every part and wires them together once."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from dramatiq.broker import Broker
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from api.auth import TokenCache
from api.body import BodyModels, JsonRequest
from api.console import ROUTER as CONSOLE
from api.console import TEMPLATES as CONSOLE_TEMPLATES
from api.docs_ui import openapi_config
from api.errors import EXCEPTION_HANDLERS
from api.io import CLIENT_GONE, LOG_FIELDS
from api.openapi import TAGS, ModelReferences, finish_document
from api.ratelimit import RateLimitHeaders
from api.routes import (
    budgets,
    bulk,
    events,
    issues,
    me,
    ops,
    org,
    oversight,
    routines,
    runs,
    webhooks,
)
from api.routing import DEPENDENCIES, answer_options, check_request, company_router, sane_path
from api.services import Services
from service.commands.replies import MemoryResults, RedisResults, ResultWaiter
from service.events.hub import EventHub
from service.ids import new_id
from service.kinds import BY_PATH_PARAM
from service.migrate import upgrade
from service.observability import metrics, queue_depths
from service.observability.logs import configure_logging
from service.ratelimit import make_rate_limiter
from service.reads.pagination import cursor_key
from service.settings import Settings, get_settings
from workers.async_publisher import make_publisher
from workers.bootstrap import Process, bootstrap
from workers.broker import COMMAND_QUEUE_PREFIX, PoolWorker
from workers.bulk import BULK_QUEUE
from workers.scheduler import Scheduler
from workers.webhooks import WEBHOOKS_QUEUE

__all__ = ["admin_token", "create_app"]

log = logging.getLogger("agentq")
#: One ``http_request`` line per request.
request_log = logging.getLogger("agentq.http")

#: Request bodies larger than this are refused with 413.
MAX_BODY_BYTES = 1024 * 1024


def admin_token(settings: Settings) -> str:
    """``AGENTQ_ADMIN_TOKEN``, or (embedded only) one generated once and kept in ``data_dir``."""
    if settings.admin_token:
        return settings.admin_token
    if settings.distributed:
        raise RuntimeError(
            "set AGENTQ_ADMIN_TOKEN: every API process must share the operator token"
        )
    path: Path = settings.data_dir / "admin_token"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = "aq_op_" + secrets.token_urlsafe(24)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token


#: Path parameter -> the log field naming it on a request's line (``service.kinds``).
_PATH_ID_FIELDS = {p: k.log_field for p, k in BY_PATH_PARAM.items() if k.log_field}


class RequestLog:
    """Wraps the whole application (so unknown routes count too): one ``http_request`` line
    per request, with the method, route template, status, duration, the ids in the path and
    the command the request submitted (``api.io.log_fields``). Notes in the scope when the
    client went away before its request was read (``api.errors`` then answers 499)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def receive_and_note() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope.setdefault("state", {})[CLIENT_GONE] = True
            return message

        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive_and_note, send_and_note)
        finally:
            if request_log.isEnabledFor(logging.INFO):
                seconds = time.perf_counter() - started
                _log_request(cast(dict[str, Any], scope), status, seconds, request_id.decode())


#: A client's ``X-Request-Id`` is kept when it is this long at most and printable ASCII.
MAX_REQUEST_ID = 200


def _request_id(scope: Scope) -> bytes:
    """The client's ``X-Request-Id`` if it is a sane one, else a new ``req_`` id: echoed on
    the answer and written on the request's log line, to find one from the other."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if 0 < len(value) <= MAX_REQUEST_ID and all(32 < b < 127 for b in value):
                return bytes(value)
            break
    return new_id("req").encode()


def _log_request(scope: dict[str, Any], status: int, seconds: float, request_id: str) -> None:
    method, path = scope.get("method", ""), scope.get("path", "")
    duration_ms = round(seconds * 1000, 2)
    extra: dict[str, Any] = {
        "action": "http_request",
        "request_id": request_id,
        "method": method,
        "route": scope.get("path_template"),
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
    }
    for name, value in (scope.get("path_params") or {}).items():
        field = _PATH_ID_FIELDS.get(name)
        if field is not None and isinstance(value, str):
            extra[field] = value
    extra.update((scope.get("state") or {}).get(LOG_FIELDS) or {})
    request_log.info("%s %s %d %.1fms", method, path, status, duration_ms, extra=extra)


#: Request metrics: ``agentq_request_duration_seconds`` and friends
#: (see ``service.observability.metrics``).
PROMETHEUS = PrometheusConfig(
    app_name="agentq",
    prefix="agentq",
    group_path=True,  # labelled by route template, not by path: one series per route
    buckets=list(metrics.LATENCY_BUCKETS),
    exclude=["^/metrics$"],
)


#: Every route below ``/v1/companies/{cid}``.
COMPANY_ROUTES = company_router(
    [
        org.CompanyController,
        org.TokenController,
        org.TeamController,
        org.AgentController,
        org.CommandController,
        issues.IssueController,
        issues.CommentController,
        issues.IssueRunController,
        runs.claim,
        runs.RunController,
        runs.review,
        oversight.RunOversight,
        oversight.CostController,
        budgets.BudgetController,
        oversight.ApprovalController,
        oversight.ActivityController,
        events.EventController,
        events.IssueEventController,
        webhooks.WebhookController,
        bulk.BulkController,
        routines.RoutineController,
    ]
)


def _queue_depths(
    settings: Settings, broker: Broker
) -> tuple[queue_depths.QueueReader, Callable[[], None]]:
    """What reads the depth of each queue at a scrape (the command shards, ``webhooks``,
    ``bulk``), and how to close it: RabbitMQ's counts, or the in-process stub's sizes."""
    pools = {WEBHOOKS_QUEUE: "webhooks", BULK_QUEUE: "bulk"}
    for queue in broker.get_declared_queues():
        if queue.startswith(COMMAND_QUEUE_PREFIX) and not queue.endswith(".DQ"):
            pools[queue] = "commands"
    if settings.broker_url:
        reader = queue_depths.RabbitQueueReader(settings.broker_url, pools)
        return reader, reader.close
    return queue_depths.stub_queue_reader(broker, pools), lambda: None


def _services(proc: Process, results: ResultWaiter) -> Services:
    settings = proc.settings
    operator_token = admin_token(settings)
    return Services(
        settings=settings,
        engine=proc.engine,
        bus=proc.bus,
        results=results,
        publisher=make_publisher(proc.broker),
        admin_token=operator_token,
        cursor_key=cursor_key(operator_token),
        tokens=TokenCache(settings.auth_cache_s),
        limiter=make_rate_limiter(
            settings.rate_limit, settings.rate_limit_window_s, settings.redis_url
        ),
    )


def _embedded(proc: Process, memory: MemoryResults) -> tuple[list[PoolWorker], Scheduler]:
    """The embedded mode's pools, in this process: the workers and the scheduler."""
    proc.apply_commands(memory.publish)
    proc.deliver_webhooks()
    proc.run_bulks()
    declared = proc.broker.get_declared_queues()
    commands = {q for q in declared if q.startswith(COMMAND_QUEUE_PREFIX)}
    # SQLite has one writer: one thread applies every shard, in order. Deliveries wait on
    # receivers: their own threads, never the commands thread.
    workers = [
        PoolWorker(proc.broker, queues=commands, worker_threads=1),
        PoolWorker(
            proc.broker,
            queues={WEBHOOKS_QUEUE, BULK_QUEUE},
            worker_threads=proc.settings.webhook_threads,
        ),
    ]
    return workers, proc.scheduler()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings)
    proc = bootstrap(settings, pool_size=20)
    queue_reader, close_queue_reader = _queue_depths(settings, proc.broker)
    results: ResultWaiter
    workers: list[PoolWorker] = []
    scheduler: Scheduler | None = None
    stop_scheduler = threading.Event()
    if settings.distributed:
        assert settings.redis_url is not None
        results = RedisResults(settings.redis_url)
    else:
        memory = MemoryResults()
        results = memory
        workers, scheduler = _embedded(proc, memory)
    svc = _services(proc, results)
    hub = EventHub(proc.engine, settings.database_url)

    async def startup(app: Litestar) -> None:
        if not settings.distributed:
            upgrade(settings)
        await results.start()
        for worker in workers:
            worker.start()
        if scheduler is not None:
            threading.Thread(
                target=scheduler.run, args=(stop_scheduler,), name="scheduler", daemon=True
            ).start()
        app.state.services = svc
        app.state.event_hub = hub
        await hub.start()
        queue_depths.watch_queues(queue_reader)

    async def shutdown(_: Litestar) -> None:
        queue_depths.watch_queues(None)
        await hub.stop()
        close_queue_reader()
        stop_scheduler.set()
        for worker in reversed(workers):
            worker.stop()
        await results.stop()
        await svc.aclose()
        proc.close()

    app = Litestar(
        # The web console (``api.console``) at /ui: no part of the /v1 contract or document.
        route_handlers=[org.create_company, *me.ROUTES, COMPANY_ROUTES, *ops.ROUTES, CONSOLE],
        template_config=CONSOLE_TEMPLATES,
        request_class=JsonRequest,
        plugins=[BodyModels(), ModelReferences()],
        guards=[sane_path],
        before_request=check_request,
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[startup],
        on_shutdown=[shutdown],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(TAGS),
        middleware=[PROMETHEUS.middleware],
        # Logging is ``configure_logging``'s: Litestar's own config would replace the root
        # logger's handlers and level. Errors are logged by ``api.errors``.
        logging_config=None,
        debug=False,
    )
    return _finished(app)


def _finished(app: Litestar) -> Litestar:
    # The document is built now, so a mistake in it fails at start; served as built.
    finish_document(app)
    answer_options(app)
    app.asgi_handler = RateLimitHeaders(RequestLog(app.asgi_handler))
    return app
