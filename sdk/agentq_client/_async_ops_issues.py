"""Operations on issues and their work: issues, comments, runs, costs, approvals, activity.
One method per operationId; ``if_match``: the issue version for ``If-Match`` (412 if not).
"""

# The sync twin (_sync_*.py) is written from this file by `python -m api.sdk_models`.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from agentq_client._async_transport import AsyncBase
from agentq_client._http import body_of, query, seg
from agentq_client.models import (
    ActivityPage,
    Approval,
    ApprovalDecisionBody,
    ApprovalDecisions,
    ApprovalPage,
    ApprovalRequestBody,
    ApprovalsDecideBody,
    AssignBody,
    CancelBody,
    CheckpointBody,
    Checkpointed,
    Comment,
    CommentCreate,
    CommentPage,
    CompleteBody,
    CostBody,
    CostReported,
    CostRollup,
    FailBody,
    HandoffBody,
    Issue,
    IssueCreate,
    IssuePage,
    IssuePatch,
    ReassignBody,
    ReviewBody,
    Run,
    RunPage,
)

__all__ = ["AsyncIssueOperations"]

Body = Mapping[str, Any]
Key = str | None


class AsyncIssueOperations(AsyncBase):
    async def _issue(self, iid: str, rest: str = "") -> str:
        return await self._co(f"/issues/{seg(iid)}{rest}")

    async def _run(self, iid: str, rid: str, verb: str) -> str:
        return await self._issue(iid, f"/runs/{seg(rid)}/{verb}")

    # Issues

    async def issues_list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        agent: str | None = None,
        team: str | None = None,
        parent: str | None = None,
        label: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        overdue: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> IssuePage:
        """`GET …/issues`, newest first (`parent="null"`: top-level issues only;
        `overdue=True`: live issues past their `dueAt`)."""
        params = query(
            status=status if isinstance(status, str | None) else list(status),
            agent=agent,
            team=team,
            parent=parent,
            label=label,
            since=since,
            until=until,
            overdue=overdue,
            cursor=cursor,
            limit=limit,
        )
        return await self._get(IssuePage, await self._co("/issues"), params)

    async def issues_create(
        self, body: IssueCreate | Body, *, idempotency_key: Key = None
    ) -> Issue:
        """`POST …/issues`."""
        data = body_of(IssueCreate, body)
        return await self._write(Issue, "POST", await self._co("/issues"), data, idempotency_key)

    async def issues_get(self, iid: str) -> Issue:
        """`GET …/issues/{iid}`."""
        return await self._get(Issue, await self._issue(iid))

    async def issues_update(
        self,
        iid: str,
        body: IssuePatch | Body,
        *,
        idempotency_key: Key = None,
        if_match: int | None = None,
    ) -> Issue:
        """`PATCH …/issues/{iid}`."""
        data = body_of(IssuePatch, body)
        path = await self._issue(iid)
        return await self._write(Issue, "PATCH", path, data, idempotency_key, if_match)

    async def issues_assign(
        self,
        iid: str,
        body: AssignBody | Body,
        *,
        idempotency_key: Key = None,
        if_match: int | None = None,
    ) -> Issue:
        """`POST …/issues/{iid}/assign`."""
        data = body_of(AssignBody, body)
        path = await self._issue(iid, "/assign")
        return await self._write(Issue, "POST", path, data, idempotency_key, if_match)

    async def issues_cancel(
        self,
        iid: str,
        body: CancelBody | Body | None = None,
        *,
        idempotency_key: Key = None,
        if_match: int | None = None,
    ) -> Issue:
        """`POST …/issues/{iid}/cancel`."""
        data = body_of(CancelBody, body)
        path = await self._issue(iid, "/cancel")
        return await self._write(Issue, "POST", path, data, idempotency_key, if_match)

    async def issues_reassign(
        self,
        iid: str,
        body: ReassignBody | Body,
        *,
        idempotency_key: Key = None,
        if_match: int | None = None,
    ) -> Issue:
        """`POST …/issues/{iid}/reassign`."""
        data = body_of(ReassignBody, body)
        path = await self._issue(iid, "/reassign")
        return await self._write(Issue, "POST", path, data, idempotency_key, if_match)

    async def issues_review(
        self,
        iid: str,
        body: ReviewBody | Body,
        *,
        idempotency_key: Key = None,
        if_match: int | None = None,
    ) -> Issue:
        """`POST …/issues/{iid}/review`: `accept` (done) or `reject` (back to its agent)."""
        data = body_of(ReviewBody, body)
        path = await self._issue(iid, "/review")
        return await self._write(Issue, "POST", path, data, idempotency_key, if_match)

    # Comments

    async def comments_list(
        self, iid: str, *, cursor: str | None = None, limit: int | None = None
    ) -> CommentPage:
        """`GET …/issues/{iid}/comments`."""
        path = await self._issue(iid, "/comments")
        return await self._get(CommentPage, path, query(cursor=cursor, limit=limit))

    async def comments_create(
        self, iid: str, body: CommentCreate | Body, *, idempotency_key: Key = None
    ) -> Comment:
        """`POST …/issues/{iid}/comments`."""
        data = body_of(CommentCreate, body)
        path = await self._issue(iid, "/comments")
        return await self._write(Comment, "POST", path, data, idempotency_key)

    # Runs: reads

    async def runs_list(
        self, iid: str, *, cursor: str | None = None, limit: int | None = None
    ) -> RunPage:
        """`GET …/issues/{iid}/runs`."""
        path = await self._issue(iid, "/runs")
        return await self._get(RunPage, path, query(cursor=cursor, limit=limit))

    async def runs_get(self, iid: str, rid: str) -> Run:
        """`GET …/issues/{iid}/runs/{rid}`."""
        return await self._get(Run, await self._issue(iid, f"/runs/{seg(rid)}"))

    # Runs: the agent's calls, with the lease token (``client.agent()`` wraps them)

    async def runs_checkpoint(
        self, iid: str, rid: str, body: CheckpointBody | Body, *, idempotency_key: Key = None
    ) -> Checkpointed:
        """`POST …/runs/{rid}/checkpoint`: renews the lease; brings comments, decisions and
        `stop`."""
        data = body_of(CheckpointBody, body)
        path = await self._run(iid, rid, "checkpoint")
        return await self._write(Checkpointed, "POST", path, data, idempotency_key)

    async def runs_complete(
        self, iid: str, rid: str, body: CompleteBody | Body, *, idempotency_key: Key = None
    ) -> Issue:
        """`POST …/runs/{rid}/complete`: the issue goes to `review`."""
        data = body_of(CompleteBody, body)
        path = await self._run(iid, rid, "complete")
        return await self._write(Issue, "POST", path, data, idempotency_key)

    async def runs_fail(
        self, iid: str, rid: str, body: FailBody | Body, *, idempotency_key: Key = None
    ) -> Issue:
        """`POST …/runs/{rid}/fail`."""
        data = body_of(FailBody, body)
        path = await self._run(iid, rid, "fail")
        return await self._write(Issue, "POST", path, data, idempotency_key)

    async def runs_handoff(
        self, iid: str, rid: str, body: HandoffBody | Body, *, idempotency_key: Key = None
    ) -> Issue:
        """`POST …/runs/{rid}/handoff`: the issue goes to `handoff`, for a human."""
        data = body_of(HandoffBody, body)
        path = await self._run(iid, rid, "handoff")
        return await self._write(Issue, "POST", path, data, idempotency_key)

    # Costs

    async def costs_report(
        self, iid: str, rid: str, body: CostBody | Body, *, idempotency_key: Key = None
    ) -> CostReported:
        """`POST …/runs/{rid}/costs`: `stop` once the budget is spent."""
        data = body_of(CostBody, body)
        path = await self._run(iid, rid, "costs")
        return await self._write(CostReported, "POST", path, data, idempotency_key)

    async def costs_rollup(
        self,
        *,
        group_by: Literal["issue", "agent", "team", "label", "model"] | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> CostRollup:
        """`GET …/costs`: `since`/`until` whole UTC hours."""
        params = query(groupBy=group_by, since=since, until=until, cursor=cursor, limit=limit)
        return await self._get(CostRollup, await self._co("/costs"), params)

    # Approvals

    async def approvals_request(
        self,
        iid: str,
        rid: str,
        body: ApprovalRequestBody | Body,
        *,
        idempotency_key: Key = None,
    ) -> Approval:
        """`POST …/runs/{rid}/approvals`: a `pending` approval."""
        data = body_of(ApprovalRequestBody, body)
        path = await self._run(iid, rid, "approvals")
        return await self._write(Approval, "POST", path, data, idempotency_key)

    async def approvals_list(
        self,
        *,
        status: Literal["pending", "approved", "rejected", "expired"] | None = None,
        issue_id: str | None = None,
        agent_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> ApprovalPage:
        """`GET …/approvals`, newest first (admin)."""
        params = query(
            status=status, issueId=issue_id, agentId=agent_id, cursor=cursor, limit=limit
        )
        return await self._get(ApprovalPage, await self._co("/approvals"), params)

    async def approvals_get(self, apid: str) -> Approval:
        """`GET …/approvals/{apid}` (admin)."""
        return await self._get(Approval, await self._co(f"/approvals/{seg(apid)}"))

    async def approvals_approve(
        self,
        apid: str,
        body: ApprovalDecisionBody | Body | None = None,
        *,
        idempotency_key: Key = None,
    ) -> Approval:
        """`POST …/approvals/{apid}/approve`."""
        data = body_of(ApprovalDecisionBody, body)
        path = await self._co(f"/approvals/{seg(apid)}/approve")
        return await self._write(Approval, "POST", path, data, idempotency_key)

    async def approvals_reject(
        self,
        apid: str,
        body: ApprovalDecisionBody | Body | None = None,
        *,
        idempotency_key: Key = None,
    ) -> Approval:
        """`POST …/approvals/{apid}/reject`."""
        data = body_of(ApprovalDecisionBody, body)
        path = await self._co(f"/approvals/{seg(apid)}/reject")
        return await self._write(Approval, "POST", path, data, idempotency_key)

    async def approvals_decide(
        self, body: ApprovalsDecideBody | Body, *, idempotency_key: Key = None
    ) -> ApprovalDecisions:
        """`POST …/approvals/decide`: up to 100 at once, each decided on its own."""
        data = body_of(ApprovalsDecideBody, body)
        path = await self._co("/approvals/decide")
        return await self._write(ApprovalDecisions, "POST", path, data, idempotency_key)

    # Activity

    async def activity_list(
        self,
        *,
        issue_id: str | None = None,
        type: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        scope: str | None = None,
        subject_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> ActivityPage:
        """`GET …/activity`: the audit trail, newest first (admin). ``scope``: ``issue`` (the
        server's default), ``company`` (agents, teams, tokens, webhook endpoints, budgets) or
        ``all``; ``subject_id``: the entries about one agent, team, token, endpoint or issue."""
        params = query(
            issueId=issue_id,
            type=type,
            since=since,
            until=until,
            scope=scope,
            subjectId=subject_id,
            cursor=cursor,
            limit=limit,
        )
        return await self._get(ActivityPage, await self._co("/activity"), params)
