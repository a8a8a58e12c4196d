"""webhook deliveries: the open ones per endpoint in the order they go out, and those in flight

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'delivering')"
IN_FLIGHT = "status = 'delivering'"


def upgrade() -> None:
    # The next due delivery is the first of (next_attempt_at, id): with id in the index it
    # is read off the index, not sorted out of the endpoint's whole backlog (a burst relays
    # a hundred events with one next_attempt_at). The attempts in flight, counted before
    # every take, are read from an index of their own, not from the backlog's.
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_open', postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
        batch_op.create_index('ix_webhook_deliveries_open', ['endpoint_id', 'next_attempt_at', 'id'], unique=False, postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
        batch_op.create_index('ix_webhook_deliveries_in_flight', ['endpoint_id'], unique=False, postgresql_where=sa.text(IN_FLIGHT), sqlite_where=sa.text(IN_FLIGHT))


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_in_flight', postgresql_where=sa.text(IN_FLIGHT), sqlite_where=sa.text(IN_FLIGHT))
        batch_op.drop_index('ix_webhook_deliveries_open', postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
        batch_op.create_index('ix_webhook_deliveries_open', ['endpoint_id', 'next_attempt_at'], unique=False, postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
