"""interview history index: keyset pages of (user_id, started_at, id)

Revision ID: 8f41c2d7a9e3
Revises: b3adcdef2d8b
Create Date: 2026-12-02 10:00:00
"""
from alembic import op


revision = '8f41c2d7a9e3'
down_revision = 'b3adcdef2d8b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # GET /api/v1/interviews and /history read a page newest first after a cursor (app/pagination.py):
    # with this index that is a range read of one page, not a sort of the account's whole history.
    op.create_index('ix_interview_user_id_started_at', 'interview', ['user_id', 'started_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_interview_user_id_started_at', table_name='interview')
