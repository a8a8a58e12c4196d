"""API tokens: what a company's token may do."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TokenRole"]


class TokenRole(StrEnum):
    ADMIN = "admin"  #: everything inside one company
    AGENT = "agent"  #: bound to one agent: reads its company, drives only its own runs
