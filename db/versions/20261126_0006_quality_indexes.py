"""quality indexes

Gold tasks are found through a partial index of the annotations marked as ground truth
(the queue's gold claim), and a task's history reads its audit events by target.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 00:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index('ix_annotations_ground_truth', ['project_id', 'task_id'], unique=False, sqlite_where=sa.text('ground_truth = 1'), postgresql_where=sa.text('ground_truth'))

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_target'), ['target'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_target'))

    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index('ix_annotations_ground_truth', sqlite_where=sa.text('ground_truth = 1'), postgresql_where=sa.text('ground_truth'))

