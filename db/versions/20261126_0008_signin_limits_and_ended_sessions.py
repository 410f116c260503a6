"""sign-in limits and ended sessions

Failed password checks (signin_failures), so that every app server counts the same
failures per account and per address and refuses sign-ins past the limit; and the time
an admin ended all of a user's sessions (users.sessions_ended_at), which also ends
sessions held by an identity provider's cookie, which labelkit cannot revoke itself.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 02:17:38.228303
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signin_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_failures'))
    )
    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_failures_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_failures_email'), ['email'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sessions_ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('sessions_ended_at')

    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_failures_email'))
        batch_op.drop_index(batch_op.f('ix_signin_failures_at'))
        batch_op.drop_index(batch_op.f('ix_signin_failures_address'))

    op.drop_table('signin_failures')
