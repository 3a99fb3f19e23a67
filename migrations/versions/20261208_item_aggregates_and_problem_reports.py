"""item statistics and problem reports (issue 20): the question id on each interview answer (filled from the
plans of interviews already scored), the running sums of item statistics per round and question, and 纠错
reports

Revision ID: c7d81e5a2b94
Revises: b7d3e9f1a2c4
Create Date: 2026-12-06 12:00:00

After upgrading, `mianjing stats rebuild` computes the aggregates of the interviews finished before.
"""
import json

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'c7d81e5a2b94'
down_revision = 'b7d3e9f1a2c4'
branch_labels = None
depends_on = None

BATCH = 500  # interviews per read: a plan is up to ~90 KB


def upgrade() -> None:
    with op.batch_alter_table('interviewanswer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    _fill_question_ids()
    op.create_table('itemaggregate',
    sa.Column('round_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('round_id', 'question_id', name=op.f('pk_itemaggregate'))
    )
    op.create_table('problemreport',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_problemreport_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problemreport'))
    )
    with op.batch_alter_table('problemreport', schema=None) as batch_op:
        batch_op.create_index('ix_problemreport_question_id_state', ['question_id', 'state'], unique=False)
        batch_op.create_index('ix_problemreport_state_created_at', ['state', 'created_at'], unique=False)
        batch_op.create_index('ix_problemreport_user_id_created_at', ['user_id', 'created_at'], unique=False)


def _fill_question_ids() -> None:
    """Each scored interview's answers get the question of their position, from its plan."""
    conn = op.get_bind()
    after = ""
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, plan FROM interview WHERE state = 'finished' AND id > :after ORDER BY id LIMIT :n"),
            {"after": after, "n": BATCH}).all()
        if not rows:
            return
        for interview_id, plan in rows:
            plan = json.loads(plan) if isinstance(plan, (str, bytes)) else plan
            params = [{"iid": interview_id, "pos": item["position"], "qid": item["question"]["id"]}
                      for item in plan["items"]]
            if params:
                conn.execute(sa.text("UPDATE interviewanswer SET question_id = :qid "
                                     "WHERE interview_id = :iid AND position = :pos"), params)
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('problemreport', schema=None) as batch_op:
        batch_op.drop_index('ix_problemreport_user_id_created_at')
        batch_op.drop_index('ix_problemreport_state_created_at')
        batch_op.drop_index('ix_problemreport_question_id_state')
    op.drop_table('problemreport')
    op.drop_table('itemaggregate')
    with op.batch_alter_table('interviewanswer', schema=None) as batch_op:
        batch_op.drop_column('question_id')
