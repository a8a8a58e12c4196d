"""The schema, one module per aggregate. The database enforces what it can: status CHECKs,
foreign keys, uniques. Money columns are integer micro-dollars (``*_micros``): exact, and
summable on any engine.

Callers read every table from here (``from service.store import tables as t``; ``t.issues``).
"""

from __future__ import annotations

from service.store.tables.base import metadata
from service.store.tables.budgets import budget_spend, budgets
from service.store.tables.commands import applied_commands, bulk_items, bulk_jobs, idempotency_keys
from service.store.tables.issues import comments, issue_dependencies, issue_labels, issues
from service.store.tables.org import agent_teams, agents, companies, teams, tokens
from service.store.tables.oversight import activity, approvals, cost_events, cost_rollups
from service.store.tables.routines import routine_runs, routines
from service.store.tables.runs import leases, runs
from service.store.tables.webhooks import webhook_deliveries, webhook_endpoints, webhook_events

__all__ = [
    "activity",
    "agent_teams",
    "agents",
    "applied_commands",
    "approvals",
    "budget_spend",
    "budgets",
    "bulk_items",
    "bulk_jobs",
    "comments",
    "companies",
    "cost_events",
    "cost_rollups",
    "idempotency_keys",
    "issue_dependencies",
    "issue_labels",
    "issues",
    "leases",
    "metadata",
    "routine_runs",
    "routines",
    "runs",
    "teams",
    "tokens",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_events",
]
