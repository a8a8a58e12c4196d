"""webhook deliveries: an index of the open ones per endpoint

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:20:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'delivering')"


def upgrade() -> None:
    # Each delivery attempt counts its endpoint's attempts in flight and looks for its next
    # due delivery: without this, both read every delivery the endpoint ever had.
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_open', ['endpoint_id', 'next_attempt_at'], unique=False, postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_open', postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
