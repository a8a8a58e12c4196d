"""The event streams: the activity trail as server-sent events. One method per operationId.

``await client.events_stream()`` opens the stream (raising as any call does if it is
refused); ``async for entry in stream`` gives each activity entry as it comes, until the
server ends the stream; ``stream.last_event_id`` is where to resume (``after=``)."""

# The sync twin (_sync_*.py) is written from this file by `python -m api.sdk_models`.

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from agentq_client._async_transport import AsyncBase
from agentq_client._http import headers_for, query, raise_for, seg
from agentq_client.models import ActivityEntry

__all__ = ["AsyncEventOperations", "AsyncEventStream"]


class AsyncEventStream:
    """An open event stream: ``async for entry in stream`` (``async with`` closes it)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        #: The id of the last entry received: resume with ``after=`` this.
        self.last_event_id: str | None = None

    async def __aiter__(self) -> AsyncIterator[ActivityEntry]:
        data: list[str] = []
        async for line in self._response.aiter_lines():
            if line:
                name, _, value = line.partition(":")
                if name == "data":
                    data.append(value.removeprefix(" "))
                continue  # ``id:``/``event:`` repeat the entry's; comments keep it alive
            if data:
                entry = ActivityEntry.model_validate_json("\n".join(data))
                self.last_event_id, data = entry.id, []
                yield entry

    async def aclose(self) -> None:
        await self._response.aclose()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncEventOperations(AsyncBase):
    async def _stream(self, path: str, params: dict[str, str]) -> AsyncEventStream:
        http = self._transport.http
        headers = headers_for(self._transport.token, "GET", None, None)
        # No read timeout: an idle stream is quiet but for a comment every 15 s.
        timeout = httpx.Timeout(http.timeout.connect, read=None)
        request = http.build_request("GET", path, params=params, headers=headers, timeout=timeout)
        response = await http.send(request, stream=True)
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            raise_for(response)
        return AsyncEventStream(response)

    async def events_stream(
        self,
        *,
        after: str | None = None,
        type: str | None = None,
        issue_id: str | None = None,
        scope: str | None = None,
    ) -> AsyncEventStream:
        """`GET …/events`: the company's activity from now on, or right after ``after``
        (``scope`` as for ``activity_list``)."""
        path = await self._co("/events")
        params = query(after=after, type=type, issueId=issue_id, scope=scope)
        return await self._stream(path, params)

    async def issues_events(
        self, iid: str, *, after: str | None = None, type: str | None = None
    ) -> AsyncEventStream:
        """`GET …/issues/{iid}/events`: one issue's activity (admin, or its run's agent)."""
        path = await self._co(f"/issues/{seg(iid)}/events")
        return await self._stream(path, query(after=after, type=type))
