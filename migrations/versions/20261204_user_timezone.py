"""user timezone: the IANA zone the candidate's browser reports (app.js, PATCH /api/v1/me/settings), so that
their days (due cards, the forecast, the activity calendar) are their own; NULL (not known yet) counts as UTC

Revision ID: 7e3b0bc14f60
Revises: 49ef908deb56
Create Date: 2026-12-04 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '7e3b0bc14f60'
down_revision = '49ef908deb56'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('timezone')
