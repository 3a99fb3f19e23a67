"""write quotas: counters per key and fixed window; the stored size of each interview answer

Revision ID: 6c0d2f1e9a57
Revises: 39805b2c8430
Create Date: 2026-12-03 10:00:00.000000

- `quotacounter` (app/write_quotas.py): what an account or a client address has used of a quota in one
  window (a minute or an hour), one row per key and window, swept once its window has ended.
- `interviewanswer.answer_chars`: the stored answer's size as the quotas count it, so that an autosave is
  charged only what it adds. Rows saved before this migration get 0: their next save is charged in full
  (once), which errs on the side of the quota.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '6c0d2f1e9a57'
down_revision = '39805b2c8430'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quotacounter',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('window_end', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_end', name=op.f('pk_quotacounter'))
    )
    with op.batch_alter_table('quotacounter', schema=None) as batch_op:
        batch_op.create_index('ix_quotacounter_window_end', ['window_end'], unique=False)
    with op.batch_alter_table('interviewanswer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_chars', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('interviewanswer', schema=None) as batch_op:
        batch_op.drop_column('answer_chars')
    with op.batch_alter_table('quotacounter', schema=None) as batch_op:
        batch_op.drop_index('ix_quotacounter_window_end')
    op.drop_table('quotacounter')
