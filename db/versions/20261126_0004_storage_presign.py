"""storage presign

Whether annotators' browsers load a source storage's media straight from the bucket
through presigned links (the default, as before) or through this server, for buckets the
browsers cannot reach (labelkit/cloud/links.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 00:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('storages') as batch:
        batch.add_column(sa.Column('presign', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('storages') as batch:
        batch.drop_column('presign')
