"""Outgoing webhooks: where each delivery of an event to an endpoint stands."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DeliveryStatus"]


class DeliveryStatus(StrEnum):
    PENDING = "pending"  #: waiting for its next attempt (``next_attempt_at``)
    DELIVERING = "delivering"  #: a worker holds it (until ``locked_until``)
    SUCCEEDED = "succeeded"  #: the endpoint answered 2xx
    FAILED = "failed"  #: the retry schedule ran out, the endpoint is gone or disabled
