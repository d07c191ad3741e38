"""topic_link.root_message_id indexed: the thread stage looks topics up by their root id

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_topic_link_root_message_id', 'topic_link', ['root_message_id'], unique=False)


def downgrade():
    op.drop_index('ix_topic_link_root_message_id', table_name='topic_link')
