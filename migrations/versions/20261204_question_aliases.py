"""question aliases: question ids merged into another item (`replaces` in content), so that answers and
review cards recorded under an old id follow the item it was merged into (app/runtime/replacements.py)

Revision ID: 8e41b7c2d5f0
Revises: 6c0d2f1e9a57
Create Date: 2026-12-04 10:00:00.000000

Empty at first: the first publication after this migration fills it from the content's `replaces`.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '8e41b7c2d5f0'
down_revision = '6c0d2f1e9a57'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionalias',
    sa.Column('old_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('new_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('old_id', name=op.f('pk_questionalias'))
    )


def downgrade() -> None:
    op.drop_table('questionalias')
