"""Operations on routines: issues created on a cron schedule. One method per operationId."""

# The sync twin (_sync_*.py) is written from this file by `python -m api.sdk_models`.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentq_client._async_transport import AsyncBase
from agentq_client._http import body_of, query, seg
from agentq_client.models import (
    Routine,
    RoutineCreate,
    RoutinePage,
    RoutinePatch,
    RoutineRunPage,
)

__all__ = ["AsyncRoutineOperations"]

Body = Mapping[str, Any]


class AsyncRoutineOperations(AsyncBase):
    async def routines_list(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> RoutinePage:
        """`GET …/routines`."""
        path = await self._co("/routines")
        return await self._get(RoutinePage, path, query(cursor=cursor, limit=limit))

    async def routines_create(
        self, body: RoutineCreate | Body, *, idempotency_key: str | None = None
    ) -> Routine:
        """`POST …/routines`: from its next tick on, each tick creates an issue."""
        data = body_of(RoutineCreate, body)
        path = await self._co("/routines")
        return await self._write(Routine, "POST", path, data, idempotency_key)

    async def routines_get(self, rtid: str) -> Routine:
        """`GET …/routines/{rtid}`."""
        return await self._get(Routine, await self._co(f"/routines/{seg(rtid)}"))

    async def routines_update(
        self, rtid: str, body: RoutinePatch | Body, *, idempotency_key: str | None = None
    ) -> Routine:
        """`PATCH …/routines/{rtid}`: pause, resume, or change it."""
        data = body_of(RoutinePatch, body)
        path = await self._co(f"/routines/{seg(rtid)}")
        return await self._write(Routine, "PATCH", path, data, idempotency_key)

    async def routines_delete(self, rtid: str, *, idempotency_key: str | None = None) -> None:
        """`DELETE …/routines/{rtid}`: the issues it created stay."""
        path = await self._co(f"/routines/{seg(rtid)}")
        await self._write_empty("DELETE", path, idempotency_key)

    async def routines_runs(
        self, rtid: str, *, cursor: str | None = None, limit: int | None = None
    ) -> RoutineRunPage:
        """`GET …/routines/{rtid}/runs`: the issues its ticks created."""
        path = await self._co(f"/routines/{seg(rtid)}/runs")
        return await self._get(RoutineRunPage, path, query(cursor=cursor, limit=limit))
