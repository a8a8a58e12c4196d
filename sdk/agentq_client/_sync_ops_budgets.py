# Written from _async_ops_budgets.py by `python -m api.sdk_models`: edit that file, not this one.
"""Operations on monthly budgets: caps per agent, team and company. One method per
operationId."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from agentq_client._http import body_of, query, seg
from agentq_client._sync_transport import Base
from agentq_client.models import BudgetCapBody, MonthlyBudget, MonthlyBudgetPage

__all__ = ["BudgetOperations"]

Body = Mapping[str, Any]
Scope = Literal["agent", "team", "company"]


class BudgetOperations(Base):
    def budgets_list(
        self, *, scope: Scope | None = None, cursor: str | None = None, limit: int | None = None
    ) -> MonthlyBudgetPage:
        """`GET …/budgets`: every cap, newest first, with this month's spend."""
        params = query(scope=scope, cursor=cursor, limit=limit)
        return self._get(MonthlyBudgetPage, self._co("/budgets"), params)

    def budgets_set(
        self,
        scope: Scope,
        scope_id: str,
        body: BudgetCapBody | Body,
        *,
        idempotency_key: str | None = None,
    ) -> MonthlyBudget:
        """`PUT …/budgets/{scope}/{id}`: set or change the monthly cap (for `company`, the id
        is the company's)."""
        data = body_of(BudgetCapBody, body)
        path = self._co(f"/budgets/{seg(scope)}/{seg(scope_id)}")
        return self._write(MonthlyBudget, "PUT", path, data, idempotency_key)

    def budgets_get(self, scope: Scope, scope_id: str) -> MonthlyBudget:
        """`GET …/budgets/{scope}/{id}`: the cap and this month's spend."""
        path = self._co(f"/budgets/{seg(scope)}/{seg(scope_id)}")
        return self._get(MonthlyBudget, path)

    def budgets_delete(
        self, scope: Scope, scope_id: str, *, idempotency_key: str | None = None
    ) -> None:
        """`DELETE …/budgets/{scope}/{id}`: remove the cap (the spend is still counted)."""
        path = self._co(f"/budgets/{seg(scope)}/{seg(scope_id)}")
        self._write_empty("DELETE", path, idempotency_key)
