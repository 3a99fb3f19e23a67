"""rate limit events for every limit; one running interview per account and round

Revision ID: 39805b2c8430
Revises: 8f41c2d7a9e3
Create Date: 2026-12-02 10:00:00.000000

- `loginfailure` becomes `ratelimitevent` (app/rate_limits.py): the events of every limit, guests,
  registrations, interviews started and login attempts alike. The old rows (at most a minute of failed
  logins, keyed by name or address alone) mean nothing to the new keys and are dropped with the table.
- A partial unique index allows one `active` interview per (user_id, round_id). Where an account has
  several running interviews of one round already, all but the one started last become `abandoned`
  (unscored, as if the candidate had abandoned them; a migration cannot score them), so the index can
  be built.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '39805b2c8430'
down_revision = '8f41c2d7a9e3'
branch_labels = None
depends_on = None

ACTIVE = sa.text("state = 'active'")


def upgrade() -> None:
    op.create_table('ratelimitevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratelimitevent'))
    )
    with op.batch_alter_table('ratelimitevent', schema=None) as batch_op:
        batch_op.create_index('ix_ratelimitevent_key_at', ['key', 'at'], unique=False)
        batch_op.create_index('ix_ratelimitevent_at', ['at'], unique=False)
    with op.batch_alter_table('loginfailure', schema=None) as batch_op:
        batch_op.drop_index('ix_loginfailure_key_at')
    op.drop_table('loginfailure')

    op.execute(sa.text(
        "UPDATE interview SET state = 'abandoned', position_since = NULL "
        "WHERE state = 'active' AND EXISTS (SELECT 1 FROM interview AS later "
        "WHERE later.user_id = interview.user_id AND later.round_id = interview.round_id "
        "AND later.state = 'active' AND (later.started_at > interview.started_at "
        "OR (later.started_at = interview.started_at AND later.id > interview.id)))"))
    op.create_index('uq_interview_running_round', 'interview', ['user_id', 'round_id'], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index('uq_interview_running_round', table_name='interview')
    # Abandoned interviews stay abandoned: the older code shows them as neither running nor finished.
    op.create_table('loginfailure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loginfailure'))
    )
    with op.batch_alter_table('loginfailure', schema=None) as batch_op:
        batch_op.create_index('ix_loginfailure_key_at', ['key', 'at'], unique=False)
    with op.batch_alter_table('ratelimitevent', schema=None) as batch_op:
        batch_op.drop_index('ix_ratelimitevent_at')
        batch_op.drop_index('ix_ratelimitevent_key_at')
    op.drop_table('ratelimitevent')
