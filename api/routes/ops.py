"""The index, health, readiness and metrics."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.io import json_response, problem_response
from api.openapi import OPEN, reads
from api.services import services
from service.answers.common import Health, Index

__all__ = ["ROUTES"]

#: Where ``GET /`` points a newcomer.
INDEX = {
    "name": "agentq",
    "docs": "/schema/swagger",
    "openapi": "/schema/openapi.json",
    "reference": "docs/api.md in the agentq repository",
}


@get("/", operation_id="ops_index", tags=["ops"], **reads(OPEN, auth=False))
async def index() -> Response[Index]:
    """Where to read about the API

    Links to Swagger UI, the OpenAPI document and the reference in the repository."""
    return json_response(INDEX)


@get("/health", operation_id="ops_health", tags=["ops"], **reads(OPEN, auth=False))
async def health() -> Response[Health]:
    """Liveness

    200 while the process serves requests (it checks nothing else)."""
    return json_response({"status": "ok"})


@get("/ready", operation_id="ops_ready", tags=["ops"], **reads((503,), auth=False))
async def ready(request: Request[Any, Any, Any]) -> Response[Health]:
    """Readiness

    200 only when the database, the broker and the result store answer; else 503 naming
    what is down."""
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
    """Prometheus text format: this process's metrics (``service.observability.metrics``),
    the request metrics and the queue depths. In a thread: the depths are read from the broker."""
    return Response(
        generate_latest(REGISTRY),
        media_type=METRICS_MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [index, health, ready, metrics]
