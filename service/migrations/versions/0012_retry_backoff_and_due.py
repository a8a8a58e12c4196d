"""retry backoff and due times: issues.not_before, the issue's own retry policy,
activity.not_before, and the overdue sweep's partial index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:40:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import service.store.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

#: The live statuses (domain.statuses.NON_TERMINAL), as the partial index names them.
_LIVE = "('assigned', 'handoff', 'queued', 'review', 'running')"
_LIVE_DUE = sa.text(f"due_at IS NOT NULL AND status IN {_LIVE}")


def upgrade() -> None:
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', service.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retry_base_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retry_max_s', sa.Integer(), nullable=True))
        batch_op.create_index(
            'ix_issues_live_due', ['due_at'], unique=False,
            postgresql_where=_LIVE_DUE, sqlite_where=_LIVE_DUE,
        )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', service.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_column('not_before')
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_index('ix_issues_live_due')
        batch_op.drop_column('retry_max_s')
        batch_op.drop_column('retry_base_s')
        batch_op.drop_column('not_before')
