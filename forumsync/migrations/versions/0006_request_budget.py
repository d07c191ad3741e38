"""request_budget: the forum's request budget (token bucket) shared by every process

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'request_budget',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_request_budget')),
    )


def downgrade():
    op.drop_table('request_budget')
