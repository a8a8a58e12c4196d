"""Reading issues for a model: one issue with its comments and dependencies, a page of a
list; the tools both roles have (``get_issue``, ``list_issues``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from agentq_client.mcp._session import Ctx, ToolFailure, tool
from agentq_client.mcp._text import issue_line, issue_text
from agentq_client.models import Issue

if TYPE_CHECKING:
    from agentq_client._async_client import AsyncClient

__all__ = ["IssueId", "ReadTools", "describe"]

#: The comments an issue's text shows (the latest ones).
COMMENTS_SHOWN = 50
#: The dependencies whose status an issue's text shows (an issue may have 100).
DEPENDENCIES_SHOWN = 20

Status = Literal[
    "queued", "assigned", "running", "review", "done", "failed", "cancelled", "handoff"
]
IssueId = Annotated[str, Field(description="The issue's id (iss_…).", min_length=1)]
Cursor = Annotated[str | None, Field(description="The next page: the cursor a previous page gave.")]
Limit = Annotated[int, Field(ge=1, le=200, description="How many to list (1 to 200).")]


async def describe(client: AsyncClient, issue: Issue, shown: set[str] | None = None) -> str:
    """The issue as text: its fields, the latest comments, each dependency's status.
    ``shown`` collects the ids of the comments shown (a checkpoint then brings them again)."""
    page, dependencies = await asyncio.gather(
        client.comments_list(issue.id, limit=COMMENTS_SHOWN),
        asyncio.gather(*(client.issues_get(d) for d in issue.dependencies[:DEPENDENCIES_SHOWN])),
    )
    comments = list(reversed(page.data))  # the list is newest first; a model reads in order
    if shown is not None:
        shown.update(comment.id for comment in comments)
    return issue_text(issue, comments, dependencies, more_comments=page.has_more)


class ReadTools:
    """Reads, for either role."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    @tool
    async def get_issue(
        self,
        ctx: Ctx,
        issue_id: Annotated[
            str | None,
            Field(description="The issue's id (iss_…); omit it for the issue of your open run."),
        ] = None,
    ) -> str:
        """Read one issue: title, description, status, labels, budget, its comments and its
        dependencies with their status."""
        state = ctx.request_context.lifespan_context
        await state.refresh()
        if issue_id is None:
            if state.work is None:
                raise ToolFailure("no open run: name the issue (issue_id)")
            issue_id = state.work.issue.id
        return await describe(self.client, await self.client.issues_get(issue_id))

    @tool
    async def list_issues(
        self,
        ctx: Ctx,
        status: Annotated[
            list[Status] | None, Field(description="Only issues in these statuses.")
        ] = None,
        label: Annotated[str | None, Field(description="Only issues with this label.")] = None,
        agent: Annotated[
            str | None, Field(description="Only issues assigned to this agent (agt_…).")
        ] = None,
        team: Annotated[
            str | None, Field(description="Only issues assigned to this team (tm_…).")
        ] = None,
        parent: Annotated[
            str | None,
            Field(description='Only the subtasks of this issue (iss_…); "null": top-level only.'),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> str:
        """List the company's issues, newest first, one line each (id, status, assignee,
        labels, title); filters combine."""
        await ctx.request_context.lifespan_context.refresh()
        page = await self.client.issues_list(
            status=status,
            label=label,
            agent=agent,
            team=team,
            parent=parent,
            cursor=cursor,
            limit=limit,
        )
        lines = [issue_line(issue) for issue in page.data] or ["No issue matches."]
        if page.has_more and page.next_cursor:
            lines.append(f"More: call list_issues again with cursor={page.next_cursor!r}.")
        return "\n".join(lines)
