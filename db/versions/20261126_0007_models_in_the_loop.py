"""models in the loop

Model servers attached to projects (ml_backends), which model made a prediction, the
model version a project shows, and each task's uncertainty with a partial index of the
open tasks by it, so the queue can serve the least certain task first without a sort.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 01:52:41.839701
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ml_backends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('auth_method', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('basic_auth_user', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('basic_auth_pass_encrypted', sa.Text(), nullable=False),
    sa.Column('headers_encrypted', sa.Text(), nullable=False),
    sa.Column('access_token_encrypted', sa.Text(), nullable=False),
    sa.Column('access_token_id', sa.Integer(), nullable=True),
    sa.Column('timeout', sa.Float(), nullable=False),
    sa.Column('is_interactive', sa.Boolean(), nullable=False),
    sa.Column('predict_every', sa.Integer(), nullable=False),
    sa.Column('annotations_at_predict', sa.Integer(), nullable=False),
    sa.Column('model_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('last_checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['access_token_id'], ['auth_tokens.id'], name=op.f('fk_ml_backends_access_token_id_auth_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ml_backends_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ml_backends_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_backends'))
    )
    with op.batch_alter_table('ml_backends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_backends_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ml_backend_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_predictions_ml_backend_id_ml_backends'), 'ml_backends', ['ml_backend_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_version', sqlmodel.sql.sqltypes.AutoString(length=200), server_default='', nullable=False))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uncertainty', sa.Float(), nullable=True))
        batch_op.create_index('ix_tasks_open_uncertain', ['project_id', 'uncertainty', 'id'], unique=False, sqlite_where=sa.text('done = 0 AND deleted_at IS NULL'), postgresql_where=sa.text('NOT done AND deleted_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_open_uncertain', sqlite_where=sa.text('done = 0 AND deleted_at IS NULL'), postgresql_where=sa.text('NOT done AND deleted_at IS NULL'))
        batch_op.drop_column('uncertainty')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('model_version')

    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_predictions_ml_backend_id_ml_backends'), type_='foreignkey')
        batch_op.drop_column('ml_backend_id')

    with op.batch_alter_table('ml_backends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_backends_project_id'))

    op.drop_table('ml_backends')
