"""Pool jobs: what a commit (or a scheduler sweep) sends on to the webhooks and bulk pools."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Job", "JobKind"]


class JobKind(StrEnum):
    RELAY = "relay"  #: an outbox event (``evt_``): fan it out into deliveries (webhooks pool)
    DELIVER = "deliver"  #: a delivery (``dlv_``): attempt it (webhooks pool)
    BULK = "bulk"  #: a recorded bulk (``blk_``): apply it issue by issue (bulk pool)


#: A job to send after commit: its kind and the id it names.
Job = tuple[JobKind, str]
