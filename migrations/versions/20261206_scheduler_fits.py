"""scheduler fits: per-user FSRS parameters fitted to the candidate's review log, with the fit's state,
date, held-out metrics and workload forecast (issue 20)

Revision ID: b7f3e9a1c2d4
Revises: b7e2c9d4a1f3
Create Date: 2026-12-06 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'b7f3e9a1c2d4'
down_revision = 'b7e2c9d4a1f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedulerfit',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=True),
    sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviews_at_fit', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=True),
    sa.Column('forecast', sa.JSON(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_schedulerfit_user_id_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_schedulerfit'))
    )


def downgrade() -> None:
    op.drop_table('schedulerfit')
