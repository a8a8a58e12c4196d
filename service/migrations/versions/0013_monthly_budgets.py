"""monthly budgets per agent, team and company; cost roll-ups by model

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 21:20:00
"""
from __future__ import annotations

from collections import defaultdict

from alembic import op
import sqlalchemy as sa
import service.store.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SCOPES = "scope IN ('issue', 'agent', 'team', 'company')"
DIMENSIONS_BEFORE = "dimension IN ('issue', 'agent', 'team', 'label', 'total')"
DIMENSIONS_AFTER = "dimension IN ('issue', 'agent', 'team', 'label', 'model', 'total')"


def upgrade() -> None:
    op.create_table('budgets',
    sa.Column('company_id', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('scope_id', sa.String(length=40), nullable=False),
    sa.Column('monthly_micros', sa.BigInteger(), nullable=False),
    sa.Column('created_at', service.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint(SCOPES, name=op.f('ck_budgets_scope')),
    sa.CheckConstraint('monthly_micros >= 0', name=op.f('ck_budgets_monthly')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_budgets_company_id_companies')),
    sa.PrimaryKeyConstraint('company_id', 'scope', 'scope_id', name=op.f('pk_budgets'))
    )
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_company_created', ['company_id', 'created_at', 'scope', 'scope_id'], unique=False)

    op.create_table('budget_spend',
    sa.Column('company_id', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('scope_id', sa.String(length=40), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('spent_micros', sa.BigInteger(), nullable=False),
    sa.Column('announced_percent', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('announced_cap_micros', sa.BigInteger(), nullable=True),
    sa.CheckConstraint(SCOPES, name=op.f('ck_budget_spend_scope')),
    sa.CheckConstraint('spent_micros >= 0', name=op.f('ck_budget_spend_spent')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_budget_spend_company_id_companies')),
    sa.PrimaryKeyConstraint('company_id', 'scope', 'scope_id', 'month', name=op.f('pk_budget_spend'))
    )

    with op.batch_alter_table('cost_rollups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cost_rollups_dimension'), type_='check')
        batch_op.create_check_constraint('dimension', DIMENSIONS_AFTER)
    _model_rollups_from_events()


def _model_rollups_from_events() -> None:
    """The ``model`` roll-ups of the reports made before there were any (per hour)."""
    conn = op.get_bind()
    events = sa.table(
        'cost_events',
        sa.column('company_id'), sa.column('model'), sa.column('at', service.store.types.UTCDateTime()),
        sa.column('usd_micros'), sa.column('input_tokens'), sa.column('output_tokens'),
    )
    sums: dict[tuple[str, str, object], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in conn.execute(sa.select(events)):
        hour = row.at.replace(minute=0, second=0, microsecond=0)
        total = sums[(row.company_id, row.model or '', hour)]
        total[0] += row.usd_micros
        total[1] += row.input_tokens
        total[2] += row.output_tokens
        total[3] += 1
    rollups = sa.table(
        'cost_rollups',
        sa.column('company_id'), sa.column('dimension'), sa.column('key'),
        sa.column('hour', service.store.types.UTCDateTime()), sa.column('usd_micros'),
        sa.column('input_tokens'), sa.column('output_tokens'), sa.column('reports'),
    )
    rows = [
        {'company_id': cid, 'dimension': 'model', 'key': key, 'hour': hour, 'usd_micros': v[0],
         'input_tokens': v[1], 'output_tokens': v[2], 'reports': v[3]}
        for (cid, key, hour), v in sums.items()
    ]
    if rows:
        conn.execute(rollups.insert(), rows)


def downgrade() -> None:
    op.execute("DELETE FROM cost_rollups WHERE dimension = 'model'")
    with op.batch_alter_table('cost_rollups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cost_rollups_dimension'), type_='check')
        batch_op.create_check_constraint('dimension', DIMENSIONS_BEFORE)
    op.drop_table('budget_spend')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_company_created')
    op.drop_table('budgets')
