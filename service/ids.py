"""Opaque, prefixed, time-sortable ids: ``iss_01jq…`` (48-bit ms time + 80 random bits)."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id"]

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
    value = _next_value()
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
