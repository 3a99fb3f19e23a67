"""password reset tokens: one-time links an admin issues (POST /api/v1/admin/users/{username}/reset-link),
stored as a SHA-256 of the secret with their expiry

Revision ID: a4c1d2e3f5b6
Revises: 7e3b0bc14f60
Create Date: 2026-12-05 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'a4c1d2e3f5b6'
down_revision = '7e3b0bc14f60'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('passwordresettoken',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_passwordresettoken_user_id_user')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_passwordresettoken'))
    )
    with op.batch_alter_table('passwordresettoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passwordresettoken_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('passwordresettoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passwordresettoken_user_id'))
    op.drop_table('passwordresettoken')
