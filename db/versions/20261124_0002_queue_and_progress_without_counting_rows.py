"""queue and progress without counting rows

A task knows whether it is done (has the annotations its project's overlap asks for),
and a partial index holds only the open ones, so a claim never walks over finished
tasks. Projects keep their task and done counts, so progress bars count no rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 20:34:14.078070
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annotations_project_review'))
        batch_op.create_index('ix_annotations_review_queue', ['project_id', 'review_status', 'submitted_at'], unique=False)

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('done_count', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('task_locks', schema=None) as batch_op:
        batch_op.create_index('ix_task_locks_user_project', ['user_id', 'project_id'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('done', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_index(batch_op.f('ix_tasks_queue'))
        batch_op.create_index('ix_tasks_open', ['project_id', 'id'], unique=False, sqlite_where=sa.text('done = 0 AND deleted_at IS NULL'), postgresql_where=sa.text('NOT done AND deleted_at IS NULL'))

    # Backfill from what is there.
    op.execute(
        "UPDATE tasks SET done = (total_annotations >= "
        "(SELECT overlap FROM projects WHERE projects.id = tasks.project_id))"
    )
    op.execute(
        "UPDATE projects SET "
        "task_count = (SELECT count(*) FROM tasks WHERE tasks.project_id = projects.id AND tasks.deleted_at IS NULL), "
        "done_count = (SELECT count(*) FROM tasks WHERE tasks.project_id = projects.id AND tasks.deleted_at IS NULL AND tasks.done)"
    )


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_open', sqlite_where=sa.text('done = 0 AND deleted_at IS NULL'), postgresql_where=sa.text('NOT done AND deleted_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_tasks_queue'), ['project_id', 'total_annotations', 'id'], unique=False)
        batch_op.drop_column('done')

    with op.batch_alter_table('task_locks', schema=None) as batch_op:
        batch_op.drop_index('ix_task_locks_user_project')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('done_count')
        batch_op.drop_column('task_count')

    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index('ix_annotations_review_queue')
        batch_op.create_index(batch_op.f('ix_annotations_project_review'), ['project_id', 'review_status'], unique=False)

