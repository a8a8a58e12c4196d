"""Opaque, prefixed, time-sortable ids: ``iss_01jq…`` (48-bit ms time + 80 random bits)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from datetime import datetime

__all__ = ["derived_id", "new_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_RANDOM_BITS = 80


class _Monotonic:
    """Monotonic within a process (as ULIDs are): ids made in the same millisecond count up
    from a random start, so the activity entries of one command sort in the order written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        ms = time.time_ns() // 1_000_000
        fresh = ms << _RANDOM_BITS | int.from_bytes(os.urandom(10), "big")
        with self._lock:
            if ms <= self._last >> _RANDOM_BITS:
                fresh = self._last + 1
            self._last = fresh
        return fresh


_next_value = _Monotonic().next


def new_id(prefix: str) -> str:
    """A new id such as ``iss_01jqz…``: sorts by creation time (to the millisecond)."""
    return _text(prefix, _next_value())


def derived_id(prefix: str, at: datetime, *parts: str) -> str:
    """The same id every time for the same ``at`` and ``parts`` (the scheduler's commands
    for one routine tick, and the issue it creates, are each made once however often they
    are sent): ``at`` as the time part, a hash of ``parts`` as the rest."""
    ms = int(at.timestamp() * 1000)
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return _text(prefix, ms << _RANDOM_BITS | int.from_bytes(digest[:10], "big"))


def _text(prefix: str, value: int) -> str:
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
