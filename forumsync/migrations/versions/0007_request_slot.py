"""request_slot: the forum's request pacing becomes Discourse's sliding log (replaces the
token bucket of request_budget)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'request_slot',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key', 'slot', name=op.f('pk_request_slot')),
    )
    op.drop_table('request_budget')  # pacing state only: rebuilt on the next request


def downgrade():  # back to 0006's token bucket (its state is rebuilt on the next request)
    op.drop_table('request_slot')
    op.create_table('request_budget', sa.Column('key', sa.String(200), primary_key=True),
                    sa.Column('tokens', sa.Float(), nullable=False),
                    sa.Column('updated_at', sa.Float(), nullable=False))
