"""One MCP session's state, and how a tool answers.

An agent's session holds at most one run (an ``AsyncWork`` outside a ``with``): its
heartbeat task keeps the lease between tool calls, its inbox collects what checkpoints
bring, and once the server stops the run every tool result says so. When the session ends
with the run still open, the run is handed back (failed as retryable) rather than left to
expire.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.fastmcp import Context
from mcp.server.session import ServerSession
from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from agentq_client._async_work import AsyncWork
from agentq_client._work_common import InboxItem, log
from agentq_client.errors import AgentqError, ApiError, InvalidRequest, RunStopped
from agentq_client.mcp._text import END_PHRASES, news_text, stop_notice
from agentq_client.models import Comment

if TYPE_CHECKING:
    from agentq_client._async_agent import AsyncAgent
    from agentq_client._async_client import AsyncClient

__all__ = ["Ctx", "SessionState", "ToolFailure", "answer", "tool"]

#: The reason a run still open when its MCP session ends is handed back with.
SESSION_ENDED = "the MCP session ended while the run was open; handed back"
#: How long the hand-back at the end of a session may take, in seconds (it is one call).
HAND_BACK_SECONDS = 15.0


class ToolFailure(Exception):
    """A tool's plain-text error: the model gets it as an ``isError`` result."""


class SessionState:
    """What one MCP session holds: the client, the agent (agent tokens), the open run."""

    def __init__(self, client: AsyncClient, agent: AsyncAgent | None, lease_seconds: int) -> None:
        self.client = client
        self.agent = agent
        self.lease_seconds = lease_seconds
        #: The session's run: open, or the last one (kept to say how it ended).
        self.work: AsyncWork | None = None
        #: A stop seen by reading the run (``refresh``) before any call on it noticed.
        self._seen_stop: str | None = None
        #: The comments the model has read (its claim showed them): a checkpoint, which
        #: brings every comment since the run's last one, does not show them again.
        self.shown_comments: set[str] = set()
        #: One claim at a time: a model calling claim twice at once gets one run, not two.
        self.claiming = asyncio.Lock()

    # The run

    def stop_reason(self) -> str | None:
        """Why the server stopped the session's run (None: open, ended by the agent, none)."""
        work = self.work
        if work is None or work.ended is not None:
            return None
        return work.stopped or self._seen_stop

    def open_work(self) -> AsyncWork:
        """The open run, or the plain reason there is none."""
        work = self.work
        if work is None:
            raise ToolFailure("no open run: call claim_next_issue first")
        reason = self.stop_reason()
        if reason is not None:
            raise ToolFailure(stop_notice(work.issue.id, reason))
        if work.ended is not None:
            raise ToolFailure(
                f"no open run: you already ended the run on {work.issue.id} "
                f"({END_PHRASES[work.ended]}). Call claim_next_issue for the next issue."
            )
        return work

    def hold(self, work: AsyncWork) -> None:
        self.work, self._seen_stop = work, None
        self.shown_comments.clear()
        work.start_heartbeat()

    async def refresh(self) -> None:
        """Read the open run (no write): a run someone else ended since the last call is
        seen before a read tool answers, not only at the heartbeat's next checkpoint."""
        work = self.work
        if work is None or work.ended is not None or self.stop_reason() is not None:
            return
        try:
            run = await self.client.runs_get(work.issue.id, work.run.id)
        except AgentqError as exc:  # the read is only a look-ahead: the heartbeat decides
            log.warning("could not read run %s: %s", work.run.id, exc)
            return
        if run.status == "ended" and work.ended is None:
            self._seen_stop = run.exit_reason or "stale_lease"
            await work.stop_heartbeat()

    def notice(self) -> str | None:
        """The stop notice while the session's run is stopped, else None."""
        reason = self.stop_reason()
        return (
            None if reason is None or self.work is None else stop_notice(self.work.issue.id, reason)
        )

    def news(self) -> str:
        """What checkpoints brought since the last tool result (comments, decisions)."""
        work = self.work
        if work is None:
            return ""
        items: list[InboxItem] = []
        while not work.inbox.empty():
            item = work.inbox.get_nowait()
            if isinstance(item, Comment):
                if item.id in self.shown_comments:
                    continue
                self.shown_comments.add(item.id)
            items.append(item)
        return news_text(items)

    async def close(self) -> None:
        """The session is over: stop the heartbeat, hand an open run back to the queue."""
        work = self.work
        if work is None:
            return
        # The session's task group may be cancelled (an idle HTTP session, a client gone):
        # the hand-back is shielded so the run goes back to the queue instead of expiring.
        with anyio.move_on_after(HAND_BACK_SECONDS, shield=True):
            await work.stop_heartbeat()
            if work.ended is None and self.stop_reason() is None:
                await work.hand_back(SESSION_ENDED)


#: The context a tool receives: its ``lifespan_context`` is the session's state.
Ctx = Context[ServerSession, SessionState, Any]


def answer(state: SessionState | None, text: str, *, error: bool = False) -> CallToolResult:
    """A tool result: the stop notice first while the run is stopped, then ``text``, then
    what arrived meanwhile."""
    parts = [text]
    if state is not None:
        notice = state.notice()
        if notice is not None and notice != text:
            parts.insert(0, notice)
        news = state.news()
        if news:
            parts.append("Since your last call:\n" + news)
    return CallToolResult(
        content=[TextContent(type="text", text="\n\n".join(parts))], isError=error
    )


def _error_text(exc: AgentqError) -> str:
    if isinstance(exc, RunStopped):
        return f"the run is over ({exc.reason})"
    if isinstance(exc, InvalidRequest) and exc.errors:
        fields = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in exc.errors)
        return f"refused ({exc.status} {exc.code}): {exc.detail} ({fields})"
    if isinstance(exc, ApiError):
        return f"refused ({exc.status} {exc.code or 'error'}): {exc.detail}"
    return f"agentq could not be reached: {exc}"


def tool(fn: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[CallToolResult]]:
    """A tool method (its context parameter named ``ctx``): its text becomes the result;
    a ``ToolFailure`` or an error of the API becomes an ``isError`` result in plain words,
    never an exception the model's host shows as a crash. A stop the call ran into makes
    the stop notice the answer. (FastMCP reads the parameters, and so the input schema,
    through ``__wrapped__``.)"""

    @functools.wraps(fn)
    async def run(self: object, *args: Any, ctx: Ctx, **kwargs: Any) -> CallToolResult:
        state = ctx.request_context.lifespan_context
        try:
            return answer(state, await fn(self, *args, ctx=ctx, **kwargs))
        except ToolFailure as exc:
            return answer(state, str(exc), error=True)
        except RunStopped as exc:
            work = state.work
            text = stop_notice(work.issue.id, exc.reason) if work else _error_text(exc)
            return answer(state, text, error=True)
        except AgentqError as exc:
            return answer(state, _error_text(exc), error=True)
        except ValidationError as exc:  # the SDK checks a body before sending it
            fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            return answer(state, f"invalid input: {fields}", error=True)

    return run
