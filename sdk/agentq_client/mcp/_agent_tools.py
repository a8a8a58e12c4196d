"""The tools of an agent token's session: claim an issue, work on its run, end it.

The run lives in the session (``SessionState``): the server holds its lease, so no tool
here is a heartbeat, and a tool on a run that is over answers so in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from agentq_client.mcp._issues import ReadTools, describe
from agentq_client.mcp._session import Ctx, SessionState, ToolFailure, tool
from agentq_client.mcp._text import money, stop_notice

if TYPE_CHECKING:
    from agentq_client._async_work import AsyncWork

__all__ = ["AGENT_TOOLS", "AgentTools"]

AGENT_TOOLS = (
    "claim_next_issue",
    "checkpoint",
    "report_cost",
    "request_approval",
    "post_comment",
    "complete_run",
    "fail_run",
    "handoff_run",
    "get_issue",
    "list_issues",
)
#: The API's longest claim wait, in seconds.
CLAIM_WAIT_SECONDS = 30
#: The longest ``request_approval`` waits for a decision in one call, in seconds (an MCP
#: host gives up on a tool call after a minute or two).
APPROVAL_WAIT_SECONDS = 120
#: While ``request_approval`` waits, it checkpoints this often, in seconds.
APPROVAL_POLL_SECONDS = 2.0

HOW_TO_WORK = (
    "This server keeps the run's lease alive while you work: you need no heartbeat calls. "
    "Record progress with checkpoint, spend with report_cost, ask before a risky action with "
    "request_approval, talk to humans with post_comment; end the run with complete_run, "
    "fail_run or handoff_run. Comments and decisions that arrive are shown in your next "
    "tool result."
)

NEXT = "Call claim_next_issue for the next issue."
JsonObject = dict[str, Any]


def _state(ctx: Ctx) -> SessionState:
    return ctx.request_context.lifespan_context


def _stopped_by(work: AsyncWork) -> None:
    """A call whose answer said stop (a 200 with ``stop: true``): the model hears it now."""
    if work.stopped is not None:
        raise ToolFailure(stop_notice(work.issue.id, work.stopped))


class AgentTools(ReadTools):
    """An agent's tools: one open run per session."""

    @tool
    async def claim_next_issue(
        self,
        ctx: Ctx,
        wait_seconds: Annotated[
            int,
            Field(
                ge=0,
                le=CLAIM_WAIT_SECONDS,
                description="How long to wait for work to appear, in seconds (0 to 30).",
            ),
        ] = CLAIM_WAIT_SECONDS,
    ) -> str:
        """Take your next issue to work on (waiting up to wait_seconds for one): its title,
        description, labels, budget, comments and dependencies. One run at a time: end the
        open one first."""
        state = _state(ctx)
        assert state.agent is not None  # the agent tools are an agent token's
        async with state.claiming:
            held = state.work
            if held is not None and held.ended is None and state.stop_reason() is None:
                raise ToolFailure(
                    f"you already hold a run on {held.issue.id}: end it with complete_run, "
                    "fail_run or handoff_run before claiming another"
                )
            if held is not None:
                await held.stop_heartbeat()
            work = await state.agent.claim_next(
                wait_seconds=wait_seconds, lease_seconds=state.lease_seconds
            )
            if work is None:
                return (
                    f"No issue to work on (waited {wait_seconds} s). Call claim_next_issue "
                    "again to wait for one."
                )
            state.hold(work)
        text = await describe(self.client, work.issue, state.shown_comments)
        head = (
            f"You now hold run {work.run.id} on issue {work.issue.id} (attempt {work.run.attempt})."
        )
        return f"{head}\n\n{text}\n\n{HOW_TO_WORK}"

    @tool
    async def checkpoint(
        self,
        ctx: Ctx,
        progress: Annotated[
            JsonObject | None,
            Field(
                description='Progress so far, any JSON object, e.g. {"pct": 40, "step": "draft"}.'
            ),
        ] = None,
        state: Annotated[
            JsonObject | None,
            Field(description="Working state a later attempt could resume from (JSON object)."),
        ] = None,
        workspace_url: Annotated[
            str | None, Field(description="Where your work in progress can be seen (a URL).")
        ] = None,
    ) -> str:
        """Record progress (and renew the lease); brings comments and approval decisions
        posted since."""
        work = _state(ctx).open_work()
        answer = await work.checkpoint(progress=progress, state=state, workspace_url=workspace_url)
        _stopped_by(work)
        until = f"{answer.lease.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        return f"Checkpoint recorded on {work.issue.id}; the lease runs until {until}."

    @tool
    async def report_cost(
        self,
        ctx: Ctx,
        usd: Annotated[
            str | float,
            Field(
                description='US dollars spent since the last report, e.g. "0.0042" (≤ 6 decimals).'
            ),
        ],
        input_tokens: Annotated[int, Field(ge=0, description="Input tokens used.")] = 0,
        output_tokens: Annotated[int, Field(ge=0, description="Output tokens used.")] = 0,
        model: Annotated[str | None, Field(description="The model that spent it.")] = None,
    ) -> str:
        """Report what the run spent (add to its cost). The report that spends the issue's
        budget stops the run."""
        work = _state(ctx).open_work()
        reported = await work.report_cost(
            usd, input_tokens=input_tokens, output_tokens=output_tokens, model=model
        )
        _stopped_by(work)
        cap, spent, cost = reported.budget.per_task_usd, reported.budget.spent.usd, reported.cost
        budget = "no budget" if cap is None else f"{money(spent)} of {money(cap)} spent"
        return (
            f"Recorded. This run has cost {money(cost.usd)} ({cost.input_tokens} input, "
            f"{cost.output_tokens} output tokens); the issue: {budget}."
        )

    @tool
    async def request_approval(
        self,
        ctx: Ctx,
        action: Annotated[
            str,
            Field(
                min_length=1,
                max_length=200,
                description="What you want to do, for a human to decide.",
            ),
        ],
        details: Annotated[
            JsonObject | None, Field(description="Details that help decide (JSON object).")
        ] = None,
        wait_seconds: Annotated[
            int,
            Field(
                ge=0,
                le=APPROVAL_WAIT_SECONDS,
                description="How long to wait here for the decision, in seconds (0 to 120).",
            ),
        ] = 0,
    ) -> str:
        """Ask a human before an action. The decision arrives in a later tool result (or
        here, within wait_seconds); the lease holds while it is pending."""
        work = _state(ctx).open_work()
        approval = await work.request_approval(action, details)
        text = f"Approval {approval.id} requested for {action!r} (pending)."
        if wait_seconds == 0:
            return text + " Its decision will appear in a later tool result."
        try:
            await work.wait_for_decision(
                approval, timeout=wait_seconds, poll_seconds=APPROVAL_POLL_SECONDS
            )
        except TimeoutError:
            late = "it will appear in a later tool result"
            return f"{text} No decision within {wait_seconds} s; {late}."
        return text  # the decision is in the news that follows

    @tool
    async def post_comment(
        self,
        ctx: Ctx,
        text: Annotated[
            str, Field(min_length=1, max_length=20000, description="The comment, as this agent.")
        ],
    ) -> str:
        """Comment on the issue of your open run (humans read it on the issue)."""
        work = _state(ctx).open_work()
        comment = await work.comment(text)
        return f"Comment {comment.id} posted on {work.issue.id}."

    @tool
    async def complete_run(
        self,
        ctx: Ctx,
        result: Annotated[
            JsonObject | None,
            Field(description='What the work produced (JSON object), e.g. {"summary": "…"}.'),
        ] = None,
        workspace_url: Annotated[
            str | None, Field(description="Where the finished work is (a URL).")
        ] = None,
    ) -> str:
        """End the run as done: the issue goes to review."""
        work = _state(ctx).open_work()
        issue = await work.complete(result, workspace_url=workspace_url)
        await work.stop_heartbeat()
        return f"Run completed: issue {issue.id} is now {issue.status}. {NEXT}"

    @tool
    async def fail_run(
        self,
        ctx: Ctx,
        reason: Annotated[
            str, Field(min_length=1, max_length=2000, description="Why the work failed.")
        ],
        retryable: Annotated[
            bool,
            Field(description="True: queue the issue for another attempt while attempts remain."),
        ] = False,
    ) -> str:
        """End the run as failed."""
        work = _state(ctx).open_work()
        issue = await work.fail(reason, retryable=retryable)
        await work.stop_heartbeat()
        return f"Run failed: issue {issue.id} is now {issue.status}. {NEXT}"

    @tool
    async def handoff_run(
        self,
        ctx: Ctx,
        reason: Annotated[
            str,
            Field(min_length=1, max_length=2000, description="What a human should do, and why."),
        ],
    ) -> str:
        """End the run and hand the issue to a human."""
        work = _state(ctx).open_work()
        issue = await work.handoff(reason)
        await work.stop_heartbeat()
        return f"Handed off: issue {issue.id} is now {issue.status}; a human takes it from here."
