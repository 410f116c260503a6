"""s3 storages

A project's S3 buckets: sources it takes tasks from and targets it writes annotations
to (labelkit/cloud.py), and the objects a source already made tasks of, so a sync
never imports one twice.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:30:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('storages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('pattern', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('regex', sa.Boolean(), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('endpoint_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('access_key_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('last_sync_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_storages_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_storages_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storages'))
    )
    with op.batch_alter_table('storages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_storages_project_id'), ['project_id'], unique=False)

    op.create_table('storage_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('storage_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('tasks', sa.Integer(), nullable=False),
    sa.Column('synced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['storage_id'], ['storages.id'], name=op.f('fk_storage_objects_storage_id_storages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_objects')),
    sa.UniqueConstraint('storage_id', 'key', name=op.f('uq_storage_objects_storage_id_key'))
    )


def downgrade() -> None:
    op.drop_table('storage_objects')
    with op.batch_alter_table('storages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_storages_project_id'))
    op.drop_table('storages')
