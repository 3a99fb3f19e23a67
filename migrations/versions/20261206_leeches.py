"""leeches: a card suspended when it lapses too often (reviewcard.suspended_at) and each candidate's
threshold (user.leech_lapses, Anki's default 8)

Revision ID: b7e2c9d4a1f3
Revises: a4c1d2e3f5b6
Create Date: 2026-12-06 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e2c9d4a1f3'
down_revision = 'a4c1d2e3f5b6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reviewcard', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leech_lapses', sa.Integer(), server_default='8', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('leech_lapses')
    with op.batch_alter_table('reviewcard', schema=None) as batch_op:
        batch_op.drop_column('suspended_at')
