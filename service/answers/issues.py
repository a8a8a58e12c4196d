"""Issues and their comments, as the API answers them."""

from __future__ import annotations

from domain.statuses import IssueStatus
from service.answers.common import Answer, Page, Time, Usd

__all__ = [
    "Comment",
    "CommentPage",
    "Issue",
    "IssueBudget",
    "IssuePage",
    "Spent",
]


class Spent(Answer):
    usd: Usd | None


class IssueBudget(Answer):
    per_task_usd: Usd | None
    spent: Spent


class Issue(Answer):
    id: str
    company_id: str
    title: str
    description: str | None
    status: IssueStatus
    parent_id: str | None
    assigned_agent_id: str | None
    assigned_team_id: str | None
    budget: IssueBudget
    due_at: Time | None
    labels: list[str]
    dependencies: list[str]
    current_run_id: str | None
    created_at: Time
    updated_at: Time
    version: int
    blocked_by: list[str]
    pending_approvals: list[str]
    attempts: int
    max_attempts: int
    #: ``cancel`` with ``cascade``: the live children whose cancellation was queued.
    cancelled_children: list[str] | None = None


class Comment(Answer):
    id: str
    issue_id: str
    text: str
    author: str
    created_at: Time


class IssuePage(Page):
    data: list[Issue]


class CommentPage(Page):
    data: list[Comment]
