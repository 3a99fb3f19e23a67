"""question marks: a candidate's bookmark (收藏) and personal note per question (app/practice/marks.py)

Revision ID: b7d3e9f1a2c4
Revises: b7f3e9a1c2d4
Create Date: 2026-12-07 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'b7d3e9f1a2c4'
down_revision = 'b7f3e9a1c2d4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionmark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('starred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_questionmark_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionmark')),
    sa.UniqueConstraint('user_id', 'question_id', name='uq_questionmark_user_id_question_id')
    )
    with op.batch_alter_table('questionmark', schema=None) as batch_op:
        batch_op.create_index('ix_questionmark_user_id_starred_at', ['user_id', 'starred_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('questionmark', schema=None) as batch_op:
        batch_op.drop_index('ix_questionmark_user_id_starred_at')
    op.drop_table('questionmark')
