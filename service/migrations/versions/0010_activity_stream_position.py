"""activity stream position

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00

``activity.stream_pos``: where an entry stands in the event stream (docs/api.md "Event
stream"), read in ``(stream_pos, id)`` order. On PostgreSQL it is the id of the transaction
that wrote the entry (a default, so no writer changes), and a trigger NOTIFYs
``agentq_activity`` with the company's id (delivered at commit; none if it rolls back). On
SQLite (one writer at a time) a trigger gives each entry its company's largest position
plus one. Existing entries keep 0 (PostgreSQL) or their rowid (SQLite): before every new one.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PG_NOTIFY = """
CREATE FUNCTION agentq_activity_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agentq_activity', company_id)
    FROM (SELECT DISTINCT company_id FROM new_rows) AS written;
    RETURN NULL;
END $$
"""
PG_TRIGGER = """
CREATE TRIGGER activity_notify AFTER INSERT ON activity
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION agentq_activity_notify()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER activity_stream_pos AFTER INSERT ON activity BEGIN
    UPDATE activity SET stream_pos = (
        SELECT coalesce(max(stream_pos), 0) + 1 FROM activity WHERE company_id = NEW.company_id
    ) WHERE rowid = NEW.rowid;
END
"""


def upgrade() -> None:
    # A constant default: no table rewrite (PostgreSQL keeps it as the old rows' value).
    op.add_column(
        'activity',
        sa.Column('stream_pos', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "ALTER TABLE activity ALTER COLUMN stream_pos "
            "SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )
        op.execute(PG_NOTIFY)
        op.execute(PG_TRIGGER)
    else:
        op.execute("UPDATE activity SET stream_pos = rowid")
        op.execute(SQLITE_TRIGGER)
    op.create_index('ix_activity_company_stream', 'activity', ['company_id', 'stream_pos', 'id'])
    op.create_index('ix_activity_issue_stream', 'activity', ['issue_id', 'stream_pos', 'id'])


def downgrade() -> None:
    op.drop_index('ix_activity_issue_stream', table_name='activity')
    op.drop_index('ix_activity_company_stream', table_name='activity')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER activity_notify ON activity")
        op.execute("DROP FUNCTION agentq_activity_notify()")
    else:
        op.execute("DROP TRIGGER activity_stream_pos")
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_column('stream_pos')
