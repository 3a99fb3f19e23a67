"""first review of a review card: when its second answer took it out of the new cards, counted against that
day's cap of new cards (MIANJING_NEW_CARDS_PER_DAY, app/practice/due.py)

Revision ID: 49ef908deb56
Revises: 8e41b7c2d5f0
Create Date: 2026-12-04 10:00:00

Cards reviewed before get the time of their second attempt, so that the day of the upgrade counts the new
cards already reviewed that day; a card whose attempts are gone keeps NULL (it counts against no day).
"""
from alembic import op
import sqlalchemy as sa


revision = '49ef908deb56'
down_revision = '8e41b7c2d5f0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reviewcard', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_review_at', sa.DateTime(timezone=True), nullable=True))
    card = sa.table('reviewcard', sa.column('user_id', sa.Integer), sa.column('question_id', sa.String),
                    sa.column('reps', sa.Integer), sa.column('first_review_at', sa.DateTime(timezone=True)))
    attempt = sa.table('attempt', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                       sa.column('question_id', sa.String), sa.column('created_at', sa.DateTime(timezone=True)))
    second = (sa.select(attempt.c.created_at)
              .where(attempt.c.user_id == card.c.user_id, attempt.c.question_id == card.c.question_id)
              .order_by(attempt.c.created_at, attempt.c.id).limit(1).offset(1).scalar_subquery())
    op.execute(card.update().where(card.c.reps >= 2).values(first_review_at=second))


def downgrade() -> None:
    with op.batch_alter_table('reviewcard', schema=None) as batch_op:
        batch_op.drop_column('first_review_at')
