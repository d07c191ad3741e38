"""refusal_log: at most one refusal mail per sender and hour, remembered across restarts

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from forumsync.models.base import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'refusal_log',
        sa.Column('sender', sa.String(length=320), nullable=False),
        sa.Column('last_sent_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('suppressed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('sender', name=op.f('pk_refusal_log')),
    )


def downgrade():
    op.drop_table('refusal_log')
