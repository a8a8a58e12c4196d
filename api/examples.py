"""Examples of the main request bodies, as the OpenAPI document shows them.

Written on the wire's terms (camelCase, money as a decimal string or number); the unit test
of the document checks each one validates against its model, so an example cannot drift.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXAMPLES"]

_LEASE = "lse_01jrcs6b1n8x9v3k2m4p5q6r7s"

#: Model name -> one example body.
EXAMPLES: dict[str, dict[str, Any]] = {
    "CompanyCreate": {"name": "Acme"},
    "TokenCreate": {"role": "agent", "agentId": "agt_01jrcs5z8d1f2g3h4j5k6m7n8p"},
    "TeamCreate": {"name": "Support"},
    "AgentCreate": {
        "name": "triage-bot",
        "teamIds": ["tm_01jrcs5y7c0e1f2g3h4j5k6m7n"],
        "capacity": 2,
    },
    "IssueCreate": {
        "title": "Summarise last week's support tickets",
        "description": "One paragraph per product area.",
        "assignedTeamId": "tm_01jrcs5y7c0e1f2g3h4j5k6m7n",
        "budget": {"perTaskUsd": "2.50"},
        "dueAt": "2026-04-11T17:00:00Z",
        "labels": ["support", "weekly"],
        "maxAttempts": 3,
    },
    "IssuePatch": {"labels": ["support", "weekly", "urgent"], "budget": {"perTaskUsd": 5}},
    "AssignBody": {"agentId": "agt_01jrcs5z8d1f2g3h4j5k6m7n8p"},
    "ReassignBody": {"toTeamId": "tm_01jrcs5y7c0e1f2g3h4j5k6m7n", "reason": "needs a human"},
    "CancelBody": {"reason": "no longer needed", "cascade": True},
    "CommentCreate": {"text": "Include the refund numbers too.", "author": "user:dana"},
    "ClaimBody": {"waitSeconds": 30, "leaseSeconds": 120},
    "CheckpointBody": {
        "leaseToken": _LEASE,
        "progress": {"step": "reading tickets", "done": 120, "total": 340},
        "state": {"cursor": "ticket-4711"},
    },
    "CompleteBody": {
        "leaseToken": _LEASE,
        "result": {"summary": "Refund requests doubled; login issues halved."},
        "workspaceUrl": "https://example.com/runs/42",
    },
    "FailBody": {"leaseToken": _LEASE, "reason": "the ticket API timed out", "retryable": True},
    "HandoffBody": {"leaseToken": _LEASE, "reason": "a refund over $500 needs a human"},
    "CostBody": {
        "leaseToken": _LEASE,
        "usd": "0.0042",
        "inputTokens": 1200,
        "outputTokens": 350,
        "model": "gpt-5-mini",
    },
    "ApprovalRequestBody": {
        "leaseToken": _LEASE,
        "action": "email every affected customer",
        "details": {"recipients": 312},
    },
    "ApprovalDecisionBody": {"comment": "Go ahead, but cc support."},
    "ReviewBody": {"decision": "reject", "comment": "Add the refund numbers."},
    "WebhookCreate": {
        "url": "https://example.com/agentq-events",
        "events": ["issue.done", "issue.failed"],
        "description": "ops alerts",
    },
    "WebhookPatch": {"disabled": True},
    "BulkBody": {
        "ids": ["iss_01jrcs6c2p9y0w4l3n5q6r7s8t", "iss_01jrcs6c2p9y0w4l3n5q6r7s8v"],
        "op": "assign",
        "args": {"agentId": "agt_01jrcs5z8d1f2g3h4j5k6m7n8p"},
    },
}
