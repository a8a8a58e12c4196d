# Written from _async_ops_routines.py by `python -m api.sdk_models`: edit that file, not this one.
"""Operations on routines: issues created on a cron schedule. One method per operationId."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentq_client._http import body_of, query, seg
from agentq_client._sync_transport import Base
from agentq_client.models import (
    Routine,
    RoutineCreate,
    RoutinePage,
    RoutinePatch,
    RoutineRunPage,
)

__all__ = ["RoutineOperations"]

Body = Mapping[str, Any]


class RoutineOperations(Base):
    def routines_list(self, *, cursor: str | None = None, limit: int | None = None) -> RoutinePage:
        """`GET …/routines`."""
        path = self._co("/routines")
        return self._get(RoutinePage, path, query(cursor=cursor, limit=limit))

    def routines_create(
        self, body: RoutineCreate | Body, *, idempotency_key: str | None = None
    ) -> Routine:
        """`POST …/routines`: from its next tick on, each tick creates an issue."""
        data = body_of(RoutineCreate, body)
        path = self._co("/routines")
        return self._write(Routine, "POST", path, data, idempotency_key)

    def routines_get(self, rtid: str) -> Routine:
        """`GET …/routines/{rtid}`."""
        return self._get(Routine, self._co(f"/routines/{seg(rtid)}"))

    def routines_update(
        self, rtid: str, body: RoutinePatch | Body, *, idempotency_key: str | None = None
    ) -> Routine:
        """`PATCH …/routines/{rtid}`: pause, resume, or change it."""
        data = body_of(RoutinePatch, body)
        path = self._co(f"/routines/{seg(rtid)}")
        return self._write(Routine, "PATCH", path, data, idempotency_key)

    def routines_delete(self, rtid: str, *, idempotency_key: str | None = None) -> None:
        """`DELETE …/routines/{rtid}`: the issues it created stay."""
        path = self._co(f"/routines/{seg(rtid)}")
        self._write_empty("DELETE", path, idempotency_key)

    def routines_runs(
        self, rtid: str, *, cursor: str | None = None, limit: int | None = None
    ) -> RoutineRunPage:
        """`GET …/routines/{rtid}/runs`: the issues its ticks created."""
        path = self._co(f"/routines/{seg(rtid)}/runs")
        return self._get(RoutineRunPage, path, query(cursor=cursor, limit=limit))
