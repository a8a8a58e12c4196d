"""Health, readiness and metrics."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.io import json_response, problem_response
from api.openapi import documented
from api.resources import Health, Index
from api.services import services

__all__ = ["ROUTES"]


#: Where ``GET /`` points a newcomer.
INDEX = {
    "name": "agentq",
    "docs": "/schema/swagger",
    "openapi": "/schema/openapi.json",
    "reference": "docs/api.md in the agentq repository",
}


@get("/", operation_class=documented(answers={200: Index}, errors=(), auth=False))
async def index() -> Response[Any]:
    return json_response(INDEX)


@get("/health", operation_class=documented(answers={200: Health}, errors=(), auth=False))
async def health() -> Response[Any]:
    return json_response({"status": "ok"})


@get("/ready", operation_class=documented(answers={200: Health}, errors=(503,), auth=False))
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    """200 only when the database, the broker and the result store answer."""
    svc = services(request)

    def check() -> list[str]:
        down = []
        try:
            with svc.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception:
            down.append("database")
        try:
            svc.bus.ping()
        except Exception:
            down.append("broker")
        if not svc.results.ping():
            down.append("results")
        return down

    down = await anyio.to_thread.run_sync(check)
    if down:
        return problem_response("unavailable", f"down: {', '.join(down)}", down=down)
    return json_response({"status": "ready"})


#: Prometheus's text format; Litestar adds the charset itself.
METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.split(";charset")[0].split("; charset")[0]


@get("/metrics", sync_to_thread=True, include_in_schema=False)
def metrics() -> Response[bytes]:
    """Prometheus text format: this process's metrics (``service.metrics``), the request
    metrics and the queue depths. In a thread: the depths are read from the broker."""
    return Response(
        generate_latest(REGISTRY),
        media_type=METRICS_MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [index, health, ready, metrics]
