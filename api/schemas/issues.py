"""Request bodies of issues: creating and patching one, its assignment, comments and cancel."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from api.schemas.budgets import Budget
from api.schemas.common import Body, Ident, Label, NotNull, Reason, UtcTime
from domain.priorities import Priority
from domain.timing import MAX_BASE_SECONDS, MAX_MAX_SECONDS

__all__ = [
    "AssignBody",
    "CancelBody",
    "CommentCreate",
    "IssueCreate",
    "IssuePatch",
    "ReassignBody",
    "RetryPolicyBody",
]


class RetryPolicyBody(Body):
    """The issue's own retry backoff, in whole seconds (both fields)."""

    #: The first retry waits a uniform draw up to this long; 0: retry at once.
    base_seconds: Annotated[int, Field(ge=0, le=MAX_BASE_SECONDS, strict=True)]
    #: No retry waits longer (the cap); at least ``baseSeconds``.
    max_seconds: Annotated[int, Field(ge=0, le=MAX_MAX_SECONDS, strict=True)]

    @model_validator(mode="after")
    def _cap_above_base(self) -> RetryPolicyBody:
        if self.max_seconds < self.base_seconds:
            raise ValueError("maxSeconds must be at least baseSeconds")
        return self


class IssueCreate(Body):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    description: Annotated[str, Field(max_length=100_000)] | None = None
    parent_id: Ident | None = None
    assigned_team_id: Ident | None = None
    assigned_agent_id: Ident | None = None
    budget: Budget | None = None
    due_at: UtcTime | None = None
    labels: Annotated[list[Label], Field(max_length=50)] = []
    dependencies: Annotated[list[Ident], Field(max_length=100)] = []
    max_attempts: Annotated[int, Field(ge=1, le=100, strict=True)] = 3
    #: Default: the one a ``priority:*`` label names, else ``medium``.
    priority: Priority | None = None
    #: Nothing claims or dispatches the issue before this time (default: at once).
    not_before: UtcTime | None = None
    #: Its own retry backoff (default: ``AGENTQ_RETRY_BASE_S``, ``AGENTQ_RETRY_MAX_S``).
    retry_policy: RetryPolicyBody | None = None

    @field_validator("dependencies")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("dependencies are listed twice")
        return value


class IssuePatch(Body):
    title: Annotated[str, Field(min_length=1, max_length=500)] | NotNull = None
    description: Annotated[str, Field(max_length=100_000)] | None = None
    labels: Annotated[list[Label], Field(max_length=50)] | NotNull = None
    due_at: UtcTime | None = None
    budget: Budget | NotNull = None
    priority: Priority | NotNull = None
    #: Only while ``queued``; null: at once.
    not_before: UtcTime | None = None

    @model_validator(mode="after")
    def _not_null(self) -> IssuePatch:
        for name in ("title", "labels", "budget", "priority"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{to_camel(name)} may not be null")
        if self.budget is not None and not self.budget.model_fields_set & {
            "per_task_usd",
            "include_subtasks",
        }:
            raise ValueError("budget takes perTaskUsd, includeSubtasks or both")
        return self


class AssignBody(Body):
    agent_id: Ident


class CancelBody(Body):
    reason: Reason | None = None
    #: Cancel the live children too (each through the command path), listed in the answer.
    cascade: Annotated[bool, Field(strict=True)] = False


class ReassignBody(Body):
    to_agent_id: Ident | None = None
    to_team_id: Ident | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ReassignBody:
        if (self.to_agent_id is None) == (self.to_team_id is None):
            raise ValueError("give exactly one of toAgentId and toTeamId")
        return self


class CommentCreate(Body):
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    author: Annotated[str, Field(pattern=r"^(user:[^\s].{0,99}|agent:agt_[0-9a-z]{1,36})$")]
