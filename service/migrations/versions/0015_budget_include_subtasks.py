"""budget.includeSubtasks: a parent's cap may count its subtasks' spend

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 22:40:00

``issues.budget_include_subtasks`` (false for every issue made before). The subtree's spend
is kept in ``budget_spend`` (scope ``issue``, the lifetime period ``all``): no new table.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'budget_include_subtasks', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    op.execute("DELETE FROM budget_spend WHERE scope = 'issue'")
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_column('budget_include_subtasks')
