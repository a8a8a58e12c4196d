"""One claimed run (asyncio): the heartbeat that keeps its lease, its stop, its calls, its end.

``async with agent.claim(...) as work`` is the loop's unit; outside a ``with`` (an MCP
server holding work across calls) it is ``work = await agent.claim_next(...)``, then
``work.start_heartbeat()`` and, at the end, ``await work.close()``. ``Work`` in
``_sync_work.py`` is the same with a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from agentq_client._work_common import (
    UNFINISHED,
    InboxItem,
    failure_reason,
    log,
    news,
    usd_text,
)
from agentq_client.errors import (
    AgentqError,
    RunStopped,
    StaleLease,
)
from agentq_client.models import (
    Approval,
    Checkpointed,
    Claimed,
    Comment,
    CostReported,
    Issue,
    LeaseGrant,
    Run,
)

if TYPE_CHECKING:
    from agentq_client._async_client import AsyncClient

__all__ = ["AsyncWork"]

T = TypeVar("T")
Json = dict[str, Any]


class AsyncWork:
    """A claimed run: ``issue``, ``run``, ``lease``; the calls the run's agent makes."""

    def __init__(self, client: AsyncClient, claimed: Claimed, lease_seconds: int) -> None:
        self.client = client
        self.issue: Issue = claimed.issue
        self.run: Run = claimed.run
        self.lease: LeaseGrant = claimed.lease
        self.lease_seconds = lease_seconds
        #: A checkpoint every third of the lease: two can fail before it expires.
        self.heartbeat_seconds = lease_seconds / 3
        self.inbox: asyncio.Queue[InboxItem] = asyncio.Queue()
        self.decisions: dict[str, Approval] = {}
        #: Why the server stopped the run (``cancelled``, ``reassigned``, …), else None.
        self.stopped: str | None = None
        self.stop_event = asyncio.Event()
        #: How the agent ended the run (``completed``, ``failed``, ``handoff``), else None.
        self.ended: str | None = None
        self._lock = asyncio.Lock()
        self._decided = asyncio.Event()
        self._heartbeat: asyncio.Task[None] | None = None
        self._last_approval: str | None = None

    # The heartbeat

    def start_heartbeat(self) -> None:
        """Checkpoint every ``heartbeat_seconds`` in a task until the run ends or stops."""
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name=f"heartbeat {self.run.id}")

    async def stop_heartbeat(self) -> None:
        task, self._heartbeat = self._heartbeat, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat(self) -> None:
        while self.ended is None and self.stopped is None:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self.checkpoint()
            except RunStopped:
                return
            except AgentqError as exc:  # the API unreachable for a while: try at the next
                log.warning("heartbeat of %s failed: %s", self.run.id, exc)

    # Every call on the run goes through here

    def _check(self) -> None:
        if self.stopped is not None:
            raise RunStopped(self.stopped, self.run.id)
        if self.ended is not None:
            raise RunStopped(self.ended, self.run.id)

    def _stop(self, reason: str) -> None:
        if self.stopped is None and self.ended is None:
            self.stopped = reason
            self.stop_event.set()

    async def _call(self, send: Callable[[], Awaitable[T]], ends: str | None = None) -> T:
        """One call on the run, none other meanwhile; ``ends``: it ends the run so."""
        async with self._lock:
            self._check()
            try:
                answer = await send()
            except StaleLease as exc:
                self._stop(exc.stop_reason or "stale_lease")
                raise RunStopped(self.stopped or "stale_lease", self.run.id) from exc
            if ends is not None:
                self.ended = ends
            return answer

    async def _end(self, how: str, send: Callable[[], Awaitable[Issue]]) -> Issue:
        self.issue = await self._call(send, ends=how)
        return self.issue

    # What the agent does

    async def checkpoint(
        self,
        *,
        progress: Json | None = None,
        state: Json | None = None,
        workspace_url: str | None = None,
    ) -> Checkpointed:
        """Renew the lease and record progress/state; queue comments and decisions on
        ``inbox``. An answer with ``stop`` sets ``stopped`` (the next call raises)."""
        body: Json = {"leaseToken": self.lease.token}
        if progress is not None:
            body["progress"] = progress
        if state is not None:
            body["state"] = state
        if workspace_url is not None:
            body["workspaceUrl"] = workspace_url
        iid, rid = self.issue.id, self.run.id
        answer = await self._call(lambda: self.client.runs_checkpoint(iid, rid, body))
        self.lease = answer.lease
        found = news(answer, self.decisions)
        for approval in found.decisions:
            self.decisions[approval.id] = approval
            self._decided.set()
        for item in found.items:
            self.inbox.put_nowait(item)
        if found.stop_reason is not None:
            self._stop(found.stop_reason)
        return answer

    async def report_cost(
        self,
        usd: Decimal | float | str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        model: str | None = None,
    ) -> CostReported:
        """Report spend (``usd``: a number or a decimal string, at most 6 places). The
        report that spends the budget answers ``stop``: ``stopped`` is then
        ``budget_exceeded``."""
        body: Json = {
            "leaseToken": self.lease.token,
            "usd": usd_text(usd),
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
        }
        if model is not None:
            body["model"] = model
        iid, rid = self.issue.id, self.run.id
        answer = await self._call(lambda: self.client.costs_report(iid, rid, body))
        if answer.stop:
            self._stop(answer.stop_reason or "budget_exceeded")
        return answer

    async def request_approval(self, action: str, details: Json | None = None) -> Approval:
        """Ask a human before ``action``; ``wait_for_decision()`` hears the answer."""
        body: Json = {"leaseToken": self.lease.token, "action": action}
        if details is not None:
            body["details"] = details
        iid, rid = self.issue.id, self.run.id
        approval = await self._call(lambda: self.client.approvals_request(iid, rid, body))
        self._last_approval = approval.id
        return approval

    async def wait_for_decision(
        self,
        approval: Approval | str | None = None,
        *,
        timeout: float | None = None,
        poll_seconds: float = 1.0,
    ) -> Approval:
        """The decision on ``approval`` (default: the last one requested), checkpointing
        every ``poll_seconds`` (decisions arrive at checkpoints); ``TimeoutError`` after
        ``timeout`` seconds; ``RunStopped`` if the run stops meanwhile."""
        apid = approval.id if isinstance(approval, Approval) else approval or self._last_approval
        if apid is None:
            raise AgentqError("no approval to wait for: request_approval() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        while apid not in self.decisions:
            self._check()
            await self.checkpoint()
            if apid in self.decisions:
                break
            left = poll_seconds if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no decision on {apid} within {timeout} s")
            self._decided.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._decided.wait(), min(poll_seconds, left))
        return self.decisions[apid]

    async def comment(self, text: str) -> Comment:
        """A comment on the issue, as this agent."""
        body = {"text": text, "author": f"agent:{self.run.agent_id}"}
        return await self._call(lambda: self.client.comments_create(self.issue.id, body))

    async def complete(
        self, result: Json | None = None, *, workspace_url: str | None = None
    ) -> Issue:
        """End the run with ``result``: the issue goes to ``review``."""
        body: Json = {"leaseToken": self.lease.token}
        if result is not None:
            body["result"] = result
        if workspace_url is not None:
            body["workspaceUrl"] = workspace_url
        iid, rid = self.issue.id, self.run.id
        return await self._end("completed", lambda: self.client.runs_complete(iid, rid, body))

    async def fail(
        self, reason: str, *, retryable: bool = False, details: Json | None = None
    ) -> Issue:
        """End the run failed; ``retryable``: queue the issue again while attempts remain."""
        body: Json = {"leaseToken": self.lease.token, "reason": reason, "retryable": retryable}
        if details is not None:
            body["details"] = details
        iid, rid = self.issue.id, self.run.id
        return await self._end("failed", lambda: self.client.runs_fail(iid, rid, body))

    async def handoff(self, reason: str) -> Issue:
        """End the run and hand the issue to a human (``handoff``)."""
        body = {"leaseToken": self.lease.token, "reason": reason}
        iid, rid = self.issue.id, self.run.id
        return await self._end("handoff", lambda: self.client.runs_handoff(iid, rid, body))

    # The end of the block

    async def close(self, exc: BaseException | None = None) -> bool:
        """Stop the heartbeat and end a run the agent left running: failed as retryable,
        with ``exc``'s text if the block raised, else with a warning. True when ``exc`` is
        this run's ``RunStopped`` (a ``with`` block then swallows it)."""
        await self.stop_heartbeat()
        if self.ended is None and self.stopped is None:
            if exc is None:
                warnings.warn(
                    UNFINISHED + ": failing the run as retryable", RuntimeWarning, stacklevel=3
                )
            await self.hand_back(UNFINISHED if exc is None else failure_reason(exc))
        return isinstance(exc, RunStopped) and exc.run_id == self.run.id

    async def hand_back(self, reason: str) -> None:
        """Fail the run as retryable (its issue goes back to the queue), whatever the
        answer: an error (the run stopped meanwhile, the API unreachable) is only logged."""
        try:
            await self.fail(reason, retryable=True)
        except AgentqError as err:  # stopped meanwhile, or the API unreachable
            log.warning("could not hand %s back: %s", self.run.id, err)

    async def __aenter__(self) -> AsyncWork:
        self.start_heartbeat()
        return self

    async def __aexit__(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        return await self.close(exc)
