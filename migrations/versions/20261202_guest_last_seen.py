"""guest last seen: when each account last made a request (recorded at most once an hour), so that
`mianjing db prune` can remove guest accounts nobody kept

Revision ID: b3adcdef2d8b
Revises: 3b1c9e7d2a40
Create Date: 2026-12-02 15:00:00
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = 'b3adcdef2d8b'
down_revision = '3b1c9e7d2a40'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    # Nothing recorded activity before: count every existing account as seen now, so that an upgrade never
    # makes anyone expire at once (a guest in use today gets the full time to live from here).
    user = sa.table('user', sa.column('last_seen_at', sa.DateTime(timezone=True)))
    op.execute(user.update().values(last_seen_at=datetime.now(UTC)))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index('ix_user_is_guest_last_seen_at', ['is_guest', 'last_seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_is_guest_last_seen_at')
        batch_op.drop_column('last_seen_at')
