"""The request body of a bulk operation over many issues."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from api.schemas.common import Body
from domain.bulk import BulkOp

__all__ = ["BulkBody", "BulkId"]


BulkId = Annotated[str, Field(min_length=1, max_length=100)]


class BulkBody(Body):
    ids: Annotated[list[BulkId], Field(min_length=1, max_length=10_000)]
    op: BulkOp
    args: dict[str, Any] = {}

    @field_validator("ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for issue_id in value:
            if issue_id in seen:
                raise ValueError(f"{issue_id} is listed twice")
            seen.add(issue_id)
        return value
