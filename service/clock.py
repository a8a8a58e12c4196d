"""The clock the service reads: ``domain/`` never does (``now`` is a parameter there)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now"]


def utc_now() -> datetime:
    """Now, to the millisecond: what is stored is exactly what the API shows."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
