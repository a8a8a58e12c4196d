"""The tools of a company admin token's session: create and route issues, review work,
decide approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from agentq_client.mcp._issues import Cursor, IssueId, Limit, ReadTools, describe
from agentq_client.mcp._session import Ctx, tool
from agentq_client.mcp._text import approval_text

__all__ = ["ADMIN_TOOLS", "AdminTools"]

ADMIN_TOOLS = (
    "create_issue",
    "assign_issue",
    "reassign_issue",
    "cancel_issue",
    "review_issue",
    "list_approvals",
    "decide_approval",
    "list_issues",
    "get_issue",
)

AgentId = Annotated[str, Field(min_length=1, description="The agent's id (agt_…).")]
Reason = Annotated[
    str | None, Field(max_length=2000, description="Why (kept in the activity trail).")
]
Comment = Annotated[
    str | None, Field(min_length=1, max_length=20000, description="A note with the decision.")
]


class AdminTools(ReadTools):
    """A company admin's tools."""

    @tool
    async def create_issue(
        self,
        ctx: Ctx,
        title: Annotated[str, Field(min_length=1, max_length=500, description="What to do.")],
        description: Annotated[
            str | None, Field(max_length=100000, description="The details (Markdown).")
        ] = None,
        labels: Annotated[
            list[str] | None,
            Field(max_length=50, description='Labels, e.g. ["marketing", "priority:high"].'),
        ] = None,
        assigned_agent_id: Annotated[
            str | None, Field(description="Give it to this agent (agt_…) at once.")
        ] = None,
        assigned_team_id: Annotated[
            str | None, Field(description="Give it to this team (tm_…): an agent of it takes it.")
        ] = None,
        budget_usd: Annotated[
            str | float | None,
            Field(description='The most one attempt may spend, US dollars (e.g. "1.50").'),
        ] = None,
        parent_id: Annotated[
            str | None, Field(description="Make it a subtask of this issue (iss_…).")
        ] = None,
        dependencies: Annotated[
            list[str] | None,
            Field(max_length=100, description="Issues (iss_…) that must be done before it starts."),
        ] = None,
        max_attempts: Annotated[
            int | None, Field(ge=1, le=100, description="Attempts before it fails (default 3).")
        ] = None,
        due_at: Annotated[
            datetime | None, Field(description="When it is due (RFC 3339, with a time zone).")
        ] = None,
    ) -> str:
        """Create an issue (a task for an agent or a team)."""
        body: dict[str, Any] = {"title": title}
        optional = {
            "description": description,
            "labels": labels,
            "assigned_agent_id": assigned_agent_id,
            "assigned_team_id": assigned_team_id,
            "parent_id": parent_id,
            "dependencies": dependencies,
            "max_attempts": max_attempts,
            "due_at": due_at,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        if budget_usd is not None:
            body["budget"] = {"per_task_usd": str(budget_usd)}
        issue = await self.client.issues_create(body)
        return f"Created {issue.id} ({issue.status}).\n\n" + await describe(self.client, issue)

    @tool
    async def assign_issue(self, ctx: Ctx, issue_id: IssueId, agent_id: AgentId) -> str:
        """Assign a queued or handed-off issue to an agent."""
        issue = await self.client.issues_assign(issue_id, {"agent_id": agent_id})
        return f"{issue.id} is now {issue.status}, assigned to {issue.assigned_agent_id}."

    @tool
    async def reassign_issue(
        self,
        ctx: Ctx,
        issue_id: IssueId,
        to_agent_id: Annotated[str | None, Field(description="The new agent (agt_…).")] = None,
        to_team_id: Annotated[str | None, Field(description="The new team (tm_…).")] = None,
        reason: Reason = None,
    ) -> str:
        """Move an issue to another agent or team (a running issue's run is stopped)."""
        body = {"to_agent_id": to_agent_id, "to_team_id": to_team_id, "reason": reason}
        issue = await self.client.issues_reassign(
            issue_id, {name: value for name, value in body.items() if value is not None}
        )
        who = issue.assigned_agent_id or issue.assigned_team_id or "nobody yet"
        return f"{issue.id} is now {issue.status}, assigned to {who}."

    @tool
    async def cancel_issue(
        self,
        ctx: Ctx,
        issue_id: IssueId,
        reason: Reason = None,
        cascade: Annotated[
            bool, Field(description="Also cancel its live subtasks (and theirs).")
        ] = False,
    ) -> str:
        """Cancel an issue (a running one's agent is told to stop)."""
        body: dict[str, Any] = {"cascade": cascade}
        if reason is not None:
            body["reason"] = reason
        issue = await self.client.issues_cancel(issue_id, body)
        children = issue.cancelled_children or []
        also = f" Also cancelled: {', '.join(children)}." if children else ""
        return f"{issue.id} is now {issue.status}.{also}"

    @tool
    async def review_issue(
        self,
        ctx: Ctx,
        issue_id: IssueId,
        decision: Annotated[
            Literal["accept", "reject"],
            Field(description="accept: the issue is done; reject: back to its agent."),
        ],
        comment: Comment = None,
    ) -> str:
        """Review an issue in review: accept the work or send it back."""
        body: dict[str, Any] = {"decision": decision}
        if comment is not None:
            body["comment"] = comment
        issue = await self.client.issues_review(issue_id, body)
        return f"{issue.id} is now {issue.status}."

    @tool
    async def list_approvals(
        self,
        ctx: Ctx,
        status: Annotated[
            Literal["pending", "approved", "rejected", "expired"] | None,
            Field(description="Only approvals in this status (omit it for all)."),
        ] = "pending",
        issue_id: Annotated[str | None, Field(description="Only this issue's (iss_…).")] = None,
        agent_id: Annotated[str | None, Field(description="Only this agent's (agt_…).")] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> str:
        """List approval requests, newest first (by default the pending ones)."""
        page = await self.client.approvals_list(
            status=status, issue_id=issue_id, agent_id=agent_id, cursor=cursor, limit=limit
        )
        lines = [approval_text(approval) for approval in page.data] or ["No approval matches."]
        if page.has_more and page.next_cursor:
            lines.append(f"More: call list_approvals again with cursor={page.next_cursor!r}.")
        return "\n".join(lines)

    @tool
    async def decide_approval(
        self,
        ctx: Ctx,
        approval_id: Annotated[str, Field(min_length=1, description="The approval (apr_…).")],
        decision: Annotated[
            Literal["approve", "reject"], Field(description="Let the agent go ahead, or not.")
        ],
        comment: Comment = None,
    ) -> str:
        """Approve or reject an agent's pending request; the agent hears it at once."""
        body = None if comment is None else {"comment": comment}
        decide = (
            self.client.approvals_approve if decision == "approve" else self.client.approvals_reject
        )
        approval = await decide(approval_id, body)
        return f"Approval {approval.id} is now {approval.status}."
