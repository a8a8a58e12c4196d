"""priority is a field: issues without a priority label are medium (rank 2)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:50:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rank 0 meant "no priority label" and sorted below low; the field's default is medium.
    op.execute("UPDATE issues SET priority = 2 WHERE priority = 0")
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.alter_column('priority', existing_type=sa.SmallInteger(), server_default='2')


def downgrade() -> None:
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.alter_column('priority', existing_type=sa.SmallInteger(), server_default='0')
