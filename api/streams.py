"""What the HTTP server does for responses that never end by themselves (event streams).

``StreamHooks`` is mixed into the server's protocol (``api.server``): each request finds in
its ``scope["state"]`` an ``ABORT`` callable that drops the connection at once, unsent data
and all, as if the client had gone (the app then sees a disconnect): for a stream whose
client does not read (``api.routes.events``). A request that sets ``STREAMING`` in its
state is not waited for by a graceful shutdown: its connection is closed, and its client
resumes on another process.
"""

from __future__ import annotations

from functools import partial

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

__all__ = ["ABORT", "STREAMING", "StreamHooks"]

ABORT = "agentq.abort"
STREAMING = "agentq.streaming"


class StreamHooks(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.scope["state"][ABORT] = partial(self._drop, self.cycle, abort=True)

    def shutdown(self) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.scope["state"].get(STREAMING):
            self._drop(cycle, abort=False)
        else:
            super().shutdown()

    def _drop(self, cycle: RequestResponseCycle, *, abort: bool) -> None:
        """End ``cycle``'s connection: the app sees a disconnect; ``abort``: now, dropping
        what is still unsent, else once it is sent."""
        if cycle is not self.cycle or cycle.response_complete or cycle.disconnected:
            return
        cycle.disconnected = True
        cycle.message_event.set()
        if abort or self.flow.write_paused:  # a client not reading would hold it open
            self.transport.abort()
        else:
            self.transport.close()
