"""company activity: audit entries about no issue (agents, teams, tokens, webhook endpoints)

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01 21:30:00

``activity.issue_id``, ``to_status`` and ``version`` become nullable; ``subject_type`` and
``subject_id`` name what a company entry is about (``agent``, ``agt_…``) and ``changes`` holds
its ``{field: {"before", "after"}}``. A CHECK keeps the two kinds apart: an issue's entry has
its status and version, a company's has its subject. ``stream_pos`` and the NOTIFY trigger
(migration 0010) stay as they are: they key on the company, not the issue. On SQLite the
table is copied (batch mode), which drops its trigger: it is made again.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SUBJECT_CHECK = (
    "(issue_id IS NOT NULL AND to_status IS NOT NULL AND version IS NOT NULL) "
    "OR (issue_id IS NULL AND subject_type IS NOT NULL AND subject_id IS NOT NULL)"
)
SQLITE_TRIGGER = """
CREATE TRIGGER activity_stream_pos AFTER INSERT ON activity BEGIN
    UPDATE activity SET stream_pos = (
        SELECT coalesce(max(stream_pos), 0) + 1 FROM activity WHERE company_id = NEW.company_id
    ) WHERE rowid = NEW.rowid;
END
"""
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS activity_stream_pos")
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('changes', JSON, nullable=True))
        batch_op.alter_column('issue_id', existing_type=sa.String(length=40), nullable=True)
        batch_op.alter_column('to_status', existing_type=sa.String(length=10), nullable=True)
        batch_op.alter_column('version', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(op.f('ck_activity_subject'), SUBJECT_CHECK)
        batch_op.create_index(
            'ix_activity_subject', ['company_id', 'subject_type', 'subject_id', 'at', 'id']
        )
    if _sqlite():
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DELETE FROM activity WHERE issue_id IS NULL")
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS activity_stream_pos")
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_subject')
        batch_op.drop_constraint(op.f('ck_activity_subject'), type_='check')
        batch_op.alter_column('version', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('to_status', existing_type=sa.String(length=10), nullable=False)
        batch_op.alter_column('issue_id', existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_column('changes')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('subject_type')
    if _sqlite():
        op.execute(SQLITE_TRIGGER)
