# Written from _async_ops_events.py by `python -m api.sdk_models`: edit that file, not this one.
"""The event streams: the activity trail as server-sent events. One method per operationId.

``client.events_stream()`` opens the stream (raising as any call does if it is
refused); ``for entry in stream`` gives each activity entry as it comes, until the
server ends the stream; ``stream.last_event_id`` is where to resume (``after=``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from agentq_client._http import headers_for, query, raise_for, seg
from agentq_client._sync_transport import Base
from agentq_client.models import ActivityEntry

__all__ = ["EventOperations", "EventStream"]


class EventStream:
    """An open event stream: ``for entry in stream`` (``async with`` closes it)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        #: The id of the last entry received: resume with ``after=`` this.
        self.last_event_id: str | None = None

    def __iter__(self) -> Iterator[ActivityEntry]:
        data: list[str] = []
        for line in self._response.iter_lines():
            if line:
                name, _, value = line.partition(":")
                if name == "data":
                    data.append(value.removeprefix(" "))
                continue  # ``id:``/``event:`` repeat the entry's; comments keep it alive
            if data:
                entry = ActivityEntry.model_validate_json("\n".join(data))
                self.last_event_id, data = entry.id, []
                yield entry

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventOperations(Base):
    def _stream(self, path: str, params: dict[str, str]) -> EventStream:
        http = self._transport.http
        headers = headers_for(self._transport.token, "GET", None, None)
        # No read timeout: an idle stream is quiet but for a comment every 15 s.
        timeout = httpx.Timeout(http.timeout.connect, read=None)
        request = http.build_request("GET", path, params=params, headers=headers, timeout=timeout)
        response = http.send(request, stream=True)
        if response.status_code != 200:
            response.read()
            response.close()
            raise_for(response)
        return EventStream(response)

    def events_stream(
        self,
        *,
        after: str | None = None,
        type: str | None = None,
        issue_id: str | None = None,
        scope: str | None = None,
    ) -> EventStream:
        """`GET …/events`: the company's activity from now on, or right after ``after``
        (``scope`` as for ``activity_list``)."""
        path = self._co("/events")
        params = query(after=after, type=type, issueId=issue_id, scope=scope)
        return self._stream(path, params)

    def issues_events(
        self, iid: str, *, after: str | None = None, type: str | None = None
    ) -> EventStream:
        """`GET …/issues/{iid}/events`: one issue's activity (admin, or its run's agent)."""
        path = self._co(f"/issues/{seg(iid)}/events")
        return self._stream(path, query(after=after, type=type))
